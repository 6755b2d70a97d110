"""The entities users create: actions (code, sequences) and packages (and bindings), as OpenWhisk
documents, with OpenWhisk's validation of a PUT. Existence checks that need the store live in the
controller's registry; this module knows shapes and values only.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from . import kinds
from .activations import now_ms
from .errors import EntityError, entity_too_big, malformed
from .limits import MAX_CODE, MAX_PARAMETERS, Limits
from .names import EntityName

KeyValues = list[dict[str, Any]]
PROVIDE_API_KEY = "provide-api-key"

# A Docker image reference (distribution/reference's grammar): [domain[:port]/]path[:tag][@digest].
_DOMAIN_PART = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_NAME = re.compile(
    rf"(?P<name>(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?/)?{_PATH_PART}(?:/{_PATH_PART})*)"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?", re.ASCII)


def key_values(body: Any, what: str) -> KeyValues:
    if body is None:
        return []
    if not isinstance(body, list) or not all(
        isinstance(p, dict) and isinstance(p.get("key"), str) and "value" in p for p in body
    ):
        raise EntityError(400, malformed(f"{what} must be a list of key-value pairs"))
    return [{"key": p["key"], "value": p["value"]} for p in body]


def lookup(pairs: KeyValues, key: str, default: Any = None) -> Any:
    for p in pairs:
        if p["key"] == key:
            return p["value"]
    return default


def truthy(value: Any) -> bool:
    """OpenWhisk's reading of a boolean annotation: true, or the string "true"."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def bump_version(version: str) -> str:
    parts = version.split(".")
    try:
        major, minor, patch = (int(p) for p in parts)
    except ValueError:
        return "0.0.1"
    return f"{major}.{minor}.{patch + 1}"


def _parameters(body: dict[str, Any], existing: KeyValues | None) -> KeyValues:
    parameters = key_values(body["parameters"], "parameters") if "parameters" in body else (existing or [])
    size = len(json.dumps(parameters, separators=(",", ":")).encode())
    if size > MAX_PARAMETERS:
        raise EntityError(413, entity_too_big("Parameters", size, MAX_PARAMETERS))
    return parameters


def _annotations(body: dict[str, Any], existing: KeyValues | None) -> KeyValues:
    return key_values(body["annotations"], "annotations") if "annotations" in body else (existing or [])


def _publish(body: dict[str, Any], existing: bool | None) -> bool:
    publish = body.get("publish", existing if existing is not None else False)
    if not isinstance(publish, bool):
        raise EntityError(400, malformed("publish must be a boolean"))
    return publish


def _version(body: dict[str, Any], existing: str | None) -> str:
    if existing is not None:
        return bump_version(existing)
    version = body.get("version", "0.0.1")
    if not isinstance(version, str) or not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise EntityError(400, malformed("version must be of the form major.minor.patch"))
    return version


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise EntityError(400, malformed("the request body must be a JSON object"))
    return body


