"""Triggers and rules as OpenWhisk documents, with OpenWhisk's validation of a PUT. Which rules a
trigger has, and whether the entities a rule names exist, is the controller's (events.rules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..activations import now_ms
from ..entities import KeyValues, _annotations, _object, _parameters, _publish, _version, lookup
from ..errors import EntityError, malformed
from ..names import EntityName

ACTIVE = "active"
INACTIVE = "inactive"
FEED = "feed"  # the annotation of a trigger created with a feed: the feed action's name


@dataclass
class Trigger:
    namespace: str
    name: str
    version: str = "0.0.1"
    publish: bool = False
    parameters: KeyValues = field(default_factory=list)
    annotations: KeyValues = field(default_factory=list)
    updated: int = 0

    @property
    def fqn(self) -> EntityName:
        return EntityName(self.namespace, None, self.name)

    @property
    def feed(self) -> str | None:
        value = lookup(self.annotations, FEED)
        return value if isinstance(value, str) else None

    def param_dict(self) -> dict[str, Any]:
        return {p["key"]: p["value"] for p in self.parameters}

    def to_json(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "name": self.name, "version": self.version,
                "publish": self.publish, "parameters": self.parameters, "annotations": self.annotations,
                "limits": {}, "updated": self.updated}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Trigger":
        return cls(doc["namespace"], doc["name"], doc["version"], doc.get("publish", False),
                   doc.get("parameters", []), doc.get("annotations", []), doc.get("updated", 0))

    @classmethod
    def from_put(cls, namespace: str, name: str, body: Any, existing: "Trigger | None") -> "Trigger":
        body = _object(body)
        if "limits" in body and not isinstance(body["limits"], dict):
            raise EntityError(400, malformed("limits must be an object"))
        return cls(namespace, name, _version(body, existing.version if existing else None),
                   _publish(body, existing.publish if existing else None),
                   _parameters(body, existing.parameters if existing else None),
                   _annotations(body, existing.annotations if existing else None), now_ms())


def reference(fqn: EntityName) -> dict[str, str]:
    """How a rule document names its trigger and action: `{"name", "path"}`."""
    return {"name": fqn.name, "path": fqn.path}


@dataclass
class Rule:
    namespace: str
    name: str
    trigger: EntityName
    action: EntityName
    status: str = ACTIVE
    version: str = "0.0.1"
    publish: bool = False
    annotations: KeyValues = field(default_factory=list)
    updated: int = 0

    @property
    def fqn(self) -> EntityName:
        return EntityName(self.namespace, None, self.name)

    @property
    def key(self) -> str:
        """As a trigger's `rules` map names it: `ns/rule`."""
        return f"{self.namespace}/{self.name}"

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def to_json(self, status: str | None = None) -> dict[str, Any]:
        return {"namespace": self.namespace, "name": self.name, "version": self.version,
                "publish": self.publish, "status": status or self.status,
                "trigger": reference(self.trigger), "action": reference(self.action),
                "annotations": self.annotations, "updated": self.updated}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Rule":
        t, a = doc["trigger"], doc["action"]
        return cls(doc["namespace"], doc["name"], EntityName.of_path(t["path"], t["name"]),
                   EntityName.of_path(a["path"], a["name"]), doc.get("status", ACTIVE), doc["version"],
                   doc.get("publish", False), doc.get("annotations", []), doc.get("updated", 0))
