"""Firing a trigger: the namespace's fire throttle, the trigger's activation record, and each
active rule's action run once, even across a crash.

A fire answered 202 is one transaction: the trigger's activation record (its logs name the
activation id each rule's action will have) and the plan of those runs. The runs start at once;
the plan is deleted when each of them has a record. A controller that starts again runs what a
plan names and has no record yet, so every id in a trigger's logs resolves to a record.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import TYPE_CHECKING, Any, Sequence

from .. import errors as X
from ..activations import DEVELOPER_ERROR, INTERNAL_ERROR, SUCCESS, new_activation_id, now_ms, response
from ..errors import EntityError
from ..names import parse_fqn
from ..store import Identity
from ..store.events import Statement
from ..throttle import FireThrottle
from .documents import Rule, Trigger

if TYPE_CHECKING:
    from ..controller import Controller

log = logging.getLogger("squall.events")

MAX_DELIVERING = 1_000  # fires being delivered at once; a feed waits for room beyond that
RETRY_S = 60.0  # a rule's action refused for the namespace's throttles, or for want of an invoker, is retried this long
TRIGGER_KIND = "trigger"


def rule_inactive(rule: str, action: str) -> str:
    return f"Rule '{rule}' is inactive, action '{action}' was not activated."


def _entry(rule: Rule, activation_id: str | None = None, error: str | None = None,
           http_status: int = 400) -> dict[str, Any]:
    """One line of a trigger activation's logs, as OpenWhisk writes it (statusCode 1 for what the
    caller could mend, 3 for the system's failure)."""
    if error is None:
        return {"statusCode": 0, "success": True, "activationId": activation_id, "rule": rule.key,
                "action": str(rule.action).lstrip("/")}
    return {"statusCode": 3 if http_status >= 500 else 1, "success": False, "error": error,
            "rule": rule.key, "action": str(rule.action).lstrip("/")}


class Firing:
    def __init__(self, ctl: "Controller") -> None:
        self.ctl = ctl
        self.throttle = FireThrottle()
        self._deliveries: set[asyncio.Task[None]] = set()

    async def fire(self, who: Identity, trigger: Trigger, params: dict[str, Any],
                   also: Sequence[Statement] = ()) -> str | None:
        """Fire `trigger` as its owner `who`: the trigger activation's id, or None (no active rule:
        nothing is recorded). `also`: statements that must commit with the fire (a feed's progress)."""
        self.throttle.check(who)
        rules = self.ctl.events.registry.rules_of(trigger.fqn)
        if not any(r.active for r in rules):
            if also:
                await self.ctl.store.atomic(list(also))
            return None
        payload = {**trigger.param_dict(), **params}  # what the actions get; the record keeps what was sent
        fire_id = new_activation_id()
        start = now_ms()
        logs: list[str] = []
        runs: list[dict[str, Any]] = []
        for rule in rules:
            if not rule.active:
                entry = _entry(rule, error=rule_inactive(rule.key, str(rule.action).lstrip("/")))
            else:
                try:
                    await self.ctl.registry.resolve(who, rule.action)
                except EntityError as ex:
                    entry = _entry(rule, error=ex.message, http_status=ex.status)
                else:
                    entry = _entry(rule, new_activation_id())
                    runs.append({"rule": rule.key, "action": str(rule.action), "activationId": entry["activationId"]})
            logs.append(json.dumps(entry, separators=(",", ":")))
        record = {
            "namespace": who.namespace, "name": trigger.name, "subject": who.namespace,
            "activationId": fire_id, "start": start, "end": start, "duration": 0,
            "response": response(SUCCESS, params), "logs": logs, "version": trigger.version,
            "publish": False, "annotations": [{"key": "path", "value": f"{who.namespace}/{trigger.name}"},
                                              {"key": "kind", "value": TRIGGER_KIND}],
        }
        plan = {"id": fire_id, "namespace": who.namespace, "trigger": trigger.name, "payload": payload,
                "runs": runs} if runs else None
        await self.ctl.store.add_fire(record, plan, also)
        self.ctl.metrics.account(record)
        if plan is not None:
            self._spawn(self.deliver(plan))
        return fire_id

    async def room(self) -> None:
        """Wait until fewer than MAX_DELIVERING fires are being delivered (a feed's back pressure)."""
        while len(self._deliveries) >= MAX_DELIVERING:
            await asyncio.sleep(0.01)

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def replay(self) -> None:
        """At start: what an earlier run accepted and had not yet run."""
        plans = await self.ctl.store.undelivered_fires()
        for plan in plans:
            self._spawn(self.deliver(plan, replayed=True))
        if plans:
            log.warning("delivering %d trigger fire(s) an earlier run had accepted", len(plans))

    async def deliver(self, plan: dict[str, Any], replayed: bool = False) -> None:
        owner = self.ctl.identity(plan["namespace"])
        runs = plan["runs"]
        if replayed:
            runs = [r for r in runs if not await self.ctl.store.has_activation(r["activationId"])]
        if owner is not None:
            await asyncio.gather(*(self._run(owner, run, plan) for run in runs))
        else:  # the namespace is gone: its runs end with a record all the same
            for run in runs:
                await self._unrun(plan, run, X.RESOURCE_DOES_NOT_EXIST, INTERNAL_ERROR)
        await self.ctl.store.fire_delivered(plan["id"])

    async def _run(self, owner: Identity, run: dict[str, Any], plan: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RETRY_S
        delay = 0.01
        fqn = parse_fqn(run["action"], owner.namespace)
        while True:
            try:
                if fqn is None:
                    raise EntityError(404, X.RESOURCE_DOES_NOT_EXIST)
                target = await self.ctl.registry.resolve(owner, fqn)
                await self.ctl.activate(owner, target, plan["payload"], activation_id=run["activationId"])
                return
            except EntityError as ex:
                if ex.status in (429, 503) and loop.time() < deadline:
                    await asyncio.sleep(delay)
                    delay = min(1.0, delay * 2)
                    continue
                await self._unrun(plan, run, ex.message, INTERNAL_ERROR if ex.status >= 500 else DEVELOPER_ERROR)
                return
            except Exception:
                log.exception("trigger %s: rule %s could not activate %s", plan["trigger"], run["rule"], run["action"])
                await self._unrun(plan, run, X.UNEXPECTED, INTERNAL_ERROR)
                return

    async def _unrun(self, plan: dict[str, Any], run: dict[str, Any], message: str, status: str) -> None:
        """The record of a rule's action that could not be started (its id is in the trigger's logs)."""
        fqn = parse_fqn(run["action"], plan["namespace"])
        now = now_ms()
        name = fqn.name if fqn else run["action"]
        record = {
            "namespace": plan["namespace"], "name": name, "subject": plan["namespace"],
            "activationId": run["activationId"], "start": now, "end": now, "duration": 0,
            "response": response(status, {"error": message}), "logs": [], "version": "0.0.0",
            "publish": False, "annotations": [{"key": "path", "value": str(fqn).lstrip("/") if fqn else name}],
        }
        if await self.ctl.store.add_record(record):
            self.ctl.metrics.account(record)
        log.warning("trigger %s: rule %s did not activate %s: %s", plan["trigger"], run["rule"], run["action"], message)

    async def stop(self) -> None:
        """What is still being delivered stays in its plan for the next start."""
        for task in list(self._deliveries):
            task.cancel()
        await asyncio.gather(*self._deliveries, return_exceptions=True)
