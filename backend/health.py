"""OpenWhisk's health test actions: an invoker that still pings but counts as unhealthy or
unresponsive gets no user work, so nothing would ever show it has recovered. The controller sends
it a no-op test activation every second instead; their outcomes are what make it healthy again.

Test activations leave no record and hold no namespace's slots.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING

from .activations import new_activation_id, now_ms
from .entities import Action
from .kinds import DEFAULT_KIND
from .limits import MEMORY_MIN_MB, Limits
from .loadbalancer import UNHEALTHY, UNRESPONSIVE
from .messages import ActivationMessage
from .names import SYSTEM_NAMESPACE

if TYPE_CHECKING:
    from .controller import Controller

log = logging.getLogger("squall.health")

PROBE_INTERVAL_S = 1.0
PROBE_TIMEOUT_MS = 10_000
NO_OP = "def main(args):\n    return args\n"


def health_action(controller_id: int) -> Action:
    """The test action, as OpenWhisk names it; it lives in no store, only in its messages."""
    return Action(SYSTEM_NAMESPACE, f"invokerHealthTestAction{controller_id}",
                  {"kind": DEFAULT_KIND, "code": NO_OP, "binary": False, "main": "main"},
                  limits=Limits(timeout=PROBE_TIMEOUT_MS, memory=MEMORY_MIN_MB))


class HealthProbes:
    def __init__(self, ctl: "Controller") -> None:
        self.ctl = ctl
        self.action = health_action(ctl.id)
        self._last: dict[int, str] = {}  # invoker -> its probe in flight

    async def run(self) -> None:
        while True:
            await asyncio.sleep(PROBE_INTERVAL_S)
            try:
                await self.probe_once()
            except Exception:
                log.exception("could not send a health test action")

    async def probe_once(self) -> None:
        lb = self.ctl.lb
        now = time.monotonic()
        for invoker in list(lb.invokers.values()):
            if invoker.state(now) not in (UNHEALTHY, UNRESPONSIVE) or self._last.get(invoker.id) in lb.inflight:
                continue
            message = ActivationMessage(
                transid=uuid.uuid4().hex, activation_id=new_activation_id(), namespace=SYSTEM_NAMESPACE,
                name=self.action.name, version=self.action.version, subject=SYSTEM_NAMESPACE, blocking=True,
                controller=self.ctl.id, accepted=now_ms(), content={}, action=self.action.to_json(),
                path=self.action.path)
            self._last[invoker.id] = message.activation_id
            await lb.publish(message, invoker, MEMORY_MIN_MB, PROBE_TIMEOUT_MS, {}, counted=False, probe=True)
