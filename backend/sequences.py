"""Sequences, run by the controller as OpenWhisk's conductor does: each component's result is the
next one's parameters; the first failure ends the sequence with that component's response.

The sequence gets an activation record of its own (its logs are the components' activation ids),
recorded pending when accepted like any activation, so a crash mid-sequence still resolves its id.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import errors as X
from .activations import (
    APPLICATION_ERROR, INTERNAL_ERROR, SUCCESS, new_activation_id, now_ms, response,
)
from .errors import EntityError, malformed
from .kinds import SEQUENCE
from .names import OWN_NAMESPACE, EntityName, valid_name
from .registry import Registry, Resolved, forbidden, owns
from .store import Identity

if TYPE_CHECKING:
    from .controller import Controller

log = logging.getLogger("squall.sequences")

MAX_ATOMIC_ACTIONS = 50
TOO_LONG = "Too many actions in the sequence."
NO_COMPONENT = "No component specified for the sequence."
CYCLIC = "Sequence may not refer to itself."
COMPONENT_MISSING = "Sequence component does not exist."
FAILED = "Sequence failed."
MALFORMED_NAME = ("The fully qualified name of the entity must contain at least the namespace "
                  "and the name of the entity.")


def parse_component(text: str, own_namespace: str) -> EntityName:
    """`/ns/name` or `/ns/pkg/name` (the leading slash optional, `_` one's own namespace)."""
    parts = [p for p in text.split("/") if p]
    if len(parts) < 2:
        raise EntityError(400, malformed(f"requirement failed: {MALFORMED_NAME}"))
    if len(parts) > 3 or not all(valid_name(p) for p in parts[1:]) or \
            not (parts[0] == OWN_NAMESPACE or valid_name(parts[0])):
        raise EntityError(400, X.NAME_ILLEGAL)
    namespace = own_namespace if parts[0] == OWN_NAMESPACE else parts[0]
    return EntityName(namespace, parts[1] if len(parts) == 3 else None, parts[-1])


async def validate(registry: Registry, who: Identity, sequence: EntityName, body: Any) -> list[str] | None:
    """The components of a sequence PUT, qualified, after OpenWhisk's checks (rights, length,
    existence, cycles); None when the body is no sequence."""
    exec_ = body.get("exec") if isinstance(body, dict) else None
    if not isinstance(exec_, dict) or exec_.get("kind") != SEQUENCE:
        return None
    raw = exec_.get("components")
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        raise EntityError(400, malformed("'components' must be an array"))
    names = [parse_component(c, who.namespace) for c in raw]
    await check_rights(registry, who, names)
    if len(names) > MAX_ATOMIC_ACTIONS:
        raise EntityError(400, TOO_LONG)
    if not names:
        raise EntityError(400, NO_COMPONENT)
    origin = await _real_name(registry, sequence)
    await _count_atomic(registry, origin, names, 0)
    return [str(n) for n in names]


async def check_rights(registry: Registry, who: Identity, names: list[EntityName]) -> None:
    """The caller may read (and so invoke) every component; else one 403 naming all it may not."""
    denied = sorted({d for n in names if (d := await _denied(registry, who, n))})
    if denied:
        raise forbidden(", ".join(denied))


async def _denied(registry: Registry, who: Identity, name: EntityName) -> str | None:
    """The resource the caller may not read, if that is so of this component."""
    if name.package is None:
        return None if owns(who, name.namespace) else f"{name.namespace}/{name.name}"
    try:
        await registry.readable_package(who, name.namespace, name.package)
    except EntityError as ex:
        if ex.status == 403:
            return f"{name.namespace}/{name.package}"
    return None


async def _real_name(registry: Registry, name: EntityName) -> EntityName:
    """The name behind a binding, so that a cycle through a binding is seen."""
    if name.package is not None:
        package = await registry.package(name.namespace, name.package)
        if package is not None and package.binding is not None:
            return EntityName(package.binding.namespace, package.binding.name, name.name)
    return name


async def _count_atomic(registry: Registry, origin: EntityName, names: list[EntityName], depth: int) -> int:
    total = 0
    for name in names:
        try:
            resolved = await registry.resolve(None, name)
        except EntityError as ex:
            if ex.status in (403, 404, 409):
                raise EntityError(400, COMPONENT_MISSING) from None
            raise
        if resolved.action.fqn == origin:
            raise EntityError(400, CYCLIC)
        if resolved.action.is_sequence:
            inner = [parse_component(c, name.namespace) for c in resolved.action.components]
            if len(inner) > MAX_ATOMIC_ACTIONS or depth >= MAX_ATOMIC_ACTIONS:
                raise EntityError(400, TOO_LONG)
            total += await _count_atomic(registry, origin, inner, depth + 1)
        else:
            total += 1
        if total > MAX_ATOMIC_ACTIONS:
            raise EntityError(400, TOO_LONG)
    return total


@dataclass
class _Run:
    """One top-level sequence's budget of atomic actions, shared with the sequences inside it."""

    atomic: int = 0


class Conductor:
    def __init__(self, ctl: "Controller") -> None:
        self.ctl = ctl

    async def check_components(self, who: Identity, sequence: Resolved) -> None:
        """Before a sequence is accepted: the caller may invoke each of its direct components."""
        names = [parse_component(c, who.namespace) for c in sequence.action.components]
        await check_rights(self.ctl.registry, who, names)

    async def run(self, who: Identity, sequence: Resolved, params: dict[str, Any], activation_id: str,
                  accepted: int, cause: str | None = None, budget: _Run | None = None) -> dict[str, Any]:
        """Run the components in turn; store and return the sequence's record."""
        top = budget is None
        budget = budget or _Run()
        start = now_ms()
        ids: list[str] = []
        durations = 0
        memory = 0
        result: dict[str, Any] = response(SUCCESS, params)
        try:
            for component in sequence.action.components:
                if budget.atomic >= MAX_ATOMIC_ACTIONS:
                    result = response(APPLICATION_ERROR, {"error": TOO_LONG})
                    break
                try:
                    target = await self.ctl.registry.resolve(None, parse_component(component, who.namespace))
                except EntityError:
                    result = response(APPLICATION_ERROR, {"error": COMPONENT_MISSING})
                    break
                record = await self._component(who, target, result["result"], activation_id, budget)
                if record is None:
                    result = response(INTERNAL_ERROR, {"error": FAILED})
                    break
                ids.append(record["activationId"])
                durations += record.get("duration", 0)
                memory = max(memory, _memory(record))
                result = record["response"]
                if not isinstance(result.get("result"), dict) or "error" in result["result"] \
                        or result["status"] != SUCCESS:
                    break
        except asyncio.CancelledError:
            result = response(INTERNAL_ERROR, {"error": X.LOST_AT_SHUTDOWN})
            raise
        except Exception:
            log.exception("sequence %s failed", activation_id)
            result = response(INTERNAL_ERROR, {"error": FAILED})
        finally:
            record = self._record(who, sequence, activation_id, start, ids, durations, memory, result,
                                  top, cause, max(0, start - accepted))
            await self.ctl.store_record(record)
        return record

    async def _component(self, who: Identity, target: Resolved, params: dict[str, Any], parent: str,
                         budget: _Run) -> dict[str, Any] | None:
        """Run one component to its record; None when it could not be started at all."""
        if target.action.is_sequence:
            activation_id = new_activation_id()
            accepted = now_ms()
            await self.ctl.record_pending(who, target, activation_id, accepted, cause=parent)
            return await self.run(who, target, params, activation_id, accepted, parent, budget)
        budget.atomic += 1
        try:
            accepted = await self.ctl.invoke_action(who, target, {**target.parameters, **params},
                                                    cause=parent)
        except EntityError as ex:
            log.warning("sequence %s: a component could not be invoked: %s", parent, ex.message)
            return None
        return await asyncio.shield(accepted.done)

    def _record(self, who: Identity, sequence: Resolved, activation_id: str, start: int, ids: list[str],
                durations: int, memory: int, result: dict[str, Any], top: bool, cause: str | None,
                wait_time: int) -> dict[str, Any]:
        action = sequence.action
        limits = {**action.limits.to_json(), "memory": memory or action.limits.memory}
        annotations: list[dict[str, Any]] = [{"key": "topmost", "value": top},
                                             {"key": "path", "value": action.path},
                                             {"key": "kind", "value": SEQUENCE}]
        if not top:
            annotations.append({"key": "causedBy", "value": SEQUENCE})
        annotations.append({"key": "waitTime", "value": wait_time})
        if sequence.binding:
            annotations.append({"key": "binding", "value": sequence.binding})
        annotations.append({"key": "limits", "value": limits})
        record: dict[str, Any] = {
            "namespace": who.namespace, "name": action.name, "subject": who.namespace,
            "activationId": activation_id, "start": start, "end": now_ms(), "duration": durations,
            "response": result, "logs": ids, "version": action.version, "publish": False,
            "annotations": annotations,
        }
        if cause is not None:
            record["cause"] = cause
        return record


def _memory(record: dict[str, Any]) -> int:
    for a in record.get("annotations", []):
        if a["key"] == "limits" and isinstance(a["value"], dict):
            return int(a["value"].get("memory", 0))
    return 0

