"""What each view shows, built from one poll's Snapshot: the Overview page, and the rows of the
Actions, Activations, Containers and Invokers sheets (cells by key, in order).

Actions: the namespace's packages (folds: a package opens to show its actions under it; a binding
shows what it is bound to, and its actions once opened), then its own actions; the kind says
`sequence` for a sequence and the web column marks web actions. Activations: running ones on top,
then the listed records newest first, each sequence's component activations under it in the order
they ran (the records in the list whose `cause` is the sequence's activation id); a trigger's fire
says `trigger`, and an activation a rule started names the trigger (`← trigger t`, from the fires'
logs). The Triggers and Rules sheets are built in events_views.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

import humanize
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual.app import App

from .cli.web import RAW_HTTP, find, is_web
from .events_data import TRIGGER_KIND, Events
from .widgets import History, bar, coloured, state_text, status_text

VIEWS = ("overview", "actions", "activations", "containers", "invokers", "triggers", "rules")
COLUMNS = {
    "actions": ("name", "version", "kind", "web", "memory", "timeout", "updated"),
    "activations": ("time", "action", "status", "duration", "start", "wait", "init", "id"),
    "containers": ("invoker", "id", "state", "action", "age", "memory", "runs", "activation"),
    "invokers": ("id", "state", "runtime", "memory", "containers", "queue", "in flight", "ping"),
    "triggers": ("trigger", "feed", "rules", "fires 1 min", "per 5 s, last minute"),  # events_views.py
    "rules": ("rule", "trigger", "action", "status"),
}
SEQUENCE = "sequence"
TOP = ("", 0, "")  # the place of an activation at the top level with no components under it, nor trigger

Cells = list[Any]


@dataclass
class Snapshot:
    """One poll: the system status, the newest activations, the actions and packages of the
    namespace, the actions of each open binding (its list, or why it could not be read), and the
    triggers and rules."""

    status: dict[str, Any]
    activations: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    packages: list[dict[str, Any]] = field(default_factory=list)
    bound: dict[str, list[dict[str, Any]] | str] = field(default_factory=dict)
    taken: float = field(default_factory=time.time)
    events: Events = field(default_factory=Events)


@dataclass
class Rows:
    """A sheet's rows: cells by key in order, the folds among them (open or not) and which fold each
    row inside one belongs to, and the document each row shows (for `y`)."""

    cells: dict[str, Cells] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    folds: dict[str, bool] = field(default_factory=dict)
    parents: dict[str, str] = field(default_factory=dict)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, key: str, cells: Cells, entry: dict[str, Any] | None = None, parent: str | None = None) -> None:
        self.cells[key] = cells
        self.order.append(key)
        if entry is not None:
            self.entries[key] = entry
        if parent is not None:
            self.parents[key] = parent


def ms(value: Any) -> str:
    return f"{value} ms" if isinstance(value, (int, float)) else "-"


def notes(doc: dict[str, Any]) -> dict[str, Any]:
    """A document's annotations as a dict."""
    return {n["key"]: n["value"] for n in doc.get("annotations", []) if isinstance(n, dict) and "key" in n}


# --- Overview ----------------------------------------------------------------------------------


class Trends:
    """The Overview's sparklines: queue depth per topic, activations and errors per second, one
    sample a poll."""

    def __init__(self) -> None:
        self.queues: dict[str, History] = {}
        self.rate = History()
        self.errors = History()
        self._seen: set[str] = set()

    def record(self, previous: Snapshot | None, snapshot: Snapshot, refresh_s: float) -> None:
        for topic, depth in snapshot.status.get("queues", {}).items():
            self.queues.setdefault(topic, History()).add(max(0, depth))
        self.rate.add(float(snapshot.status.get("activationsPerSecond", 0)))
        new = [a for a in snapshot.activations if a["activationId"] not in self._seen]
        self._seen = {a["activationId"] for a in snapshot.activations}
        elapsed = max(1e-3, snapshot.taken - previous.taken) if previous else refresh_s
        errors = sum(1 for a in new if a.get("statusCode", 0) != 0) if previous else 0
        self.errors.add(errors / elapsed)


