"""What the Triggers and Rules views show, read in one poll: the namespace's triggers (each with its
document, for its rules and their status), its rules, and each trigger's fires in the last minute;
and the calls that fire a trigger and enable or disable a rule.

A fire is an ordinary activation record named after the trigger and annotated `kind: trigger`; its
logs hold one JSON line per rule, with the activation id its action was given. Those lines are what
links an action's activation to the trigger that caused it (TriggerLinks).
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable

from .client import ApiError, AsyncApiClient

TRIGGER_KIND = "trigger"
WINDOW_S = 60  # fires are counted over the last minute...
BUCKET_S = 5  # ...and drawn per 5 s
LIMIT = 200  # the API's largest page: triggers, rules and one trigger's fires per poll
ACTIVE, INACTIVE = "active", "inactive"


@dataclass
class TriggerState:
    """One trigger: its list entry, its document (None: unreadable this poll) and its fire records
    of the last minute, newest first (None: unreadable this poll)."""

    entry: dict[str, Any]
    doc: dict[str, Any] | None
    fires: list[dict[str, Any]] | None

    @property
    def name(self) -> str:
        return str(self.entry.get("name", ""))


@dataclass
class Events:
    """One poll of triggers and rules; `supported` is False for a backend without them (404)."""

    supported: bool = False
    triggers: list[TriggerState] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = True  # every trigger listed (fewer than LIMIT): a rule whose trigger is not listed has none

    def statuses(self) -> dict[str, str]:
        """`ns/rule` -> its status, from the documents of the triggers (the rule list omits it)."""
        found: dict[str, str] = {}
        for t in self.triggers:
            for key, rule in ((t.doc or {}).get("rules") or {}).items():
                if isinstance(rule, dict):
                    found[str(key)] = str(rule.get("status", ""))
        return found


def _notes(doc: dict[str, Any]) -> dict[str, Any]:
    return {n["key"]: n["value"] for n in doc.get("annotations", []) if isinstance(n, dict) and "key" in n}


def is_fire(record: dict[str, Any]) -> bool:
    return _notes(record).get("kind") == TRIGGER_KIND


def rule_lines(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A fire's logs: one entry per rule (`rule`, `action`, `activationId` or `error`)."""
    lines = []
    for line in record.get("logs") or []:
        try:
            entry = json.loads(line) if isinstance(line, str) else line
        except ValueError:
            continue
        if isinstance(entry, dict):
            lines.append(entry)
    return lines


# --- the calls -----------------------------------------------------------------------------------


async def fire_trigger(client: AsyncApiClient, name: str) -> str | None:
    """Fire with no parameters: the fire's activation id, or None when no rule is active (204)."""
    fired = await client.fire_trigger(name, {})
    return None if fired.status == 204 else fired.id


async def set_rule_status(client: AsyncApiClient, name: str, status: str) -> None:
    await client.set_rule_status(name, status == ACTIVE)


async def _doc(client: AsyncApiClient, name: str) -> dict[str, Any] | None:
    try:
        return await client.get_trigger(name)
    except ApiError as ex:
        if ex.status == 0:
            raise  # unreachable: the poll says so
        return None


async def _fires(client: AsyncApiClient, name: str, since_ms: int) -> list[dict[str, Any]] | None:
    try:
        records = await client.list_activations(name=name, since=since_ms, limit=LIMIT, docs=True)
    except ApiError as ex:
        if ex.status == 0:
            raise
        return None
    # An action in a package may have the trigger's name: only the trigger's own records.
    return [r for r in records if isinstance(r, dict) and is_fire(r) and r.get("start", 0) >= since_ms]


async def read_events(client: AsyncApiClient, now: float) -> Events:
    """The triggers, their documents and last minute of fires, and the rules: 2 + 2 per trigger
    requests, side by side. A backend without triggers (404) has none."""
    try:
        listed, rules = await asyncio.gather(client.list_triggers(limit=LIMIT), client.list_rules(limit=LIMIT))
    except ApiError as ex:
        if ex.status == 404:
            return Events()
        raise
    since = int((now - WINDOW_S) * 1000)
    names = [str(t.get("name", "")) for t in listed]
    found = await asyncio.gather(*(_doc(client, n) for n in names), *(_fires(client, n, since) for n in names))
    triggers = [TriggerState(t, found[i], found[len(names) + i]) for i, t in enumerate(listed)]
    return Events(True, triggers, list(rules), complete=len(listed) < LIMIT)


def per_bucket(fires: Iterable[dict[str, Any]], now: float) -> list[int]:
    """Fires per BUCKET_S over the last WINDOW_S, oldest first."""
    counts = [0] * (WINDOW_S // BUCKET_S)
    now_ms = now * 1000
    for record in fires:
        back = int((now_ms - record.get("start", 0)) // (BUCKET_S * 1000))
        if 0 <= back < len(counts):
            counts[-1 - back] += 1
        elif back < 0:
            counts[-1] += 1  # a clock a little ahead of ours: it is the latest
    return counts


class TriggerLinks:
    """Action activation id -> the trigger whose fire started it, from the fires' logs. Bounded,
    and kept across polls: an activation stays linked after its fire leaves the last minute."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self.of: OrderedDict[str, str] = OrderedDict()
        self._read: set[str] = set()  # fires already read (a record never changes)

    def record(self, events: Events) -> None:
        read: set[str] = set()
        for t in events.triggers:
            for fire in t.fires or []:
                fire_id = str(fire.get("activationId"))
                read.add(fire_id)
                if fire_id in self._read:
                    continue
                for line in rule_lines(fire):
                    if isinstance(line.get("activationId"), str):
                        self.of[line["activationId"]] = t.name
        self._read = read
        while len(self.of) > self.size:
            self.of.popitem(last=False)

    def get(self, activation_id: str) -> str:
        return self.of.get(activation_id, "")