@dataclass
class Action:
    namespace: str  # `ns`, or `ns/pkg` for an action in a package
    name: str
    exec: dict[str, Any]
    version: str = "0.0.1"
    publish: bool = False
    parameters: KeyValues = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    annotations: KeyValues = field(default_factory=list)
    updated: int = 0

    @property
    def path(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def fqn(self) -> EntityName:
        return EntityName.of_path(self.namespace, self.name)

    @property
    def kind(self) -> str:
        return self.exec["kind"]

    @property
    def is_sequence(self) -> bool:
        return self.exec["kind"] == kinds.SEQUENCE

    @property
    def components(self) -> list[str]:
        return self.exec.get("components", [])

    @property
    def image(self) -> str | None:
        """A blackbox action's image; None for every other kind."""
        return self.exec.get("image") if self.exec["kind"] == kinds.BLACKBOX else None

    def param_dict(self) -> dict[str, Any]:
        return {p["key"]: p["value"] for p in self.parameters}

    def annotation(self, key: str, default: Any = None) -> Any:
        return lookup(self.annotations, key, default)

    @property
    def gets_api_key(self) -> bool:
        """Whether the caller's key reaches the action as `__OW_API_KEY`: only when annotated so
        (an action from before the annotation existed gets it, as in OpenWhisk)."""
        return truthy(self.annotation(PROVIDE_API_KEY, True))

    def to_json(self, code: bool = True) -> dict[str, Any]:
        exec_ = dict(self.exec)
        if not code:
            exec_.pop("code", None)
        return {
            "namespace": self.namespace, "name": self.name, "version": self.version,
            "publish": self.publish, "exec": exec_, "parameters": self.parameters,
            "limits": self.limits.to_json(), "annotations": self.annotations, "updated": self.updated,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Action":
        return cls(
            namespace=doc["namespace"], name=doc["name"], exec=doc["exec"], version=doc["version"],
            publish=doc.get("publish", False), parameters=doc.get("parameters", []),
            limits=Limits(**doc["limits"]), annotations=doc.get("annotations", []),
            updated=doc.get("updated", 0),
        )

    @classmethod
    def from_put(cls, namespace: str, name: str, body: Any, existing: "Action | None") -> "Action":
        """Build the stored action from a PUT body: validate everything, merge over an existing one.
        A sequence's components come back as written; the registry resolves them."""
        body = _object(body)
        if existing is not None and body.get("exec") is None and kinds.is_deprecated(existing.kind):
            raise EntityError(400, kinds.deprecated_message(existing.kind))
        exec_ = parse_exec(body.get("exec"), existing)
        parameters = _parameters(body, existing.parameters if existing else None)
        limits = Limits.parse(body.get("limits"), existing.limits if existing else None)
        annotations = _annotations(body, existing.annotations if existing else None)
        annotations = [a for a in annotations if a["key"] != "exec"] + [{"key": "exec", "value": exec_["kind"]}]
        if existing is None and exec_["kind"] != kinds.SEQUENCE and lookup(annotations, PROVIDE_API_KEY) is None:
            annotations.append({"key": PROVIDE_API_KEY, "value": False})  # as OpenWhisk marks new actions
        return cls(namespace, name, exec_, _version(body, existing.version if existing else None),
                   _publish(body, existing.publish if existing else None), parameters, limits, annotations,
                   now_ms())


def parse_exec(body: Any, existing: Action | None) -> dict[str, Any]:
    if body is None:
        if existing is None:
            raise EntityError(400, malformed("exec undefined"))
        return existing.exec
    if not isinstance(body, dict) or not isinstance(body.get("kind"), str):
        raise EntityError(400, malformed("exec must be an object with a kind"))
    if body["kind"] == kinds.SEQUENCE:
        components = body.get("components")
        if components is not None and (not isinstance(components, list)
                                       or not all(isinstance(c, str) for c in components)):
            raise EntityError(400, malformed("exec.components must be a list of action names"))
        return {"kind": kinds.SEQUENCE, "components": list(components or [])}
    if body["kind"] == kinds.BLACKBOX:
        return _blackbox_exec(body)
    kind = kinds.resolve(body["kind"])
    code, binary = _code(body)
    main = body.get("main", "main")
    # a Python or Node.js function (Node: `file.member` in a zip), a Java `pkg.Class[#method]`
    if not isinstance(main, str) or not main or len(main) > 256 or any(c.isspace() for c in main):
        raise EntityError(400, malformed("exec.main must be the name of a function"))
    return {"kind": kind, "code": code, "binary": binary, "main": main}


def _code(body: dict[str, Any]) -> tuple[str, bool]:
    code = body.get("code")
    if not isinstance(code, str):
        raise EntityError(400, malformed("exec.code must be a string"))
    if len(code.encode()) > MAX_CODE:
        raise EntityError(413, entity_too_big("Code", len(code.encode()), MAX_CODE))
    binary = body.get("binary", False)
    if not isinstance(binary, bool):
        raise EntityError(400, malformed("exec.binary must be a boolean"))
    if binary:
        try:
            base64.b64decode(code, validate=True)
        except (binascii.Error, ValueError):
            raise EntityError(400, malformed("exec.code is not valid base64 for a binary action")) from None
    return code, binary


def valid_image(image: str) -> bool:
    match = IMAGE_NAME.fullmatch(image)
    return match is not None and len(match.group("name")) <= 255


def _blackbox_exec(body: dict[str, Any]) -> dict[str, Any]:
    """OpenWhisk's blackbox exec: an image, and optionally code (the image's to run) and main.
    Stored as OpenWhisk writes it: kind, image, binary, then code and main when given."""
    image = body.get("image")
    if not isinstance(image, str):
        raise EntityError(400, malformed("'image' must be a string defined in 'exec' for 'blackbox' actions"))
    if not valid_image(image):
        raise EntityError(400, malformed(f"'{image[:300]}' is not a valid Docker image name"))
    exec_: dict[str, Any] = {"kind": kinds.BLACKBOX, "image": image, "binary": False}
    if isinstance(body.get("code"), str) and not body["code"].strip():
        body = {k: v for k, v in body.items() if k != "code"}  # blank code is no code, as in OpenWhisk
    if body.get("code") is not None:
        exec_["code"], exec_["binary"] = _code(body)
    main = body.get("main")
    if main is not None:
        if not isinstance(main, str):
            raise EntityError(400, malformed("if defined, 'main' be a string in 'exec' for 'blackbox' actions"))
        exec_["main"] = main
    return exec_


@dataclass
class Package:
    namespace: str
    name: str
    version: str = "0.0.1"
    publish: bool = False
    binding: EntityName | None = None  # what a binding points to; None for a package
    parameters: KeyValues = field(default_factory=list)
    annotations: KeyValues = field(default_factory=list)
    updated: int = 0

    @property
    def path(self) -> str:
        return f"{self.namespace}/{self.name}"

    def param_dict(self) -> dict[str, Any]:
        return {p["key"]: p["value"] for p in self.parameters}

    def annotation(self, key: str, default: Any = None) -> Any:
        return lookup(self.annotations, key, default)

    def to_json(self) -> dict[str, Any]:
        binding = ({"namespace": self.binding.namespace, "name": self.binding.name}
                   if self.binding else {})
        return {"namespace": self.namespace, "name": self.name, "version": self.version,
                "publish": self.publish, "binding": binding, "parameters": self.parameters,
                "annotations": self.annotations, "updated": self.updated}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Package":
        b = doc.get("binding") or {}
        return cls(doc["namespace"], doc["name"], doc["version"], doc.get("publish", False),
                   EntityName(b["namespace"], None, b["name"]) if b else None,
                   doc.get("parameters", []), doc.get("annotations", []), doc.get("updated", 0))

    @classmethod
    def from_put(cls, namespace: str, name: str, body: Any, existing: "Package | None") -> "Package":
        body = _object(body)
        binding = existing.binding if existing else None
        if "binding" in body:  # an empty one keeps a binding what it is, as in OpenWhisk
            binding = parse_binding(body["binding"]) or binding
        return cls(namespace, name, _version(body, existing.version if existing else None),
                   _publish(body, existing.publish if existing else None), binding,
                   _parameters(body, existing.parameters if existing else None),
                   _annotations(body, existing.annotations if existing else None), now_ms())


def parse_binding(body: Any) -> EntityName | None:
    if body is None or body == {}:
        return None
    if (not isinstance(body, dict) or not isinstance(body.get("namespace"), str)
            or not isinstance(body.get("name"), str)):
        raise EntityError(400, malformed("binding must be an object with a namespace and a name"))
    return EntityName(body["namespace"], None, body["name"])


class ActionCache:
    """Actions from the documents activation messages carry, each built once per version: an
    update gives an action a new version and a new time, so an entry never goes stale."""

    SIZE = 1024  # emptied when this large

    def __init__(self) -> None:
        self._actions: dict[tuple[str, str, str, int], Action] = {}

    def get(self, doc: dict[str, Any]) -> Action:
        key = (doc["namespace"], doc["name"], doc["version"], doc.get("updated", 0))
        action = self._actions.get(key)
        if action is None:
            if len(self._actions) >= self.SIZE:
                self._actions.clear()
            action = self._actions[key] = Action.from_json(doc)
        return action
