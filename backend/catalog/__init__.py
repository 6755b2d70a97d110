"""The public system packages of `whisk.system`, installed at every start and brought up to date
when this release's copy differs from the stored one (a changed action gets a new version).

`utils` carries OpenWhisk's building blocks with the same inputs, outputs and annotations; they are
Python here (this file's directory holds their sources), so they run on every Squall runtime.
`alarms` and `messaging` carry feeds that the controller serves itself (backend/events).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..activations import now_ms
from ..entities import Action, bump_version
from ..kinds import BUILTIN, DEFAULT_KIND
from ..names import SYSTEM_NAMESPACE, EntityName
from ..registry import Registry
from ..store import Identity

log = logging.getLogger("squall.catalog")

SOURCES = Path(__file__).parent
HELPERS = "_js.py"  # prepended to the actions that call its functions


@dataclass(frozen=True)
class CatalogAction:
    name: str
    description: str
    parameters: list[dict[str, Any]] = field(default_factory=list)
    sample_input: dict[str, Any] | None = None
    sample_output: dict[str, Any] | None = None
    feed: bool = False  # a built-in feed action (kind `builtin`), not code

    def annotations(self) -> list[dict[str, Any]]:
        values: dict[str, Any] = {"feed": True} if self.feed else {}
        values["description"] = self.description
        if self.parameters:
            values["parameters"] = self.parameters
        if self.sample_input is not None:
            values["sampleInput"] = self.sample_input
        if self.sample_output is not None:
            values["sampleOutput"] = self.sample_output
        return [{"key": k, "value": v} for k, v in values.items()]


@dataclass(frozen=True)
class CatalogPackage:
    name: str
    description: str
    actions: tuple[CatalogAction, ...]
    parameters: tuple[dict[str, Any], ...] = ()


def _lines(description: str) -> dict[str, Any]:
    return {"name": "lines", "required": True, "type": "array", "description": description}


UTILS = CatalogPackage("utils", "Building blocks that format and assemble data", (
    CatalogAction("echo", "Returns the input",
                  [{"name": "payload", "required": False, "description": "Any JSON entity"}],
                  {"payload": "Five fuzzy felines"}, {"payload": "Five fuzzy felines"}),
    CatalogAction("cat", "Concatenates input into a string", [_lines("An array of strings or numbers")],
                  {"lines": [4, 2, 3]}, {"lines": [4, 2, 3], "payload": "4\n2\n3"}),
    CatalogAction("sort", "Sorts an array", [_lines("An array of strings")],
                  {"lines": [4, 2, 3]}, {"lines": [2, 3, 4], "length": 3}),
    CatalogAction("head", "Extract prefix of an array",
                  [_lines("An array of strings"),
                   {"name": "num", "required": False, "type": "integer", "description": "The length of the prefix"}],
                  {"lines": [4, 2, 3], "num": 2}, {"lines": [4, 2], "num": 2}),
    CatalogAction("split", "Split a string into an array",
                  [{"name": "payload", "required": True, "description": "A string"},
                   {"name": "separator", "required": False,
                    "description": "The character, or the regular expression, to use for splitting the string"}],
                  {"payload": "one,two,three", "separator": ","},
                  {"lines": ["one", "two", "three"], "payload": "one,two,three"}),
    CatalogAction("smash", "Nests all properties under given property",
                  [{"name": "$fieldName", "required": True, "type": "string",
                    "description": "Name of property to nest object under"}],
                  {"a": 1, "b": {"c": 2, "d": 3}, "$fieldName": "p"}, {"p": {"a": 1, "b": {"c": 2, "d": 3}}}),
    CatalogAction("date", "Current date and time", [], None, {"date": "2016-03-22T00:59:55.961Z"}),
    CatalogAction("namespace", "Returns namespace for the authorization key used to invoke this action",
                  [], None, {"namespace": "guest"}),
))


def _param(name: str, description: str, required: bool = False, **more: Any) -> dict[str, Any]:
    return {"name": name, "required": required, "description": description, **more}


_PAYLOAD = _param("trigger_payload", "The payload to fire the trigger with")
_START = _param("startDate", "When to begin firing (ISO 8601 or epoch ms)")
_STOP = _param("stopDate", "When to stop firing (ISO 8601 or epoch ms)")
ALARMS = CatalogPackage("alarms", "Alarms and periodic utility", (
    CatalogAction("alarm", "Fire trigger when alarm occurs",
                  [_param("cron", "A cron expression (5 fields, or 6 with seconds first)", True), _PAYLOAD,
                   _param("timezone", "The time zone of the cron expression"), _START, _STOP,
                   _param("maxTriggers", "Stop after this many fires (-1: never)")],
                  {"cron": "*/10 * * * * *", "trigger_payload": {"name": "Odin"}}, feed=True),
    CatalogAction("interval", "Fire trigger at specified interval",
                  [_param("minutes", "Minutes between fires", True, type="integer"), _PAYLOAD, _START, _STOP],
                  {"minutes": 5}, feed=True),
    CatalogAction("once", "Fire trigger once when alarm occurs",
                  [_param("date", "When to fire (ISO 8601 or epoch ms)", True), _PAYLOAD,
                   _param("deleteAfterFire", "false, true (delete the trigger) or rules (and its rules)")],
                  {"date": "2027-01-01T00:00:00.000Z"}, feed=True),
), ({"key": "trigger_payload", "value": ""},))
MESSAGING = CatalogPackage("messaging", "Kafka topics as event sources", (
    CatalogAction("kafkaFeed", "Feed to listen to Kafka messages",
                  [_param("brokers", "Kafka brokers (host:port), an array or a comma-separated string", True),
                   _param("topic", "The topic to subscribe to", True),
                   _param("isJSONData", "Parse each message's value as JSON"),
                   _param("isBinaryKey", "Send each message's key base64-encoded"),
                   _param("isBinaryValue", "Send each message's value base64-encoded"),
                   _param("batch", "One fire per batch of messages rather than per message")],
                  {"brokers": ["127.0.0.1:9092"], "topic": "events"}, feed=True),
))

PACKAGES = (UTILS, ALARMS, MESSAGING)


def action_code(package: str, action: str) -> str:
    source = (SOURCES / package / f"{action}.py").read_text()
    if "js_string(" in source:
        source = (SOURCES / package / HELPERS).read_text() + "\n\n" + source
    return source


async def install(registry: Registry, admin: Identity) -> list[str]:
    """Create or update what differs from this release's catalog; the names of what changed."""
    changed = []
    for spec in PACKAGES:
        annotations = [{"key": "description", "value": spec.description}]
        package = await registry.package(SYSTEM_NAMESPACE, spec.name)
        if package is not None and package.binding is not None:  # a binding cannot become a package
            await registry.delete_package(SYSTEM_NAMESPACE, spec.name, force=True)
            package = None
        parameters = list(spec.parameters)
        if package is None or not package.publish or package.annotations != annotations \
                or package.parameters != parameters:
            await registry.put_package(admin, SYSTEM_NAMESPACE, spec.name,
                                       {"publish": True, "annotations": annotations, "parameters": parameters}, True)
            changed.append(f"/{SYSTEM_NAMESPACE}/{spec.name}")
        for action in spec.actions:
            fqn = EntityName(SYSTEM_NAMESPACE, spec.name, action.name)
            exec_ = {"kind": BUILTIN, "code": f"{spec.name}/{action.name}", "binary": False} if action.feed else \
                {"kind": DEFAULT_KIND, "code": action_code(spec.name, action.name), "binary": False, "main": "main"}
            body = {"exec": exec_, "annotations": action.annotations(), "parameters": [], "publish": True}
            if await _current(registry, fqn, body):
                continue
            if action.feed:  # no PUT may create a built-in
                existing = await registry.store.get_action(fqn.path, fqn.name)
                await registry.install(Action(
                    fqn.path, fqn.name, exec_, bump_version(existing.version) if existing else "0.0.1", True, [],
                    annotations=[*body["annotations"], {"key": "exec", "value": BUILTIN}], updated=now_ms()))
            else:
                await registry.put_action(fqn, body, True)
            changed.append(str(fqn))
    if changed:
        log.info("system packages: installed or updated %s", ", ".join(changed))
    return changed


async def _current(registry: Registry, fqn: EntityName, body: dict[str, Any]) -> bool:
    stored = await registry.store.get_action(fqn.path, fqn.name)
    if stored is None:
        return False
    annotations = [a for a in stored.annotations if a["key"] != "exec"]
    return stored.exec == body["exec"] and annotations == body["annotations"] and stored.publish \
        and not stored.parameters