def overview(app: App[Any], s: Snapshot, trends: Trends) -> list[RenderableType]:
    invokers = Table(title="Invokers", title_justify="left", expand=True, box=None)
    for column in ("invoker", "state", "memory", "", "prewarm", "warm", "busy", "queue"):
        invokers.add_column(column)
    for inv in s.status.get("invokers", []):
        states = [c["state"] for c in inv["containers"]]
        invokers.add_row(
            f"invoker{inv['id']}", state_text(app, inv["state"]), bar(inv["usedMemory"], inv["userMemory"]),
            f"{inv['usedMemory']}/{inv['userMemory']} MB", str(states.count("prewarm")),
            str(states.count("warm")), str(states.count("busy")), str(inv["queueDepth"]))
    if not s.status.get("invokers"):
        invokers.add_row("no invoker has reported", "", "", "", "", "", "", "")

    queues = Table(title="Queue depth", title_justify="left", expand=True, box=None)
    for column in ("topic", "depth", "last 2 minutes"):
        queues.add_column(column)
    for topic, depth in s.status.get("queues", {}).items():
        queues.add_row(topic, "?" if depth < 0 else str(depth), trends.queues[topic].spark(60))

    rates = Table(title="Activations", title_justify="left", expand=True, box=None)
    for column in ("", "now", "last 2 minutes"):
        rates.add_column(column)
    rates.add_row("activations/s", f"{trends.rate.last:.1f}", trends.rate.spark(60))
    rates.add_row(coloured(app, "errors/s", "status-internal-error"), f"{trends.errors.last:.1f}",
                  trends.errors.spark(60))
    rates.add_row("running", str(len(s.status.get("running", []))), "")

    busiest = Table(title="Busiest containers", title_justify="left", expand=True, box=None)
    for column in ("container", "invoker", "action", "state", "runs", "age"):
        busiest.add_column(column)
    containers = [(inv["id"], c) for inv in s.status.get("invokers", []) for c in inv["containers"]]
    for invoker, c in sorted(containers, key=lambda ic: -ic[1].get("activations", 0))[:5]:
        busiest.add_row(c["id"], f"invoker{invoker}", c["action"] or "-", c["state"], str(c.get("activations", 0)),
                        humanize.naturaldelta(c["age"]))
    return [Padding(Group(invokers, "", queues, "", rates, "", busiest), (0, 1))]


# --- Actions -----------------------------------------------------------------------------------


def package_key(name: str) -> str:
    """A package's row key: its name and a slash (an action's name has none)."""
    return f"{name}/"


def is_package_key(key: str) -> bool:
    return key.endswith("/")


def web_mark(action: dict[str, Any]) -> str:
    """`web` for a web action, `web raw` for one that is handed the raw HTTP request, else nothing."""
    annotations = action.get("annotations")
    if not is_web(annotations):
        return ""
    raw = find(annotations, RAW_HTTP)
    return "web raw" if raw is not None and raw.get("value") is True else "web"


def _count(n: int) -> str:
    return f"{n} action" if n == 1 else f"{n} actions"


