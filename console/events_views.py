"""The rows of the Triggers and Rules views, from one poll's Events.

Triggers: each trigger's feed (its `feed` annotation), its rules with their status, how often it
fired in the last minute and a sparkline of those fires per 5 s. Rules: each rule's trigger, action
and status. A value the poll could not read shows as `?`, never as none.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import App

from .events_data import ACTIVE, LIMIT, Events, TriggerState, per_bucket
from .views import Rows, notes
from .widgets import coloured, sparkline

EVENT_VIEWS = ("triggers", "rules")  # their columns are in views.COLUMNS


def short(path: str, name: str, namespace: str) -> str:
    """An entity as the operator names it: `name` or `pkg/name` in the namespace shown, else
    `/ns/pkg/name`."""
    if path == namespace:
        return name
    if path.startswith(f"{namespace}/"):
        return f"{path[len(namespace) + 1:]}/{name}"
    return f"/{path}/{name}"


def _rule_name(key: str, namespace: str) -> str:
    """A trigger document names its rules `ns/rule`."""
    return key[len(namespace) + 1:] if key.startswith(f"{namespace}/") else f"/{key}"


def status_cell(app: App[Any], status: str) -> Text:
    return coloured(app, status, "state-healthy" if status == ACTIVE else "state-offline")


def _rules_cell(app: App[Any], t: TriggerState, namespace: str) -> Text:
    if t.doc is None:
        return Text("?")
    rules = t.doc.get("rules") or {}
    if not rules:
        return Text("no rule", style="dim")
    parts: list[Any] = []
    for key, rule in sorted(rules.items()):
        active = isinstance(rule, dict) and rule.get("status") == ACTIVE
        mark = coloured(app, "✓" if active else "✗", "state-healthy" if active else "state-offline")
        parts += [" " if parts else "", _rule_name(str(key), namespace), " ", mark]
    return Text.assemble(*parts)


def trigger_rows(app: App[Any], events: Events, now: float, namespace: str) -> Rows:
    rows = Rows()
    for t in events.triggers:
        feed = notes(t.entry).get("feed")
        if t.fires is None:
            count, spark = "?", ""
        else:
            count = f"≥{LIMIT}" if len(t.fires) >= LIMIT else str(len(t.fires))
            spark = sparkline(per_bucket(t.fires, now))
        rows.add(t.name, [t.name, str(feed) if feed else "", _rules_cell(app, t, namespace), count, spark],
                 t.doc or t.entry)
    return rows


def rule_rows(app: App[Any], events: Events, namespace: str) -> Rows:
    rows = Rows()
    statuses = events.statuses()
    unread = {t.name for t in events.triggers if t.doc is None}
    for r in events.rules:
        name = str(r.get("name", ""))
        trigger, action = r.get("trigger") or {}, r.get("action") or {}
        status = statuses.get(f"{r.get('namespace', namespace)}/{name}")
        if status is None and trigger.get("name") in unread:
            status = "?"
        elif status is None:  # not among the listed triggers' rules: its trigger is gone (so it is inactive)
            status = "inactive" if events.complete else "?"
        cells = [name, short(str(trigger.get("path", "")), str(trigger.get("name", "")), namespace),
                 short(str(action.get("path", "")), str(action.get("name", "")), namespace),
                 status_cell(app, status) if status != "?" else Text("?")]
        rows.add(name, cells, {**r, "status": status})
    return rows


def event_rows(app: App[Any], events: Events, view: str, now: float, namespace: str) -> Rows:
    return trigger_rows(app, events, now, namespace) if view == "triggers" else rule_rows(app, events, namespace)
