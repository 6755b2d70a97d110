"""Sizes and per-action limits of the OpenWhisk contract, with OpenWhisk's texts for out-of-range values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .errors import EntityError, malformed

KB = 1024
MB = 1024 * 1024

MAX_PAYLOAD = 1 * MB  # invoke body and action result
MAX_PARAMETERS = 1 * MB
MAX_CODE = 48 * MB
MAX_ACTION_PUT = MAX_CODE + MAX_PARAMETERS + 64 * KB  # the whole PUT body: code, parameters, metadata
MAX_ENTITY_PUT = MAX_PARAMETERS + 64 * KB  # a package (or any entity without code)

TIMEOUT_MIN_MS, TIMEOUT_MAX_MS, TIMEOUT_DEFAULT_MS = 100, 300_000, 60_000
MEMORY_MIN_MB, MEMORY_MAX_MB, MEMORY_DEFAULT_MB = 128, 512, 256
LOGS_MIN_MB, LOGS_MAX_MB, LOGS_DEFAULT_MB = 0, 10, 10
CONCURRENCY_MIN, CONCURRENCY_MAX, CONCURRENCY_DEFAULT = 1, 1, 1

DEFAULT_INVOCATIONS_PER_MINUTE = 60
DEFAULT_CONCURRENT_INVOCATIONS = 30
DEFAULT_FIRES_PER_MINUTE = 60

BLOCKING_WAIT_DEFAULT_MS = 60_000


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


def action_limits_doc() -> dict[str, int]:
    """The bounds a namespace's limits document reports beside its throttles."""
    return {
        "minActionMemory": MEMORY_MIN_MB * MB, "maxActionMemory": MEMORY_MAX_MB * MB,
        "minActionTimeout": TIMEOUT_MIN_MS, "maxActionTimeout": TIMEOUT_MAX_MS,
        "minActionLogs": LOGS_MIN_MB * MB, "maxActionLogs": LOGS_MAX_MB * MB,
        "maxActionConcurrency": CONCURRENCY_MAX, "maxParameterSize": MAX_PARAMETERS,
        "maxPayloadSize": MAX_PAYLOAD,
    }