def action_rows(s: Snapshot, expanded: set[str], needle: str = "") -> Rows:
    """Packages first (by name; each open one with its actions indented under it, keyed
    `pkg/name`), then the namespace's own actions as the API lists them. While a filter is typed,
    the actions of every package of the namespace are looked through, open or not."""
    now = datetime.fromtimestamp(s.taken)

    def ago(epoch_ms: Any) -> str:
        if not isinstance(epoch_ms, (int, float)):
            return ""
        return humanize.naturaltime(datetime.fromtimestamp(epoch_ms / 1000), when=now)

    def cells(label: str | Text, a: dict[str, Any]) -> Cells:
        limits = a.get("limits", {})
        return [label, a["version"], a["exec"]["kind"], web_mark(a), f"{limits.get('memory', '-')} MB",
                ms(limits.get("timeout")), ago(a.get("updated"))]

    own: list[dict[str, Any]] = []
    packaged: dict[str, list[dict[str, Any]]] = {}
    for a in s.actions:
        package = str(a.get("namespace", "")).partition("/")[2]
        (packaged.setdefault(package, []) if package else own).append(a)
    rows = Rows()
    for p in sorted(s.packages, key=lambda p: p["name"]):
        name, key = p["name"], package_key(p["name"])
        is_open = name in expanded
        binding = p.get("binding")
        if binding:
            kind = f"binding → /{binding.get('namespace')}/{binding.get('name')}"
            inside = s.bound.get(name) if is_open else None
            if isinstance(inside, list):
                kind += f" · {_count(len(inside))}"
            elif is_open:
                kind += f" · {inside or 'loading…'}"
            shown = inside if isinstance(inside, list) else []
        else:
            actions = packaged.pop(name, [])
            kind = f"package · {_count(len(actions))}"
            shown = actions if is_open or needle else []
        label = Text(f"{'▾' if is_open else '▸'} {key}", style="bold")
        rows.add(key, [label, p.get("version", ""), kind, "", "", "", ago(p.get("updated"))], p)
        rows.folds[key] = is_open
        for a in shown:
            child = f"{name}/{a['name']}"
            rows.add(child, cells(f"  {child}", a), a, parent=key)
    for package, actions in packaged.items():  # in a package the listing did not reach
        for a in actions:
            rows.add(f"{package}/{a['name']}", cells(f"{package}/{a['name']}", a), a)
    for a in own:
        rows.add(a["name"], cells(a["name"], a), a)
    return rows


# --- Activations -------------------------------------------------------------------------------


def action_path(record: dict[str, Any], annotations: dict[str, Any]) -> str:
    """What ran, as the operator names it: `name` or `pkg/name` in the record's own namespace,
    else `/ns/pkg/name` (an action reached through a binding to another namespace's package)."""
    path = annotations.get("path")
    if not isinstance(path, str) or "/" not in path:
        return str(record.get("name", ""))
    own = f"{record.get('namespace')}/"
    return path[len(own):] if path.startswith(own) else f"/{path}"


def linked(lead: str, name: str, trigger: str) -> str | Text:
    """What ran, after its place in a sequence's tree and before the trigger whose fire started it."""
    if not lead and not trigger:
        return name
    return Text.assemble((lead, "dim"), name, (f"  ← trigger {trigger}" if trigger else "", "dim"))


