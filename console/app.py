"""The operations console: Squall live on one screen, driven from the keyboard.

All backend I/O runs in workers. A poll is scheduled when the previous one finished, so a slow
backend never stacks requests; the header says how old the data is and marks it stale; an
unreachable backend is shown as such and retried with back-off. Tables are keyed and diff-updated.
"""

from __future__ import annotations

import asyncio
import gc
import time
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import humanize
from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.timer import Timer
from textual.widgets import Input, Static, Tab, Tabs

from .client import ApiError, AsyncApiClient, squall_home
from .screens import (
    ActionScreen, ConfirmScreen, DataChanged, DeployScreen, HelpScreen, InvokeScreen, JsonScreen, RecordScreen,
    TypeToConfirmScreen,
)
from .table import LiveTable
from .theming import DEFAULT_THEME, FALLBACK, discover
from .widgets import History, bar, coloured, state_text, status_text

VIEWS = ("overview", "actions", "activations", "containers", "invokers")
ALIASES = {"queues": "overview", "ov": "overview", "act": "activations", "co": "containers",
           "inv": "invokers", "a": "actions"}
MUTATING = {"deploy", "invoke", "kill", "remove_container", "delete"}
ACTIVATION_LIMIT = 200
MAX_BACKOFF_S = 30.0

COLUMNS = {
    "actions": ("name", "version", "kind", "memory", "timeout", "updated"),
    "activations": ("time", "action", "status", "duration", "start", "wait", "init", "id"),
    "containers": ("invoker", "id", "state", "action", "age", "memory", "runs", "activation"),
    "invokers": ("id", "state", "runtime", "memory", "containers", "queue", "in flight", "ping"),
}


@dataclass
class Snapshot:
    status: dict[str, Any]
    activations: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    taken: float = field(default_factory=time.time)


_frozen = False


