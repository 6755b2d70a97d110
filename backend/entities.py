"""Domain entities of the OpenWhisk contract: names, limits, actions, activations and their messages.

One place for every text a user can see from the API, so that the controller, the invoker and the
tests agree on the exact OpenWhisk wording.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

# --- exact OpenWhisk messages ---------------------------------------------------------------------

RESOURCE_DOES_NOT_EXIST = "The requested resource does not exist."
RESOURCE_EXISTS = "resource already exists"
NAME_ILLEGAL = "The name of the entity contains illegal characters."
NAMESPACE_ILLEGAL = "The namespace contains illegal characters."
ACTIVATION_ID_ILLEGAL = "The activation id is not valid."
AUTH_MISSING = "The resource requires authentication, which was not supplied with the request."
AUTH_INVALID = "The supplied authentication is invalid."
DOCS_WITH_COUNT = "The parameter 'docs' is not permitted with 'count'."
NO_HEALTHY_INVOKER = "No invokers available."
SYSTEM_OVERLOADED = "System is overloaded, try again later."
PROVISION_ERROR = "Failed to provision resources to run the action."
ABNORMAL_RUN = "The action did not produce a valid response and exited unexpectedly."
ABNORMAL_INIT = "The action did not initialize and exited unexpectedly."
MEMORY_EXHAUSTED = "The action exhausted its memory and was aborted."
NOT_A_DICTIONARY = "The action did not return a dictionary or array."
MISSING_MAIN = "Missing main/no code to execute."
CANCELLED_BY_OPERATOR = "The activation was cancelled by an operator."
LOST_IN_CRASH = (
    "The activation was accepted but Squall stopped before it completed; "
    "it was ended when Squall started again."
)
LOST_AT_SHUTDOWN = "The activation could not complete because Squall was shutting down."
PARAMETERS_NOT_ALLOWED = "Request defines parameters that are not allowed (e.g., reserved properties)."
CORRUPTED_ENTITY = "Resource is corrupted and cannot be read."


def not_authorized(namespace: str) -> str:
    return f"The supplied authentication is not authorized to access '{namespace}'."


def too_many_requests(count: int, allowed: int) -> str:
    return f"Too many requests in the last minute (count: {count}, allowed: {allowed})."


def too_many_concurrent(count: int, allowed: int) -> str:
    return f"Too many concurrent requests in flight (count: {count}, allowed: {allowed})."


def entity_too_big(what: str, size: int, allowed: int) -> str:
    return f"{what} larger than allowed: {size} > {allowed} bytes."


def timed_out(timeout_ms: int, init: bool) -> str:
    suffix = " during initialization." if init else "."
    return f"The action exceeded its time limits of {timeout_ms} milliseconds{suffix}"


def truncated_response(size: int, allowed: int) -> str:
    return f"The action produced a response that exceeded the allowed length: {size} > {allowed} bytes."


def truncated_logs(limit_bytes: int) -> str:
    return f"Logs were truncated because the total bytes size exceeds the limit of {limit_bytes} bytes."


def list_limit_out_of_range(collection: str, value: int, maximum: int) -> str:
    return f"The value '{value}' is not in the range of 0 to {maximum} for {collection}."


def list_skip_out_of_range(collection: str, value: int) -> str:
    return f"The value '{value}' is not greater than or equal to 0 for {collection}."


def argument_not_integer(collection: str, value: str) -> str:
    return f"The value '{value}' is not an integer for {collection}."


def malformed(detail: str) -> str:
    return f"The request content was malformed:\n{detail}"


# --- sizes and limits -----------------------------------------------------------------------------

KB = 1024
MB = 1024 * 1024

MAX_PAYLOAD = 1 * MB  # invoke body and action result
MAX_PARAMETERS = 1 * MB
MAX_CODE = 48 * MB
MAX_ACTION_PUT = MAX_CODE + MAX_PARAMETERS + 64 * KB  # the whole PUT body: code, parameters, metadata

TIMEOUT_MIN_MS, TIMEOUT_MAX_MS, TIMEOUT_DEFAULT_MS = 100, 300_000, 60_000
MEMORY_MIN_MB, MEMORY_MAX_MB, MEMORY_DEFAULT_MB = 128, 512, 256
LOGS_MIN_MB, LOGS_MAX_MB, LOGS_DEFAULT_MB = 0, 10, 10
CONCURRENCY_MIN, CONCURRENCY_MAX, CONCURRENCY_DEFAULT = 1, 1, 1

DEFAULT_INVOCATIONS_PER_MINUTE = 60
DEFAULT_CONCURRENT_INVOCATIONS = 30
DEFAULT_FIRES_PER_MINUTE = 60

BLOCKING_WAIT_DEFAULT_MS = 60_000

KINDS = {"python:3": "python"}
DEFAULT_KIND = "python:3"

_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_@ .&-]{0,254}[A-Za-z0-9_@.&-])?", re.ASCII)
_ACTIVATION_ID = re.compile(r"[0-9a-f]{32}", re.ASCII)
SYSTEM_NAMESPACE = "whisk.system"
DEFAULT_NAMESPACE = "guest"


class EntityError(Exception):
    """A request the contract rejects; carries the HTTP status and the exact message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def valid_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name))


