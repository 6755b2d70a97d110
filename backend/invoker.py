"""The invoker: takes activation messages off its bus topic, runs them in pooled containers, and
sends each completion (with the whole activation record) back to the controller that asked.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from dataclasses import dataclass
from typing import Any

from . import errors as X
from .activations import DEVELOPER_ERROR, INTERNAL_ERROR, now_ms
from .entities import Action, ActionCache
from .incarnation import Incarnation, MovedAway
from .jsontext import loads
from .limits import MB, MEMORY_MIN_MB
from .busypoll import BusyPoll
from .bus import (HEALTH_TOPIC, Bus, Consumer, Delivery, Message, completed_topic, control_topic, deliver,
                  invoker_topic)
from .containers import MAX_STARTS, ContainerPool, PooledContainer, ProvisionError
from .messages import ActivationMessage, CompletionMessage, PingMessage, StartMessage
from .outcomes import DEAD_CONTAINER_LOG_WAIT_S, activation_of, failure_of, record_of_run, run_payload
from .runtimes import Container, Runtime, RuntimeUnavailable
from .slots import Slots

log = logging.getLogger("squall.invoker")

PING_INTERVAL_S = 1.0
CHANGE_PING_DELAY_S = 0.05  # pool changes reach the status API this soon, coalesced
COMPLETION_RETRY_S = 300.0  # how long a start notice or completion is retried while the bus is away


class Invoker:
    def __init__(self, invoker_id: int, bus: Bus, runtime: Runtime, *, user_memory_mb: int = 2048,
                 idle_timeout_s: float = 600.0, prewarm: dict[tuple[str, int], int] | None = None,
                 max_starts: int = MAX_STARTS, busy_poll: BusyPoll | None = None,
                 learned_prewarm: bool = False) -> None:
        self.id = invoker_id
        self.busy_poll = busy_poll
        self.bus = bus
        self.runtime = runtime
        self.user_memory_mb = user_memory_mb
        self.pool = ContainerPool(runtime, user_memory_mb=user_memory_mb, idle_timeout_s=idle_timeout_s,
                                  prewarm=prewarm, labels={"squall.invoker": str(invoker_id)},
                                  max_starts=max_starts, learned_prewarm=learned_prewarm)
        # Take no more from the topic than the pool could start on, so queue depth stays meaningful.
        self.max_inflight = max(1, user_memory_mb // MEMORY_MIN_MB)
        self._slots = Slots(self.max_inflight)
        self._running: dict[str, asyncio.Task[None]] = {}
        self._cancel_reason: dict[str, str] = {}
        self._current: dict[str, PooledContainer] = {}  # activation id -> its container
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()
        self._accepting = True
        self._ping_scheduled = False
        self.pool.on_change = self._ping_soon
        self.incarnation = Incarnation(invoker_id, bus.durable)
        self._actions = ActionCache()

    async def start(self) -> None:
        removed = await self.runtime.remove_leftovers(self.id)
        if removed:
            log.info("invoker%d removed %d containers left by an earlier run", self.id, removed)
        await self.pool.start()
        activations = await self.bus.consumer(invoker_topic(self.id), f"invoker{self.id}")
        control = await self.bus.consumer(control_topic(self.id), f"invoker{self.id}")
        await self._ping()
        self._tasks = [
            asyncio.create_task(self._consume(activations)),
            asyncio.create_task(self._consume_control(control)),
            asyncio.create_task(self._ping_loop()),
        ]
        log.info("invoker%d up: runtime %s, %d MB user memory", self.id, self.runtime.name, self.user_memory_mb)

    async def stop(self, grace_s: float = 30.0) -> None:
        """Stop taking work, let running activations finish (or end them with a record), clean up."""
        self._accepting = False
        for task in self._tasks:
            task.cancel()
        running = list(self._running.values())
        if running:
            done, pending = await asyncio.wait(running, timeout=grace_s)
            for activation_id, task in list(self._running.items()):
                if task in pending:
                    self._cancel_reason[activation_id] = X.LOST_AT_SHUTDOWN
                    task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5.0)
        await self.pool.stop()
        await self.runtime.remove_leftovers(self.id)

    # --- status -------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {"userMemory": self.user_memory_mb, "usedMemory": self.pool.used_mb,
                "containers": self.pool.describe(), "running": len(self._running),
                "queued": self.pool.queued, "runtime": self.runtime.name,
                "coldStarts": self.pool.cold_starts, "prewarmStarts": self.pool.prewarm_starts}

    async def _ping(self, running: list[str] | None = None) -> None:
        ping = PingMessage(self.id, self.user_memory_mb, now_ms(), self.status(), incarnation=self.incarnation.id,
                           running=running or [])
        await self.bus.publish(HEALTH_TOPIC, ping)
        self.incarnation.reached_bus()

    def _ping_soon(self) -> None:
        if self._ping_scheduled or not self._accepting:
            return
        self._ping_scheduled = True
        asyncio.get_running_loop().call_later(CHANGE_PING_DELAY_S, self._send_change_ping)

    def _send_change_ping(self) -> None:
        self._ping_scheduled = False
        task = asyncio.create_task(self._ping_quietly())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _ping_quietly(self) -> None:
        try:
            await self._ping()
        except Exception as ex:  # the bus is away; the controller sees the silence
            log.warning("invoker%d could not send its ping: %s", self.id, ex)

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(PING_INTERVAL_S)
            await self._ping_quietly()

    # --- work ---------------------------------------------------------------------------------

    async def _consume(self, consumer: Consumer) -> None:
        """What the bus does not hand over in the controller's own step: a message published
        while every slot but this loop's was busy, or before the welcome (Kafka's: all of it)."""
        await self.incarnation.welcomed.wait()
        consumer.hand_over(functools.partial(self._offered, consumer))
        while self._accepting:
            await self._slots.take()
            try:
                delivery = await consumer.get()
            except BaseException:
                self._slots.release()
                raise
            self._start(consumer, delivery)

    def _offered(self, consumer: Consumer, delivery: Delivery) -> bool:
        """A message as it is published: run in a slot of its own if one is free."""
        if not self._accepting or not self._slots.try_take():
            return False
        self._start(consumer, delivery)
        return True

    def _start(self, consumer: Consumer, delivery: Delivery) -> None:
        """Run a delivery in the slot just taken for it (freed at once if it is not to run)."""
        msg = self._runnable(delivery)
        if msg is None:
            self._slots.release()
            return
        current = [msg.activation_id]  # the slot's activation now; a cancel may come before it starts
        early = self._run_early(msg) if not self.bus.durable else None
        task = asyncio.create_task(self._run_slot(consumer, msg, delivery, current, early))
        self._running[msg.activation_id] = task
        task.add_done_callback(lambda _t, current=current: self._slot_done(current[0]))

    def _slot_done(self, activation_id: str) -> None:
        self._forget(activation_id)
        self._slots.release()

    def _forget(self, activation_id: str) -> None:
        """An activation has ended: no more cancelling it."""
        self._running.pop(activation_id, None)
        self._cancel_reason.pop(activation_id, None)

    def _runnable(self, delivery: Delivery) -> ActivationMessage | None:
        """The activation a delivery carries, or None (acked) when it is not this invoker's to run."""
        try:
            msg = delivery.decoded(ActivationMessage.decode)
        except (ValueError, TypeError, KeyError):
            log.error("invoker%d dropped a malformed activation message", self.id)
            delivery.ack()
            return None
        if not self.incarnation.take(msg.activation_id):
            delivery.ack()
            return None
        return msg

    def _run_early(self, msg: ActivationMessage) -> Early | None:
        """The /run of an activation with an idle warm container, sent before its task begins
        (in the publisher's step): the run overlaps the rest of that step and the loop's turn
        to the task (docs/benchmarks.md, the ninth round). None: it goes the usual way."""
        try:
            action = self._actions.get(msg.action)
        except (KeyError, TypeError, ValueError):
            return None  # its task says what is wrong with it
        c = self.pool.take_warm(f"{action.path}@{action.version}")
        if c is None:
            return None
        self._assign(msg.activation_id, c)
        start = now_ms()
        answer = c.container.run_now(run_payload(msg, action), action.limits.timeout / 1000)
        loop = asyncio.get_running_loop()
        if self.busy_poll is not None and answer is not None:
            self.busy_poll.expect(loop, c.last_run_s)
        return Early(c, start, loop.time(), answer)

    def _assign(self, activation_id: str, c: PooledContainer) -> None:
        """The container an activation now runs in (what a cancel or a status names)."""
        self._current[activation_id] = c
        c.activation_id = activation_id
        c.activations += 1

    async def _run_slot(self, consumer: Consumer, msg: ActivationMessage, delivery: Delivery,
                        current: list[str], early: Early | None = None) -> None:
        """One slot's activations: this one, then each the topic already holds, in this task. The
        container an activation released is then taken up in the same callback: through the slot's
        release, the consume loop and a new task, three turns of the loop lay between one run and
        the next on a container, ~1 ms of each 50 ms cycle under a spike (docs/benchmarks.md)."""
        task = asyncio.current_task()
        assert task is not None
        while True:
            await self._activate(msg, delivery, early)
            early = None
            if not self._accepting or task.cancelling():
                return  # a cancelled task stays cancelled: it takes nothing more
            following = self._following(consumer)
            if following is None:
                return
            self._forget(msg.activation_id)
            msg, delivery = following
            current[0] = msg.activation_id
            self._running[msg.activation_id] = task

    def _following(self, consumer: Consumer) -> tuple[ActivationMessage, Delivery] | None:
        """The next activation the topic holds right now, if any (what is not to run is acked)."""
        while (delivery := consumer.get_nowait()) is not None:
            msg = self._runnable(delivery)
            if msg is not None:
                return msg, delivery
        return None

    async def _consume_control(self, consumer: Any) -> None:
        while True:
            delivery = await consumer.get()
            try:
                command = loads(delivery.data)
                if command.get("kind") == "welcome":
                    self.incarnation.welcome(command)
                elif command.get("kind") == "cancel":
                    self.cancel(command["activation_id"], X.CANCELLED_BY_OPERATOR)
                elif command.get("kind") == "remove-container":
                    await self.remove_container(command["container_id"])
            except Exception:
                log.exception("invoker%d could not carry out a control command", self.id)
            delivery.ack()

    def cancel(self, activation_id: str, reason: str) -> bool:
        task = self._running.get(activation_id)
        if task is None:
            return False
        self._cancel_reason[activation_id] = reason
        if inspect.getcoroutinestate(task.get_coro()) != inspect.CORO_CREATED:
            task.cancel()  # else cancelling it would skip its body and its record: it ends at its start
        return True

    async def remove_container(self, container_id: str) -> bool:
        c = self.pool.containers.get(container_id)
        if c is None:
            return False
        if c.state == "busy" and c.activation_id and self.cancel(c.activation_id, X.CANCELLED_BY_OPERATOR):
            return True  # the cancelled activation destroys its container
        await self.pool.discard(c)
        return True

    async def _activate(self, msg: ActivationMessage, delivery: Delivery, early: Early | None = None) -> None:
        action = self._actions.get(msg.action)
        started = now_ms()
        c: PooledContainer | None = None
        try:
            if msg.activation_id in self._cancel_reason:  # cancelled before its task began (see cancel)
                if early is not None and early.answer is not None:
                    early.answer.cancel()
                raise asyncio.CancelledError()
            record, c, keep = await self._execute(msg, action, delivery, early)
        except MovedAway as moved:  # another invoker runs it: no record from here
            self._current.pop(msg.activation_id, None)
            if moved.container is not None:
                await self.pool.discard(moved.container)
            delivery.ack()
            return
        except asyncio.CancelledError:
            reason = self._cancel_reason.get(msg.activation_id, X.LOST_AT_SHUTDOWN)
            status = DEVELOPER_ERROR if reason == X.CANCELLED_BY_OPERATOR else INTERNAL_ERROR
            record = activation_of(msg, action, started, now_ms(), status, {"error": reason}, [])
            keep = False
            c = self._current.pop(msg.activation_id, None)
        except Exception:
            log.exception("invoker%d failed activation %s", self.id, msg.activation_id)
            record = activation_of(msg, action, started, now_ms(), INTERNAL_ERROR,
                                   {"error": X.PROVISION_ERROR}, [])
            keep = False
            c = self._current.pop(msg.activation_id, None)
        else:
            self._current.pop(msg.activation_id, None)
        if c is not None:
            if keep:
                self.pool.release(c, f"{action.path}@{action.version}")
            else:
                await self.pool.discard(c)
        completion = CompletionMessage(msg.activation_id, self.id,
                                       record["response"]["status"] == INTERNAL_ERROR, record)
        await self._send(completed_topic(msg.controller), completion)
        self.incarnation.started.discard(msg.activation_id)  # running until its completion is out
        delivery.ack()  # ended before it started (no container, cancelled): done with it all the same

    async def _begin(self, msg: ActivationMessage, delivery: Delivery, c: PooledContainer) -> None:
        """Right before the action's body runs (/run): tell the controller, so it is never run
        elsewhere, and let the topic move past it, so a next incarnation does not run it again.
        (A cold container's /init may then run twice, as it does whenever OpenWhisk retries.)"""
        if self.bus.durable:
            if not await self.incarnation.may_start(msg.activation_id, self._ping):
                raise MovedAway(c)
            self.incarnation.started.add(msg.activation_id)
            partition, offset = delivery.position or (-1, -1)
            await self._send(completed_topic(msg.controller),
                             StartMessage(msg.activation_id, self.id, self.incarnation.id,
                                          partition=partition, offset=offset))
            # Paused while its notice was on the way, it may have been given up and moved meanwhile.
            if not await self.incarnation.may_start(msg.activation_id, self._ping):
                self.incarnation.started.discard(msg.activation_id)
                raise MovedAway(c)
        delivery.ack()

    async def _send(self, topic: str, message: Message) -> None:
        """To the controller even across a bus outage; its forced ack is the last resort."""
        await deliver(self.bus, topic, message, COMPLETION_RETRY_S, f"invoker{self.id}")

    async def _execute(self, msg: ActivationMessage, action: Action, delivery: Delivery,
                       early: Early | None = None) -> tuple[dict[str, Any], PooledContainer | None, bool]:
        timeout_s = action.limits.timeout / 1000
        log_limit = action.limits.logs * MB
        if early is not None:  # its /run is on the way (the in-process bus's, not durable: no notice first)
            delivery.ack()
            outcome = await Container.outcome(early.answer)
            early.container.last_run_s = asyncio.get_running_loop().time() - early.sent
            record, keep = await record_of_run(msg, action, early.container.container, outcome, early.start,
                                               max(0, early.start - msg.accepted))
            return record, early.container, keep
        key = f"{action.path}@{action.version}"
        network = bool(action.annotation("network", False))
        try:
            c, cold = await self.pool.acquire(key, action.kind, action.limits.memory, network, action.image)
        except RuntimeUnavailable as ex:  # no language, no image, no isolation for it here: say so
            log.warning("invoker%d: action %s: %s", self.id, action.path, ex)
            now = now_ms()
            return activation_of(msg, action, now, now, ex.status, {"error": str(ex)}, []), None, False
        except ProvisionError as ex:
            log.error("invoker%d: %s", self.id, ex)
            now = now_ms()
            return activation_of(msg, action, now, now, INTERNAL_ERROR, {"error": X.PROVISION_ERROR}, []), None, False
        except Exception:
            log.exception("invoker%d could not provision a container", self.id)
            now = now_ms()
            return activation_of(msg, action, now, now, INTERNAL_ERROR, {"error": X.PROVISION_ERROR}, []), None, False
        self._assign(msg.activation_id, c)
        container = c.container
        if not cold:  # the action's body runs at /run; a cold container's /init comes first
            await self._begin(msg, delivery, c)
        start = now_ms()
        wait_time = max(0, start - msg.accepted)
        init_time: int | None = None

        if cold:
            init_payload = {"name": action.name, "main": action.exec.get("main", "main"),
                            "code": action.exec.get("code", ""), "binary": action.exec.get("binary", False),
                            "env": {}}
            outcome = await container.init(init_payload, timeout_s)
            init_time = now_ms() - start
            failure = await failure_of(c.container, outcome, action.limits.timeout, init=True)
            if failure is not None:
                logs = await container.logs.collect(log_limit, DEAD_CONTAINER_LOG_WAIT_S)
                return activation_of(msg, action, start, now_ms(), DEVELOPER_ERROR, failure, logs,
                                     wait_time, init_time, timed_out=outcome.timed_out), c, False
            await self._begin(msg, delivery, c)

        outcome = await container.run(run_payload(msg, action), timeout_s)
        record, keep = await record_of_run(msg, action, container, outcome, start, wait_time, init_time)
        return record, c, keep


@dataclass
class Early:
    """An activation's /run sent before its task began (Invoker._run_early)."""

    container: PooledContainer
    start: int  # epoch ms, as records count
    sent: float  # the loop's time
    answer: asyncio.Future[tuple[int, bytes]] | None  # None: the container was gone
