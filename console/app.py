"""The operations console: Squall live on one screen, driven from the keyboard.

All backend I/O runs in workers. A poll is scheduled when the previous one finished, so a slow
backend never stacks requests; the header says how old the data is and marks it stale; an
unreachable backend is shown as such and retried with back-off. Tables are keyed and diff-updated.

Here: the layout, the bindings, polling, the top bar and the key bar. What each view shows is built
in views.py, from one poll's Snapshot; the verbs on the row selected are in verbs.py, getting around
(`:`, `/`, `?`, `esc`, `+`/`-`) in navigation.py, and what they share in selection.py. Triggers and
rules: read in events_data.py, shown by events_views.py, their verbs in events_verbs.py; the command
palette is palette.py.
"""

from __future__ import annotations

import asyncio
import gc
import time
import tomllib
from typing import Any

from rich.padding import Padding
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import Input, Static, Tab, Tabs

from .client import ApiError, AsyncApiClient, squall_home
from .events_data import TriggerLinks, read_events
from .events_verbs import EVENT_BINDINGS, VERB_VIEW, EventVerbs
from .events_views import EVENT_VIEWS, event_rows
from .palette import SquallCommands
from .screens import DataChanged
from .table import LiveTable
from .navigation import ALIASES, Navigation
from .theming import DEFAULT_THEME, FALLBACK, discover
from .verbs import MUTATING, Verbs
from .views import (
    COLUMNS, VIEWS, ActivationRows, Rows, Snapshot, Trends, action_rows, container_rows, invoker_rows, overview,
)
from .widgets import coloured

__all__ = ["ALIASES", "COLUMNS", "MUTATING", "VIEWS", "Snapshot", "SquallConsole"]

ACTIVATION_LIMIT = 200
ENTITY_LIMIT = 200  # actions and packages listed per poll
MAX_BACKOFF_S = 30.0

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


class SquallConsole(Navigation, Verbs, EventVerbs):
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
        *EVENT_BINDINGS,
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
        self.trends = Trends()
        self._last_poll: float | None = None
        self._poll_timer: Timer | None = None
        self.theme_problems: list[str] = []
        self._keymap_keys: dict[str, str] = {}  # binding id -> key, from keymap.toml
        self._rendered: dict[str, Snapshot] = {}  # view -> the snapshot it shows
        self.rows: dict[str, Rows] = {}  # view -> the rows it shows
        self.expanded: set[str] = set()  # the packages open in the Actions view
        self.activation_rows = ActivationRows()
        self.trigger_links = TriggerLinks()  # action activation -> the trigger that fired it
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
        open_bindings = [p["name"] for p in (self.snapshot.packages if self.snapshot else [])
                         if p.get("binding") and p["name"] in self.expanded]
        try:
            status, activations, actions, packages, events, *bound = await asyncio.gather(
                self.client.system_status(),
                self.client.list_activations(limit=ACTIVATION_LIMIT),
                self.client.list_actions(limit=ENTITY_LIMIT),
                self._packages(),
                read_events(self.client, self.clock()),
                *(self._bound_actions(name) for name in open_bindings))
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
            self.apply(Snapshot(status, activations, actions, packages, dict(zip(open_bindings, bound)),
                                self.clock(), events))
        self.next_try = time.monotonic() + delay
        self.update_topbar()
        self._poll_timer = self.set_timer(delay, self.poll)

    async def _packages(self) -> list[dict[str, Any]]:
        """The namespace's packages and bindings; none from a backend without packages (404)."""
        try:
            return await self.client.list_packages(limit=ENTITY_LIMIT)
        except ApiError as ex:
            if ex.status == 404:
                return []
            raise

    async def _bound_actions(self, binding: str) -> list[dict[str, Any]] | str:
        """The actions of the package an open binding is bound to, else why they cannot be read
        (a binding whose package is gone is no reason to call the backend unreachable)."""
        try:
            return await self.client.list_actions(package=binding, limit=ENTITY_LIMIT)
        except ApiError as ex:
            if ex.status == 0:
                raise
            return f"unavailable: {ex}"[:60]

    def apply(self, snapshot: Snapshot) -> None:
        """Render a snapshot into the view on screen (diffed); timed for the refresh benchmark."""
        if not self.is_running:
            return  # quitting: the views are being torn down
        started = time.perf_counter()
        previous, self.snapshot = self.snapshot, snapshot
        self.trends.record(previous, snapshot, self.refresh_s)
        self.trigger_links.record(snapshot.events)
        self._render_view(self.view, snapshot)  # only the view on screen; another is brought up to date when shown
        self.refresh_ms.append((time.perf_counter() - started) * 1000)
        del self.refresh_ms[:-1000]
        if previous is None:
            _freeze_startup_objects()

    # --- rendering ----------------------------------------------------------------------------

    def _render_view(self, view: str, s: Snapshot) -> None:
        if self._rendered.get(view) is s:
            return  # shown again before the next poll: it already shows this snapshot
        self._rendered[view] = s
        with self.batch_update():
            if view == "overview":
                self.table.set_page("overview", overview(self, s, self.trends))
            else:
                self._render_table(s, view)

    def _render_table(self, s: Snapshot, view: str) -> None:
        needle = self.filters.get(view, "")
        if view == "actions":
            rows = action_rows(s, self.expanded, needle)
        elif view == "activations":
            rows = self.activation_rows.build(self, s, self.namespace, self.trigger_links.get)
        elif view in EVENT_VIEWS:
            rows = event_rows(self, s.events, view, s.taken, self.namespace)
        elif view == "containers":
            rows = container_rows(s)
        else:
            rows = invoker_rows(self, s)
        self.rows[view] = rows
        self.table.sync(view, rows.cells, rows.order, needle, rows.folds, rows.parents)

    def render_sheet(self, view: str) -> None:
        if self.snapshot is not None:
            self._render_table(self.snapshot, view)

    # --- the top bar and the key bar ----------------------------------------------------------

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

    # --- which verbs apply here -----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.readonly and action in MUTATING:
            return False  # hidden in read-only mode
        if action in ("invoke", "delete") and self.view != "actions":
            return None
        if action in VERB_VIEW and self.view != VERB_VIEW[action]:
            return None
        if action == "remove_container" and self.view != "containers":
            return None
        if action == "kill" and self.view not in ("activations", "containers"):
            return None
        if action in ("describe", "raw", "logs") and self.view == "overview":
            return None
        return True

    @on(DataChanged)
    def _data_changed(self) -> None:
        self.poll()