def check_name(name: str) -> str:
    if not valid_name(name):
        raise EntityError(400, NAME_ILLEGAL)
    return name


def check_namespace(name: str) -> str:
    if not valid_name(name):
        raise EntityError(400, NAMESPACE_ILLEGAL)
    return name


def valid_activation_id(value: str) -> bool:
    return bool(_ACTIVATION_ID.fullmatch(value))


def new_activation_id() -> str:
    return uuid.uuid4().hex


def new_key() -> tuple[str, str]:
    """A namespace key in OpenWhisk's shape: a uuid and a 64-character secret."""
    return str(uuid.uuid4()), secrets.token_urlsafe(48)[:64]


def now_ms() -> int:
    return int(time.time() * 1000)


def _whole_number(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise EntityError(400, malformed(f"{what} limit must be whole number"))
    return int(value)


def _bounded(body: dict[str, Any], key: str, default: int, low: int, high: int, what: str,
             describe: Callable[[int], str], unit: str) -> int:
    """One limit of a PUT, in range or a 400 with OpenWhisk's 'requirement failed' text."""
    if body.get(key) is None:
        return default
    value = _whole_number(body[key], what)
    suffix = f" {unit}" if unit else ""
    if value < low:
        raise EntityError(400, malformed(
            f"requirement failed: {describe(value)} below allowed threshold of {low}{suffix}"))
    if value > high:
        raise EntityError(400, malformed(
            f"requirement failed: {describe(value)} exceeds allowed threshold of {high}{suffix}"))
    return value


@dataclass(frozen=True)
class Limits:
    timeout: int = TIMEOUT_DEFAULT_MS
    memory: int = MEMORY_DEFAULT_MB
    logs: int = LOGS_DEFAULT_MB
    concurrency: int = CONCURRENCY_DEFAULT

    @classmethod
    def parse(cls, body: Any, base: "Limits | None" = None) -> "Limits":
        """Validate a PUT's limits with OpenWhisk's texts; missing limits keep the base's values."""
        base = base or cls()
        if body is None:
            return base
        if not isinstance(body, dict):
            raise EntityError(400, malformed("limits must be an object"))
        timeout = _bounded(body, "timeout", base.timeout, TIMEOUT_MIN_MS, TIMEOUT_MAX_MS, "time",
                           lambda v: f"duration {v} milliseconds", "milliseconds")
        memory = _bounded(body, "memory", base.memory, MEMORY_MIN_MB, MEMORY_MAX_MB, "memory",
                          lambda v: f"memory {v} MB", "MB")
        logs = _bounded(body, "logs", base.logs, LOGS_MIN_MB, LOGS_MAX_MB, "log size",
                        lambda v: f"log size {v} MB", "MB")
        concurrency = _bounded(body, "concurrency", base.concurrency, CONCURRENCY_MIN, CONCURRENCY_MAX,
                               "concurrency", lambda v: f"concurrency {v}", "")
        return cls(timeout, memory, logs, concurrency)

    def to_json(self) -> dict[str, int]:
        return {"timeout": self.timeout, "memory": self.memory, "logs": self.logs,
                "concurrency": self.concurrency}


def _key_values(body: Any, what: str) -> list[dict[str, Any]]:
    if body is None:
        return []
    if not isinstance(body, list) or not all(
        isinstance(p, dict) and isinstance(p.get("key"), str) and "value" in p for p in body
    ):
        raise EntityError(400, malformed(f"{what} must be a list of key-value pairs"))
    return [{"key": p["key"], "value": p["value"]} for p in body]


def bump_version(version: str) -> str:
    parts = version.split(".")
    try:
        major, minor, patch = (int(p) for p in parts)
    except ValueError:
        return "0.0.1"
    return f"{major}.{minor}.{patch + 1}"


@dataclass
class Action:
    namespace: str
    name: str
    exec: dict[str, Any]
    version: str = "0.0.1"
    publish: bool = False
    parameters: list[dict[str, Any]] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    updated: int = 0

    @property
    def path(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def kind(self) -> str:
        return self.exec["kind"]

    def param_dict(self) -> dict[str, Any]:
        return {p["key"]: p["value"] for p in self.parameters}

    def annotation(self, key: str, default: Any = None) -> Any:
        for a in self.annotations:
            if a["key"] == key:
                return a["value"]
        return default

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
        """Build the stored action from a PUT body: validate everything, merge over an existing one."""
        if not isinstance(body, dict):
            raise EntityError(400, malformed("the request body must be a JSON object"))
        exec_ = _parse_exec(body.get("exec"), existing)
        parameters = (_key_values(body["parameters"], "parameters") if "parameters" in body
                      else (existing.parameters if existing else []))
        size = len(json.dumps(parameters, separators=(",", ":")).encode())
        if size > MAX_PARAMETERS:
            raise EntityError(413, entity_too_big("Parameters", size, MAX_PARAMETERS))
        limits = Limits.parse(body.get("limits"), existing.limits if existing else None)
        annotations = (_key_values(body["annotations"], "annotations") if "annotations" in body
                       else (existing.annotations if existing else []))
        annotations = [a for a in annotations if a["key"] != "exec"] + [{"key": "exec", "value": exec_["kind"]}]
        publish = body.get("publish", existing.publish if existing else False)
        if not isinstance(publish, bool):
            raise EntityError(400, malformed("publish must be a boolean"))
        if existing:
            version = bump_version(existing.version)
        else:
            version = body.get("version", "0.0.1")
            if not isinstance(version, str) or not re.fullmatch(r"\d+\.\d+\.\d+", version):
                raise EntityError(400, malformed("version must be of the form major.minor.patch"))
        return cls(namespace, name, exec_, version, publish, parameters, limits, annotations, now_ms())


def _parse_exec(body: Any, existing: Action | None) -> dict[str, Any]:
    if body is None:
        if existing is None:
            raise EntityError(400, malformed("exec undefined"))
        return existing.exec
    if not isinstance(body, dict) or not isinstance(body.get("kind"), str):
        raise EntityError(400, malformed("exec must be an object with a kind"))
    kind = body["kind"]
    if kind == "python":
        kind = DEFAULT_KIND
    if kind not in KINDS:
        raise EntityError(400, malformed(f"kind '{kind}' not in Set({', '.join(sorted(KINDS))})"))
    code = body.get("code")
    if not isinstance(code, str):
        raise EntityError(400, malformed("exec.code must be a string"))
    if len(code.encode()) > MAX_CODE:
        raise EntityError(413, entity_too_big("Code", len(code.encode()), MAX_CODE))
    binary = body.get("binary", False)
    if not isinstance(binary, bool):
        raise EntityError(400, malformed("exec.binary must be a boolean"))
    if binary:
        import base64
        import binascii
        try:
            base64.b64decode(code, validate=True)
        except (binascii.Error, ValueError):
            raise EntityError(400, malformed("exec.code is not valid base64 for a binary action")) from None
    main = body.get("main", "main")
    if not isinstance(main, str) or not main.isidentifier():
        raise EntityError(400, malformed("exec.main must be the name of a function"))
    return {"kind": kind, "code": code, "binary": binary, "main": main}


# --- activations ----------------------------------------------------------------------------------

SUCCESS = "success"
APPLICATION_ERROR = "application error"
DEVELOPER_ERROR = "action developer error"
INTERNAL_ERROR = "whisk internal error"
PENDING = "pending"

STATUS_CODES = {SUCCESS: 0, APPLICATION_ERROR: 1, DEVELOPER_ERROR: 2, INTERNAL_ERROR: 3}


def response(status: str, result: Any) -> dict[str, Any]:
    return {"status": status, "statusCode": STATUS_CODES[status], "success": status == SUCCESS,
            "result": result}


def activation_record(
    *, namespace: str, name: str, subject: str, activation_id: str, version: str, start: int,
    end: int, status: str, result: Any, logs: list[str], kind: str, limits: dict[str, int],
    wait_time: int | None = None, init_time: int | None = None, timed_out_: bool = False,
    path: str | None = None,
) -> dict[str, Any]:
    annotations: list[dict[str, Any]] = [
        {"key": "path", "value": path or f"{namespace}/{name}"},
        {"key": "kind", "value": kind},
        {"key": "limits", "value": limits},
        {"key": "timeout", "value": timed_out_},
    ]
    if wait_time is not None:
        annotations.append({"key": "waitTime", "value": wait_time})
    if init_time is not None:
        annotations.append({"key": "initTime", "value": init_time})
    return {
        "namespace": namespace, "name": name, "subject": subject, "activationId": activation_id,
        "start": start, "end": end, "duration": max(0, end - start),
        "response": response(status, result), "logs": logs, "version": version, "publish": False,
        "annotations": annotations,
    }