def _freeze_startup_objects() -> None:
    """Once per process, when the console is up: leave what exists now out of the collector's full
    passes. The widgets, styles and modules live as long as the console does, and scanning them made
    a full collection stop the screen for up to 60 ms, several times a minute (15 ms after this)."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


def _ms(value: Any) -> str:
    return f"{value} ms" if isinstance(value, (int, float)) else "-"


class SquallCommands(Provider):
    """Every verb and view in the command palette (ctrl+p)."""

    def _commands(self) -> list[tuple[str, str, Any]]:
        app = self.app
        assert isinstance(app, SquallConsole)
        commands: list[tuple[str, str, Any]] = [(f"Go to {v}", f"show the {v} view", partial(app.show, v))
                                                for v in VIEWS]
        commands += [
            ("Filter rows", "filter the current view (/)", app.action_filter),
            ("Refresh faster", "poll the backend more often (+)", app.action_faster),
            ("Refresh slower", "poll the backend less often (-)", app.action_slower),
            ("Help", "list every key (?)", app.action_help),
        ]
        if not app.readonly:
            commands += [
                ("Deploy an action", "create or update an action from a file (n)", app.action_deploy),
                ("Invoke the selected action", "with a JSON parameter editor (i)", app.action_invoke),
                ("Kill the selected activation", "cancel a running activation (k)", app.action_kill),
                ("Remove the selected container", "destroy it on its invoker (x)", app.action_remove_container),
                ("Delete the selected action", "type its name to confirm (D)", app.action_delete),
            ]
        return commands

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


class SquallConsole(App[None]):
    TITLE = "Squall"
    COMMANDS = App.COMMANDS | {SquallCommands}
    CSS = """
    Screen { layout: vertical; }
    #topbar { height: 1; padding: 0 1; background: $panel; }
    Tabs { height: 2; }
    #prompt { dock: bottom; display: none; }
    #keys { dock: bottom; height: 1; padding: 0 1; background: $panel; }
    #prompt.shown { display: block; }
    .dialog { align: center middle; background: $background 60%; }
    .box { width: 70; height: auto; max-height: 90%; padding: 1 2; border: thick $primary; background: $surface; }
    .box.wide { width: 110; }
    .box.tall { height: 90%; }
    .title { text-style: bold; margin-bottom: 1; }
    .buttons { height: auto; align-horizontal: right; margin-top: 1; }
    .buttons Button { margin-left: 2; }
    .row { height: auto; }
    .row Select { width: 20; }
    .row Input { width: 1fr; }
    TextArea.json { height: 8; }
    .result { height: 12; border: round $panel; }
    .result.tall { height: 1fr; }
    Log.logs { height: 1fr; min-height: 6; border: round $panel; }
    .error { color: $error; }
    """

    BINDINGS = [
        Binding("colon", "jump", "Jump", id="jump", key_display=":"),
        Binding("slash", "filter", "Filter", id="filter", key_display="/"),
        Binding("question_mark", "help", "Help", id="help", key_display="?"),
        Binding("escape", "back", "Back", id="back", show=False),
        Binding("1", "show('overview')", "Overview", id="view.overview", show=False),
        Binding("2", "show('actions')", "Actions", id="view.actions", show=False),
        Binding("3", "show('activations')", "Activations", id="view.activations", show=False),
        Binding("4", "show('containers')", "Containers", id="view.containers", show=False),
        Binding("5", "show('invokers')", "Invokers", id="view.invokers", show=False),
        Binding("n", "deploy", "Deploy", id="deploy"),
        Binding("i", "invoke", "Invoke", id="invoke"),
        Binding("k", "kill", "Kill", id="kill"),
        Binding("x", "remove_container", "Remove", id="remove_container"),
        Binding("D", "delete", "Delete", id="delete", key_display="D"),
        Binding("d,enter", "describe", "Describe", id="describe", key_display="d"),
        Binding("l", "logs", "Logs", id="logs", show=False),
        Binding("y", "raw", "JSON", id="raw", show=False),
        Binding("plus", "faster", "Faster", id="faster", show=False),
        Binding("minus", "slower", "Slower", id="slower", show=False),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(self, client: AsyncApiClient, *, apihost: str, namespace: str = "guest", readonly: bool = False,
                 theme: str = DEFAULT_THEME, refresh_s: float = 1.0, clock: Any = time.time) -> None:
        super().__init__()
        self.client = client
        self.apihost = apihost
        self.namespace = namespace
        self.readonly = readonly
        self.refresh_s = refresh_s
        self.clock = clock  # frozen in snapshot tests
        self.requested_theme = theme
        self.snapshot: Snapshot | None = None
        self.connected: bool | None = None
        self.failures = 0
        self.last_error = ""
        self.next_try = 0.0
        self.view = "overview"
        self.filters: dict[str, str] = {}
        self.last_filter = ""
        self.prompt_mode = ""
        self.refresh_ms: list[float] = []
        self.queue_history: dict[str, History] = {}
        self.rate_history = History()
        self.error_history = History()
        self._seen: set[str] = set()
        self._last_poll: float | None = None
        self._poll_timer: Timer | None = None
        self.theme_problems: list[str] = []
        self._keymap_keys: dict[str, str] = {}  # binding id -> key, from keymap.toml
        self._rendered: dict[str, Snapshot] = {}  # view -> the snapshot it shows
        self._record_cells: dict[str, list[Any]] = {}  # activation id -> its row in the Activations view
        self._record_cells_theme = ""
        # No animations: the tab underline alone took 18 frames per view switch, and on a busy
        # machine every frame is time a key waits for.
        self.animation_level = "none"

    # --- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("", id="topbar")
        yield Tabs(*(Tab(v.capitalize(), id=f"tab-{v}") for v in VIEWS), id="tabs")
        # One widget for every view (a page or a sheet each): no layout pass between them.
        yield LiveTable({view: COLUMNS[view] for view in VIEWS[1:]}, ["overview"], id="views")
        yield Input(id="prompt")
        yield Static("", id="keys")

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(FALLBACK)

    def on_mount(self) -> None:
        themes, self.theme_problems = discover()
        for theme in themes.values():
            self.register_theme(theme)
        self.theme = self.requested_theme if self.requested_theme in self.available_themes else DEFAULT_THEME
        for problem in self.theme_problems:
            self.notify(problem, title="theme skipped", severity="warning")
        if self.requested_theme not in self.available_themes:
            self.notify(f"no theme named {self.requested_theme}; using {self.theme}", severity="warning")
        self._load_keymap()
        self._update_keys()
        self.update_topbar()
        self.table.set_page("overview", [Padding("waiting for the first data…", (0, 1))])
        self.table.focus()
        self.set_interval(0.5, self.update_topbar)
        self.poll()

    def _load_keymap(self) -> None:
        path = squall_home() / "keymap.toml"
        if not path.exists():
            return
        try:
            keymap = {str(k): str(v) for k, v in tomllib.loads(path.read_text()).items()}
        except (OSError, tomllib.TOMLDecodeError) as ex:
            self.notify(f"{path}: {ex}", title="keymap skipped", severity="warning")
            return
        self.set_keymap(keymap)
        self._keymap_keys = keymap

    @property
    def table(self) -> LiveTable:
        return self.query_one("#views", LiveTable)

    def show(self, view: str) -> None:
        if view == self.view:
            return
        self.view = view
        with self.batch_update():
            if self.snapshot is not None:
                self._render_view(view, self.snapshot)
            self.table.show(view)
            self.query_one(Tabs).active = f"tab-{view}"
            self._update_keys()

    @on(Tabs.TabActivated)
    def _tab(self, event: Tabs.TabActivated) -> None:
        view = (event.tab.id or "tab-overview").removeprefix("tab-")
        if view != self.view:
            self.show(view)

    # --- polling ------------------------------------------------------------------------------

    @work(exclusive=True, group="poll")
    async def poll(self) -> None:
        """One round of reads; the next is scheduled when this one is done (never stacked)."""
        if self._poll_timer is not None:
            self._poll_timer.stop()  # a verb's refresh replaces the pending poll rather than adding a chain
        delay = self.refresh_s
        try:
            status, activations, actions = await asyncio.gather(
                self.client.system_status(),
                self.client.list_activations(limit=ACTIVATION_LIMIT),
                self.client.list_actions(limit=200))
        except ApiError as ex:
            if self.connected is not False:
                self.notify(f"lost {self.apihost}: {ex}", title="backend unreachable", severity="error")
            self.connected = False
            self.failures += 1
            self.last_error = str(ex)
            delay = min(self.refresh_s * 2 ** self.failures, MAX_BACKOFF_S)
        else:
            if self.connected is False:
                self.notify(f"reconnected to {self.apihost}", title="backend back")
            self.connected = True
            self.failures = 0
            self.apply(Snapshot(status, activations, actions, self.clock()))
        self.next_try = time.monotonic() + delay
        self.update_topbar()
        self._poll_timer = self.set_timer(delay, self.poll)

    def apply(self, snapshot: Snapshot) -> None:
        """Render a snapshot into the view on screen (diffed); timed for the refresh benchmark."""
        if not self.is_running:
            return  # quitting: the views are being torn down
        started = time.perf_counter()
        previous, self.snapshot = self.snapshot, snapshot
        self._record_history(previous, snapshot)
        self._render_view(self.view, snapshot)  # only the view on screen; another is brought up to date when shown
        self.refresh_ms.append((time.perf_counter() - started) * 1000)
        del self.refresh_ms[:-1000]
        if previous is None:
            _freeze_startup_objects()

    def _record_history(self, previous: Snapshot | None, snapshot: Snapshot) -> None:
        for topic, depth in snapshot.status.get("queues", {}).items():
            self.queue_history.setdefault(topic, History()).add(max(0, depth))
        self.rate_history.add(float(snapshot.status.get("activationsPerSecond", 0)))
        new = [a for a in snapshot.activations if a["activationId"] not in self._seen]
        self._seen = {a["activationId"] for a in snapshot.activations}
        elapsed = max(1e-3, snapshot.taken - previous.taken) if previous else self.refresh_s
        errors = sum(1 for a in new if a.get("statusCode", 0) != 0) if previous else 0
        self.error_history.add(errors / elapsed)

    # --- rendering ----------------------------------------------------------------------------

    def _render_view(self, view: str, s: Snapshot) -> None:
        if self._rendered.get(view) is s:
            return  # shown again before the next poll: it already shows this snapshot
        self._rendered[view] = s
        with self.batch_update():
            if view == "overview":
                self._render_overview(s)
            else:
                self._render_table(s, view)

    def _render_overview(self, s: Snapshot) -> None:
        invokers = Table(title="Invokers", title_justify="left", expand=True, box=None)
        for column in ("invoker", "state", "memory", "", "prewarm", "warm", "busy", "queue"):
            invokers.add_column(column)
        for inv in s.status.get("invokers", []):
            states = [c["state"] for c in inv["containers"]]
            invokers.add_row(
                f"invoker{inv['id']}", state_text(self, inv["state"]), bar(inv["usedMemory"], inv["userMemory"]),
                f"{inv['usedMemory']}/{inv['userMemory']} MB", str(states.count("prewarm")),
                str(states.count("warm")), str(states.count("busy")), str(inv["queueDepth"]))
        if not s.status.get("invokers"):
            invokers.add_row("no invoker has reported", "", "", "", "", "", "", "")

        queues = Table(title="Queue depth", title_justify="left", expand=True, box=None)
        for column in ("topic", "depth", "last 2 minutes"):
            queues.add_column(column)
        for topic, depth in s.status.get("queues", {}).items():
            queues.add_row(topic, "?" if depth < 0 else str(depth), self.queue_history[topic].spark(60))

        rates = Table(title="Activations", title_justify="left", expand=True, box=None)
        for column in ("", "now", "last 2 minutes"):
            rates.add_column(column)
        rates.add_row("activations/s", f"{self.rate_history.last:.1f}", self.rate_history.spark(60))
        rates.add_row(coloured(self, "errors/s", "status-internal-error"), f"{self.error_history.last:.1f}",
                      self.error_history.spark(60))
        running = len(s.status.get("running", []))
        rates.add_row("running", str(running), "")

        busiest = Table(title="Busiest containers", title_justify="left", expand=True, box=None)
        for column in ("container", "invoker", "action", "state", "runs", "age"):
            busiest.add_column(column)
        containers = [(inv["id"], c) for inv in s.status.get("invokers", []) for c in inv["containers"]]
        for invoker, c in sorted(containers, key=lambda ic: -ic[1].get("activations", 0))[:5]:
            busiest.add_row(c["id"], f"invoker{invoker}", c["action"] or "-", c["state"], str(c.get("activations", 0)),
                            humanize.naturaldelta(c["age"]))
        self.table.set_page("overview", [Padding(Group(invokers, "", queues, "", rates, "", busiest), (0, 1))])

    def _rows(self, view: str, s: Snapshot) -> tuple[dict[str, list[Any]], list[str]]:
        now = s.taken
        if view == "actions":
            rows = {a["name"]: [a["name"], a["version"], a["exec"]["kind"], f"{a['limits']['memory']} MB",
                                _ms(a["limits"]["timeout"]),
                                humanize.naturaltime(datetime.fromtimestamp(a["updated"] / 1000),
                                                     when=datetime.fromtimestamp(now))]
                    for a in s.actions}
            return rows, [a["name"] for a in s.actions]
        if view == "activations":
            rows = {}
            order = []
            for r in s.status.get("running", []):
                if r["namespace"] != self.namespace and r["subject"] != self.namespace:
                    continue
                started = datetime.fromtimestamp(r["accepted"] / 1000)
                rows[r["activationId"]] = [started.strftime("%H:%M:%S"), r["name"], status_text(self, "running"),
                                           f"{int(now * 1000 - r['accepted'])} ms", "", "", "", r["activationId"]]
                order.append(r["activationId"])
            # A completed activation never changes: its cells are built once (per theme) and handed
            # over as the same object, which the table takes as unchanged without comparing.
            if self._record_cells_theme != self.theme:
                self._record_cells, self._record_cells_theme = {}, self.theme
            built: dict[str, list[Any]] = {}
            for a in s.activations:
                aid = a["activationId"]
                built[aid] = rows[aid] = self._record_cells.get(aid) or self._record_row(a)
                order.append(aid)
            self._record_cells = built
            return rows, order
        if view == "containers":
            rows = {}
            for inv in s.status.get("invokers", []):
                for c in inv["containers"]:
                    rows[c["id"]] = [f"invoker{inv['id']}", c["id"], c["state"], c["action"] or "-",
                                     humanize.naturaldelta(c["age"]), f"{c['memory']} MB", str(c.get("activations", 0)),
                                     c.get("activationId") or ""]
            return rows, list(rows)
        rows = {}
        for inv in s.status.get("invokers", []):
            states = [c["state"] for c in inv["containers"]]
            rows[str(inv["id"])] = [
                str(inv["id"]), state_text(self, inv["state"]), inv.get("runtime") or "-",
                f"{bar(inv['usedMemory'], inv['userMemory'], 10)} {inv['usedMemory']}/{inv['userMemory']} MB",
                f"{states.count('prewarm')}p {states.count('warm')}w {states.count('busy')}b",
                "?" if inv["queueDepth"] < 0 else str(inv["queueDepth"]), str(inv.get("inflight", 0)),
                f"{inv['lastPing']:.1f} s ago"]
        return rows, list(rows)

    def _record_row(self, a: dict[str, Any]) -> list[Any]:
        notes = {n["key"]: n["value"] for n in a.get("annotations", [])}
        status = a.get("response", {}).get("status") or ("success" if a.get("statusCode") == 0 else "error")
        return [datetime.fromtimestamp(a["start"] / 1000).strftime("%H:%M:%S"), a["name"], status_text(self, status),
                _ms(a.get("duration")), "cold" if "initTime" in notes else "warm", _ms(notes.get("waitTime")),
                _ms(notes.get("initTime")), a["activationId"]]

    def _render_table(self, s: Snapshot, view: str) -> None:
        rows, order = self._rows(view, s)
        self.table.sync(view, rows, order, self.filters.get(view, ""))

    def _update_keys(self) -> None:
        """The key bar: one line of text for this view's verbs. (Textual's Footer rebuilds a widget
        per key on every focus change, which profiled as most of the cost of a view switch.)"""
        accent = self.theme_variables.get("accent", "")
        parts: list[Any] = []
        for b in self.BINDINGS:
            if not isinstance(b, Binding) or not b.show or self.check_action(b.action.split("(")[0], ()) is not True:
                continue
            key = self._keymap_keys.get(b.id or "") or self.get_key_display(b)
            parts += [Text(f" {key} ", style=f"bold {accent}"), f"{b.description} "]
        parts += [Text(" ^p ", style=f"bold {accent}"), "palette"]
        self.query_one("#keys", Static).update(Text.assemble(*parts), layout=False)  # one line, always

    def update_topbar(self) -> None:
        if not self.is_running:
            return  # quitting: the views are being torn down
        parts: list[Any] = [Text("⛈ Squall ", style="bold")]
        if self.connected is None:
            parts.append(Text(f"○ connecting to {self.apihost}", style="dim"))
        elif self.connected:
            parts.append(coloured(self, "● connected", "state-healthy"))
            parts.append(f"  {self.apihost}")
        else:
            wait = max(0.0, self.next_try - time.monotonic())
            parts.append(coloured(self, "✖ unreachable", "state-offline"))
            parts.append(f" {self.apihost}: {self.last_error[:60]} — retrying in {wait:.0f} s")
        parts.append(f"   ns {self.namespace}")
        if self.snapshot is not None:
            age = max(0.0, self.clock() - self.snapshot.taken)
            stale = age > 2 * self.refresh_s + 0.5
            parts.append(coloured(self, f"   updated {age:.1f} s ago", "state-unhealthy" if stale else None))
            if stale:
                parts.append(coloured(self, " STALE", "state-offline"))
        parts.append(f"   every {self.refresh_s:g} s")
        if self.readonly:
            parts.append(Text("  RO ", style="bold reverse"))
        self.query_one("#topbar", Static).update(Text.assemble(*parts), layout=False)  # one line, always

    # --- selection helpers --------------------------------------------------------------------

    def _selected(self, view: str) -> str | None:
        if self.view != view:
            return None
        return self.table.sheets[view].selected_key

    def _selected_container(self) -> dict[str, Any] | None:
        key = self._selected("containers")
        if key is None or self.snapshot is None:
            return None
        for inv in self.snapshot.status.get("invokers", []):
            for c in inv["containers"]:
                if c["id"] == key:
                    return {**c, "invoker": inv["id"]}
        return None

    def _running_ids(self) -> set[str]:
        return {r["activationId"] for r in (self.snapshot.status.get("running", []) if self.snapshot else [])}

    def _kill_target(self) -> str | None:
        if self.view == "activations":
            key = self._selected("activations")
            return key if key in self._running_ids() else None
        if self.view == "containers":
            c = self._selected_container()
            return c.get("activationId") if c and c["state"] == "busy" else None
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.readonly and action in MUTATING:
            return False  # hidden in read-only mode
        if action in ("invoke", "delete") and self.view != "actions":
            return None
        if action == "remove_container" and self.view != "containers":
            return None
        if action == "kill" and self.view not in ("activations", "containers"):
            return None
        if action in ("describe", "raw", "logs") and self.view == "overview":
            return None
        return True

    # --- verbs --------------------------------------------------------------------------------

    def action_show(self, view: str) -> None:
        self.show(view)

    def action_faster(self) -> None:
        self.refresh_s = max(0.25, self.refresh_s / 2)
        self.notify(f"refreshing every {self.refresh_s:g} s")

    def action_slower(self) -> None:
        self.refresh_s = min(30.0, self.refresh_s * 2)
        self.notify(f"refreshing every {self.refresh_s:g} s")

    def action_help(self) -> None:
        rows = [(b.key_display or b.key, f"{b.description}  [dim]({b.id})[/dim]") for b in self.BINDINGS
                if isinstance(b, Binding) and b.id and (not self.readonly or b.id not in MUTATING)]
        rows += [("ctrl+p", "command palette: every verb and view"), (":ns NAME", "switch namespace"),
                 ("arrows", "move the selection; left/right show a wide table's other columns"),
                 ("pgup pgdn", "a screenful up or down; home and end: first and last row")]
        self.push_screen(HelpScreen(rows))

    def action_jump(self) -> None:
        self._open_prompt("jump", ":", "")

    def action_filter(self) -> None:
        self._open_prompt("filter", "/", self.filters.get(self.view) or self.last_filter)

    def _open_prompt(self, mode: str, marker: str, value: str) -> None:
        prompt = self.query_one("#prompt", Input)
        self.prompt_mode = mode
        prompt.placeholder = (f"{marker}overview  {marker}actions  {marker}activations  {marker}containers  "
                              f"{marker}invokers  {marker}ns NAME" if mode == "jump" else "filter rows (esc clears)")
        prompt.value = value
        prompt.add_class("shown")
        prompt.focus()

    def _close_prompt(self) -> None:
        prompt = self.query_one("#prompt", Input)
        prompt.remove_class("shown")
        self.prompt_mode = ""
        self.table.focus()

    @on(Input.Changed, "#prompt")
    def _prompt_changed(self, event: Input.Changed) -> None:
        if self.prompt_mode == "filter" and self.view != "overview":
            self.filters[self.view] = event.value
            if self.snapshot is not None:
                self._render_table(self.snapshot, self.view)

    @on(Input.Submitted, "#prompt")
    def _prompt_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip().lstrip(":")
        if self.prompt_mode == "filter":
            self.last_filter = value or self.last_filter
        elif value.startswith("ns "):
            self.namespace = value[3:].strip()
            self.client.namespace = self.namespace
            self.snapshot = None
            self.poll()
        elif value:
            view = ALIASES.get(value, value)
            if view in VIEWS:
                self.show(view)
            else:
                self.notify(f"no view named {value}", severity="warning")
        self._close_prompt()

    def action_back(self) -> None:
        if self.prompt_mode:
            if self.prompt_mode == "filter":
                self.filters.pop(self.view, None)
                if self.snapshot is not None:
                    self._render_table(self.snapshot, self.view)
            self._close_prompt()
        elif self.filters.get(self.view):
            self.filters.pop(self.view)
            if self.snapshot is not None:
                self._render_table(self.snapshot, self.view)

    def action_describe(self) -> None:
        if self.view == "actions" and (name := self._selected("actions")):
            self.push_screen(ActionScreen(self.client, name))
        elif self.view == "activations" and (aid := self._selected("activations")):
            if aid in self._running_ids():
                self.notify("still running: its record is stored when it completes")
            else:
                self.push_screen(RecordScreen(self.client, aid))
        elif self.view in ("containers", "invokers"):
            self.action_raw()

    action_logs = action_describe

    def action_raw(self) -> None:
        if self.snapshot is None:
            return
        if self.view == "containers" and (c := self._selected_container()):
            self.push_screen(JsonScreen(f"Container {c['id']}", c))
        elif self.view == "invokers" and (key := self._selected("invokers")):
            inv = next(i for i in self.snapshot.status["invokers"] if str(i["id"]) == key)
            self.push_screen(JsonScreen(f"invoker{key}", inv))
        elif self.view == "actions" and (name := self._selected("actions")):
            self.push_screen(JsonScreen(f"Action {name}",
                                        next(a for a in self.snapshot.actions if a["name"] == name)))
        elif self.view == "activations" and (aid := self._selected("activations")):
            self.push_screen(RecordScreen(self.client, aid))

    def action_deploy(self) -> None:
        self.push_screen(DeployScreen(self._selected("actions") or ""), self._deployed)

    def _deployed(self, form: dict[str, Any] | None) -> None:
        if form is not None:
            self._put_action(form["name"], form["body"])

    @work(group="verbs")
    async def _put_action(self, name: str, body: dict[str, Any]) -> None:
        try:
            doc = await self.client.put_action(name, body, overwrite=True)
        except ApiError as ex:
            self.notify(str(ex), title=f"could not deploy {name}", severity="error")
            return
        self.notify(f"{name} is at version {doc['version']}", title="deployed")
        self.poll()

    def action_invoke(self) -> None:
        name = self._selected("actions")
        if name is None:
            self.notify("select an action in the Actions view to invoke it", severity="warning")
            return
        self.push_screen(InvokeScreen(self.client, name))

    def action_kill(self) -> None:
        target = self._kill_target()
        if target is None:
            self.notify("select a running activation (Activations) or a busy container (Containers)",
                        severity="warning")
            return
        self.push_screen(ConfirmScreen("Kill activation?", f"Activation [b]{target}[/b] will be stopped and "
                                       "its container destroyed.", "Kill"),
                         partial(self._confirmed_kill, target))

    def _confirmed_kill(self, target: str, yes: bool | None) -> None:
        if yes:
            self._call("kill", target, self.client.cancel_activation(target), f"killed activation {target}")

    def action_remove_container(self) -> None:
        c = self._selected_container()
        if c is None:
            self.notify("select a container in the Containers view", severity="warning")
            return
        detail = (f"Container [b]{c['id']}[/b] on invoker{c['invoker']} ({c['state']}, {c['action'] or 'no action'}) "
                  "will be destroyed" + (f"; its running activation {c['activationId']} ends." if c["state"] == "busy"
                                         else "."))
        self.push_screen(ConfirmScreen("Remove container?", detail, "Remove"),
                         partial(self._confirmed_remove, c["id"]))

    def _confirmed_remove(self, container_id: str, yes: bool | None) -> None:
        if yes:
            self._call("remove", container_id, self.client.remove_container(container_id),
                       f"removed container {container_id}")

    def action_delete(self) -> None:
        name = self._selected("actions")
        if name is None:
            self.notify("select an action in the Actions view", severity="warning")
            return
        self.push_screen(TypeToConfirmScreen(f"Delete action /{self.namespace}/{name}?", name, "Delete"),
                         partial(self._confirmed_delete, name))

    def _confirmed_delete(self, name: str, yes: bool | None) -> None:
        if yes:
            self._call("delete", name, self.client.delete_action(name), f"deleted action {name}")

    @work(group="verbs")
    async def _call(self, verb: str, target: str, request: Any, done: str) -> None:
        try:
            await request
        except ApiError as ex:
            self.notify(str(ex), title=f"could not {verb} {target}", severity="error")
            return
        self.notify(done, title=verb)
        self.poll()

    @on(LiveTable.RowSelected)
    def _row_selected(self) -> None:
        """enter on a row describes it (the focused table's own enter binding would swallow `d,enter`)."""
        self.action_describe()

    @on(DataChanged)
    def _data_changed(self) -> None:
        self.poll()