class ActivationRows:
    """The Activations view's rows. A completed activation never changes: its cells are built once
    (per theme and place in the tree) and handed over as the same object, which the table takes as
    unchanged without comparing."""

    def __init__(self) -> None:
        self._cells: dict[str, tuple[tuple[str, int, str], Cells]] = {}  # id -> (lead, components, trigger), cells
        self._theme = ""

    def build(self, app: App[Any], s: Snapshot, namespace: str,
              trigger_of: Callable[[str], str] = lambda _: "") -> Rows:
        """`trigger_of(id)`: the trigger whose fire started that activation, else ''."""
        rows = Rows()
        now = s.taken
        for r in s.status.get("running", []):
            if r["namespace"] != namespace and r["subject"] != namespace:
                continue
            started = datetime.fromtimestamp(r["accepted"] / 1000)
            name = linked("", r["name"], trigger_of(r["activationId"]))
            rows.add(r["activationId"], [started.strftime("%H:%M:%S"), name, status_text(app, "running"),
                                         f"{int(now * 1000 - r['accepted'])} ms", "", "", "", r["activationId"]])
        if self._theme != app.theme:
            self._cells, self._theme = {}, app.theme
        records = s.activations
        components: dict[str, list[dict[str, Any]]] = {}  # sequence id -> its components' records
        inside: set[str] = set()
        caused = [a for a in records if a.get("cause") is not None]
        if caused:
            listed = {a["activationId"] for a in records}
            for a in caused:
                if a["cause"] in listed and a["cause"] != a["activationId"]:
                    components.setdefault(a["cause"], []).append(a)
                    inside.add(a["activationId"])
            for group in components.values():
                group.sort(key=lambda a: a.get("start", 0))  # the order they ran in (the list is newest first)
        old = self._cells
        built: dict[str, tuple[tuple[str, int, str], Cells]] = {}
        cells_of, order = rows.cells, rows.order

        def add(a: dict[str, Any], lead: str, indent: str, parent: str | None) -> None:
            aid = a["activationId"]
            if aid in built:
                return  # each record once, whatever its causes say
            group = components.get(aid, [])
            shape = (lead, len(group), trigger_of(aid))
            cached = old.get(aid)
            cells = cached[1] if cached is not None and cached[0] == shape else self._record_cells(app, a, *shape)
            built[aid] = (shape, cells)
            rows.add(aid, cells, parent=parent)
            for i, component in enumerate(group):
                last = i == len(group) - 1
                add(component, indent + ("└ " if last else "├ "), indent + ("  " if last else "│ "), aid)

        for a in records:
            aid = a["activationId"]
            if aid in inside or aid in built:
                continue
            if aid in components or trigger_of(aid):
                add(a, "", "", None)
                continue
            # The common case, on every poll for every row: a record with nothing under it.
            entry = old.get(aid)
            if entry is None or entry[0] is not TOP:
                entry = (TOP, self._record_cells(app, a, *TOP))
            built[aid] = entry
            cells_of[aid] = entry[1]
            order.append(aid)
        if inside:
            for a in records:  # causes that go round in a circle: their records at the top level
                add(a, "", "", None)
        self._cells = built
        return rows

    @staticmethod
    def _record_cells(app: App[Any], a: dict[str, Any], lead: str, components: int, trigger: str) -> Cells:
        annotations = notes(a)
        status = a.get("response", {}).get("status") or ("success" if a.get("statusCode") == 0 else "error")
        if annotations.get("kind") == SEQUENCE:
            start = f"{SEQUENCE} ({components})" if components else SEQUENCE
        elif annotations.get("kind") == TRIGGER_KIND:
            start = TRIGGER_KIND  # a fire: no container ran
        else:
            start = "cold" if "initTime" in annotations else "warm"
        return [datetime.fromtimestamp(a["start"] / 1000).strftime("%H:%M:%S"),
                linked(lead, action_path(a, annotations), trigger),
                status_text(app, status),
                ms(a.get("duration")), start, ms(annotations.get("waitTime")), ms(annotations.get("initTime")),
                a["activationId"]]


# --- Containers, Invokers ----------------------------------------------------------------------


def container_rows(s: Snapshot) -> Rows:
    rows = Rows()
    for inv in s.status.get("invokers", []):
        for c in inv["containers"]:
            rows.add(c["id"], [f"invoker{inv['id']}", c["id"], c["state"], c["action"] or "-",
                               humanize.naturaldelta(c["age"]), f"{c['memory']} MB", str(c.get("activations", 0)),
                               c.get("activationId") or ""])
    return rows


def invoker_rows(app: App[Any], s: Snapshot) -> Rows:
    rows = Rows()
    for inv in s.status.get("invokers", []):
        states = [c["state"] for c in inv["containers"]]
        rows.add(str(inv["id"]), [
            str(inv["id"]), state_text(app, inv["state"]), inv.get("runtime") or "-",
            f"{bar(inv['usedMemory'], inv['userMemory'], 10)} {inv['usedMemory']}/{inv['userMemory']} MB",
            f"{states.count('prewarm')}p {states.count('warm')}w {states.count('busy')}b",
            "?" if inv["queueDepth"] < 0 else str(inv["queueDepth"]), str(inv.get("inflight", 0)),
            f"{inv['lastPing']:.1f} s ago"])
    return rows
