"""When an invoker dies (on a durable bus): what it never started runs on another invoker, once; what
it had started ends as a whisk internal error that says so; and its next incarnation runs nothing
that was moved away.

How the controller knows: an invoker sends a start notice (StartMessage) before the action's code
runs, and commits its topic's offsets only past what it started, so whatever it had not started is
still in its topic for a next incarnation to read. Every incarnation of an invoker announces itself
in its pings and takes no work until the controller welcomes it with the activations it must skip:
those moved to other invokers, and those an earlier incarnation started (a start notice names
where the message was in the topic; whatever started behind the group's committed offset cannot
come again, so the controller forgets it).

An invoker is lost when its pings are late and the bus says its consumers have left their group (a
crashed process's do after the bus's session timeout), or at once when a new incarnation pings (a
restart): then what it had not started stays for the new incarnation, and is not moved. Silence
alone (OFFLINE_AFTER_S) only stops new work going to it: the bus may be away, or this controller
reading late, and a live invoker's work must not be moved or ended.

A restarted controller takes over what its earlier run left pending: it reads the completions
waiting on its topic before it serves, and what is still in flight waits for its invoker, which
must show up within OFFLINE_AFTER_S (what it had started is then unknown, so a lost one ends).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import TYPE_CHECKING

from . import errors as X
from .loadbalancer import OFFLINE, OFFLINE_AFTER_S, Inflight, NoInvokers
from .activations import now_ms, pending_failure
from .bus import Consumer, control_topic, invoker_topic
from .kinds import SEQUENCE
from .messages import ActivationMessage, PingMessage, StartMessage

if TYPE_CHECKING:
    from .controller import Controller

log = logging.getLogger("squall.failover")

CHECK_INTERVAL_S = 1.0
LATE_S = 2.0  # a ping this late makes the controller ask whether the invoker's consumers are still there
CATCH_UP_S = 30.0  # at most this long, a restarted controller reads waiting completions before it serves
CATCH_UP_NOTICES_S = 3.0  # at most this long, it reads what a lost invoker sent before it judges
FORGET_EVERY_S = 5.0  # how often started activations behind an invoker's committed offsets are forgotten
STARTED_MAX = 200_000  # per invoker, while the bus cannot say what is committed
INVOKER_LOST = "The activation's invoker was lost while it ran the action."


class Failover:
    def __init__(self, ctl: "Controller") -> None:
        self.ctl = ctl
        self.incarnations: dict[int, str] = {}
        self.skip: dict[int, set[str]] = {}  # invoker -> what its next incarnation must not run
        # invoker -> activation id -> (partition, offset) of what it started that its topic may deliver again
        self.started: dict[int, dict[str, tuple[int, int]]] = {}
        self._forgotten_at = time.monotonic()
        self.started_at = time.monotonic()
        self.completions: Consumer | None = None  # the controller's, once it started

    # --- what invokers say --------------------------------------------------------------------

    async def on_ping(self, ping: PingMessage) -> None:
        if not self.ctl.bus.durable or not ping.incarnation:
            return
        known = self.incarnations.get(ping.invoker)
        if known == ping.incarnation:
            return
        self.incarnations[ping.invoker] = ping.incarnation
        if known is not None:
            log.warning("invoker%d started again (incarnation %s)", ping.invoker, ping.incarnation[:8])
            await self.lost(ping.invoker, restarted=True, running=set(ping.running))
        await self.forget_committed(ping.invoker)
        skip = sorted(self.skip.pop(ping.invoker, set()) | set(self.started.get(ping.invoker, {})))
        welcome = {"kind": "welcome", "incarnation": ping.incarnation, "skip": skip}
        await self.ctl.bus.publish(control_topic(ping.invoker), json.dumps(welcome).encode())

    def on_start(self, start: StartMessage) -> None:
        if start.offset >= 0:
            started = self.started.setdefault(start.invoker, {})
            started[start.activation_id] = (start.partition, start.offset)
            if len(started) > STARTED_MAX:
                del started[next(iter(started))]
        entry = self.ctl.lb.inflight.get(start.activation_id)
        if entry is None:
            return
        if entry.invoker != start.invoker:
            log.warning("invoker%d announced activation %s after it had moved to invoker%d (it will not run it)",
                        start.invoker, start.activation_id, entry.invoker)
            return
        entry.started = True

    # --- a controller's restart -----------------------------------------------------------------

    async def take_over(self) -> None:
        """An earlier run's activations on a durable bus may still complete: they are in flight
        again (their completions may be waiting on the topic, or their invokers still running
        them); the failover ends those whose invoker does not show up. Sequences cannot go on."""
        taken = ended = 0
        for activation_id, meta in await self.ctl.store.pending_activations():
            if meta.get("kind") == SEQUENCE or "invoker" not in meta:
                await self.ctl.store.complete(pending_failure(activation_id, meta, now_ms(), X.LOST_IN_CRASH))
                ended += 1
                continue
            message = ActivationMessage(
                transid="", activation_id=activation_id, namespace=meta["namespace"], name=meta["name"],
                version=meta["version"], subject=meta["subject"], blocking=True, controller=self.ctl.id,
                accepted=meta["start"], content={}, action={}, path=meta.get("path", ""))
            self.ctl.lb.restore(message, meta["invoker"], meta["limits"]["memory"], meta["limits"]["timeout"], meta)
            taken += 1
        if taken or ended:
            log.warning("took over %d activations an earlier run left in flight; ended %d that cannot go on",
                        taken, ended)

    async def catch_up(self, bound_s: float = CATCH_UP_S) -> None:
        """Read what waits on the completion topic (bounded): the completions waiting for a
        restarted controller before it serves, and an invoker's start notices before the
        controller judges which of its activations had started."""
        if self.completions is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + bound_s
        while await self.completions.backlog() and loop.time() < deadline:
            await asyncio.sleep(0.05)
        await self.ctl.completions_stored()  # handed out is not yet stored: each goes on in a task

    # --- losing an invoker --------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            await asyncio.sleep(CHECK_INTERVAL_S)
            try:
                await self.check()
            except Exception:
                log.exception("could not resolve the activations of a lost invoker")

    async def forget_committed(self, invoker_id: int) -> None:
        """Forget what started behind the invoker group's committed offsets: it is not delivered again."""
        started = self.started.get(invoker_id)
        if not started:
            return
        committed = await self.ctl.bus.committed(invoker_topic(invoker_id), f"invoker{invoker_id}")
        if committed is None:
            return
        for activation_id, (partition, offset) in list(started.items()):
            if offset < committed.get(partition, 0):
                del started[activation_id]

    async def check(self) -> None:
        if not self.ctl.bus.durable:
            return
        lb = self.ctl.lb
        now = time.monotonic()
        if now - self._forgotten_at > FORGET_EVERY_S:
            self._forgotten_at = now
            for invoker_id in list(self.started):
                await self.forget_committed(invoker_id)
        for invoker_id in sorted({e.invoker for e in lb.inflight.values()}):
            health = lb.invokers.get(invoker_id)
            silent = now - (self.started_at if health is None else health.last_ping)
            # Late pings alone prove nothing (the bus may be away, or this controller reading late):
            # it is lost when the bus says its consumers have left their group, as a dead process's
            # do after the session timeout. While the bus cannot say, it waits (the forced ack is
            # the last resort).
            if silent > (OFFLINE_AFTER_S if health is None else LATE_S) and \
                    await self.ctl.bus.members(f"invoker{invoker_id}") == 0:
                await self.lost(invoker_id, restarted=False)

    async def lost(self, invoker_id: int, *, restarted: bool,
                   running: frozenset[str] | set[str] = frozenset()) -> None:
        """Resolve what was assigned to an invoker that is gone (or came back as a new incarnation,
        still running `running`)."""
        lb = self.ctl.lb
        if not restarted:
            lb.mark_offline(invoker_id)  # what callers send now goes straight to the others
        # What it sent before it went (start notices, completions) must count: they come on
        # another topic than its pings, so they may still wait there.
        await self.catch_up(CATCH_UP_NOTICES_S)
        skip = self.skip.setdefault(invoker_id, set())
        for activation_id, entry in list(lb.inflight.items()):
            if entry.invoker != invoker_id or activation_id in running:
                continue
            if entry.probe:
                lb.release(activation_id)
            elif entry.started or (entry.restored and not restarted):
                if lb.release(activation_id) is not None:
                    skip.add(activation_id)
                    await self.ctl.finish_without_result(entry, INVOKER_LOST if entry.started else X.LOST_IN_CRASH)
            elif not restarted and not entry.restored:
                if await self.move(entry):
                    skip.add(activation_id)

    async def move(self, entry: Inflight) -> bool:
        lb = self.ctl.lb
        try:
            action = entry.message.action
            target = lb.choose(action["namespace"], action["name"], entry.memory_mb)
        except NoInvokers:
            return False  # the next check tries again; the forced ack is the last resort
        if target.id == entry.invoker or target.state(time.monotonic()) == OFFLINE:
            return False
        log.info("activation %s moves from lost invoker%d to invoker%d", entry.message.activation_id,
                 entry.invoker, target.id)
        entry.meta["invoker"] = target.id
        await lb.reassign(entry, target)
        await self.ctl.store.update_pending(entry.message.activation_id, entry.meta)
        return True

