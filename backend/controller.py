"""The controller: the OpenWhisk REST API, identities and throttles, and the completion path.

It records every accepted activation as pending before its id is handed out, so every activation
id it ever returned resolves to a record (a blocking caller's, on the in-process bus, is written
with its final record when that comes within a second). A blocking caller is answered as the
completion is queued for the store, which serves the final record by id until it commits a turn of
the loop later (on Kafka the completion is acked only then, so a restarted controller reads it again).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
from typing import Any, Mapping, Protocol

from . import catalog, kinds
from . import errors as X
from .activations import Accepted, new_activation_id, now_ms, pending_failure, pending_meta
from .bus import HEALTH_TOPIC, Bus, Consumer, Delivery, completed_topic
from .errors import EntityError
from .events.service import Events
from .failover import Failover
from .health import HealthProbes
from .kinds import SEQUENCE
from .loadbalancer import Inflight, LoadBalancer, NoInvokers
from .messages import ActivationMessage, CompletionMessage, PingMessage, StartMessage, decode_ack
from .metrics import Metrics
from .names import DEFAULT_NAMESPACE, OWN_NAMESPACE, SYSTEM_NAMESPACE
from .registry import Registry, Resolved, owns
from .sequences import Conductor
from .store import Identity, Store
from .throttle import Throttle

log = logging.getLogger("squall.controller")


class Call(Protocol):
    """What the controller and the REST handlers read of a request: Starlette's Request is one,
    the invoke route's leaner InvokeRequest (api/fastpath.py) another."""

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def query_params(self) -> Mapping[str, str]: ...

    async def body(self) -> bytes: ...



class Controller:
    def __init__(self, store: Store, bus: Bus, *, controller_id: int = 0, api_host: str = "",
                 runtime_name: str = "", ack_min_s: float = 60.0, ack_extra_s: float = 60.0) -> None:
        self.id = controller_id
        self.store = store
        self.bus = bus
        self.api_host = api_host
        self.runtime_name = runtime_name
        self.lb = LoadBalancer(bus, forced_completion=self._forced_completion,
                               ack_min_s=ack_min_s, ack_extra_s=ack_extra_s)
        self.throttle = Throttle()
        self.metrics = Metrics()
        self._by_auth: dict[str, Identity] = {}
        self._by_namespace: dict[str, Identity] = {}
        self._by_uuid: dict[str, Identity] = {}
        self.registry = Registry(store)
        self.conductor = Conductor(self)
        self.probes = HealthProbes(self)
        self.failover = Failover(self)
        self.events = Events(self)
        self._sequences: dict[str, asyncio.Task[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._storing: set[asyncio.Future[Any]] = set()  # completions being stored
        self.accepting = True

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        if self.bus.durable:
            await self.failover.take_over()
        else:  # one process: what was in flight died with it
            recovered = await self.store.recover_pending(X.LOST_IN_CRASH)
            if recovered:
                log.warning("ended %d activations left pending by an earlier run as whisk internal errors",
                            recovered)
        for ns in (DEFAULT_NAMESPACE, SYSTEM_NAMESPACE):
            await self.store.create_namespace(ns)  # no-op when it exists: keys persist
        await self.reload_identities()
        admin = self.identity(SYSTEM_NAMESPACE)
        assert admin is not None
        await catalog.install(self.registry, admin)
        completions = self.failover.completions = await self.bus.consumer(completed_topic(self.id),
                                                                           f"controller{self.id}")
        health = await self.bus.consumer(HEALTH_TOPIC, f"controller{self.id}")
        self._tasks = [asyncio.create_task(self._consume_completions(completions)),
                       asyncio.create_task(self._consume_health(health)),
                       asyncio.create_task(self.probes.run()),
                       asyncio.create_task(self.failover.run())]
        if self.bus.durable:
            await self.failover.catch_up()
        await self.events.start()

    async def drain(self, timeout_s: float) -> None:
        """Wait for in-flight activations and sequences to complete, then end what is left with a
        record (a cancelled sequence writes its own); on a durable bus, leave it for the next start."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s

        def working() -> bool:
            return bool(self._sequences) or any(not e.probe for e in self.lb.inflight.values())

        while working() and loop.time() < deadline:
            await asyncio.sleep(0.05)
        sequences = list(self._sequences.values())
        for task in sequences:
            task.cancel()
        await asyncio.gather(*sequences, return_exceptions=True)
        if self.bus.durable:  # their invokers go on; the next start reads what they complete
            left = sum(1 for e in self.lb.inflight.values() if not e.probe)
            if left:
                log.info("%d activations are still in flight; the next start takes them over", left)
            return
        for activation_id in list(self.lb.inflight):
            entry = self.lb.release(activation_id)
            if entry is not None and not entry.probe:
                await self.finish_without_result(entry, X.LOST_AT_SHUTDOWN)

    async def stop(self) -> None:
        await self.events.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def reload_identities(self) -> None:
        self._by_auth.clear()
        self._by_namespace.clear()
        self._by_uuid.clear()
        for identity in await self.store.identities():
            self.remember(identity)

    def remember(self, identity: Identity) -> None:
        self._by_namespace[identity.namespace] = identity
        self._by_uuid[identity.uuid] = identity
        self._by_auth = {k: v for k, v in self._by_auth.items() if v.namespace != identity.namespace}
        header = "Basic " + base64.b64encode(identity.auth.encode()).decode()
        self._by_auth[header] = identity

    def identity(self, namespace: str) -> Identity | None:
        return self._by_namespace.get(namespace)

    def identity_by_uuid(self, uuid: str) -> Identity | None:
        return self._by_uuid.get(uuid)

    def namespaces(self) -> list[str]:
        return sorted(self._by_namespace)

    # --- completions --------------------------------------------------------------------------

    async def _consume_completions(self, consumer: Consumer) -> None:
        """What the bus does not hand over in the invoker's own step (Kafka's: all of it)."""
        consumer.hand_over(self._on_ack)
        while True:
            self._on_ack(await consumer.get())

    def _on_ack(self, delivery: Delivery) -> bool:
        try:
            ack = delivery.decoded(decode_ack)
            if isinstance(ack, StartMessage):
                self.failover.on_start(ack)
            else:
                self._on_completion(ack, delivery)
                return True
        except Exception:
            log.exception("could not process a completion")
        delivery.ack()
        return True

    def _on_completion(self, ack: CompletionMessage, delivery: Delivery) -> None:
        """Free the slot and answer at once; the record commits a turn or two later, grouped with
        what else arrived. Acked once stored, so a restarted controller rereads it (Kafka)."""
        record = ack.record
        outcome = "system" if ack.is_system_error else "ok"
        entry = self.lb.release(record["activationId"], outcome)
        if entry is not None and entry.probe:
            delivery.ack()  # its outcome is all it is for
            return
        if entry is None:  # late: its slot was forced free
            late = asyncio.create_task(self._store_late(record, ack.invoker, outcome, delivery))
            self._storing.add(late)
            late.add_done_callback(self._storing.discard)
            return
        if entry.counted:
            self.throttle.finished(entry.message.subject)
        # The caller's turn before the commit (at c=1 the commit had come first: 113 µs); the store
        # serves the record by id from this same step on.
        entry.answer(record)
        stored = self.store.complete_soon(record)
        self._storing.add(stored)
        stored.add_done_callback(functools.partial(self._stored, record, delivery))

    def _stored(self, record: dict[str, Any], delivery: Delivery, stored: asyncio.Future[bool]) -> None:
        self._storing.discard(stored)
        if stored.cancelled() or stored.exception() is not None:
            log.error("could not store the completion of %s: %s", record["activationId"],
                      "cancelled" if stored.cancelled() else stored.exception())
        else:
            self.metrics.account(record)
        delivery.ack()  # stored (or useless): a restarted controller need not read it again

    async def _store_late(self, record: dict[str, Any], invoker: int, outcome: str, delivery: Delivery) -> None:
        """A completion after its slot was forced free: the invoker answers again, which is what
        its ack timeouts held against it, so it can become healthy without new work."""
        self.lb.record_outcome(invoker, outcome)
        try:
            if await self.store.complete(record):  # else a duplicate of one already ended (forced, cancelled)
                self.metrics.account(record)
        except Exception:
            log.exception("could not store the completion of %s", record["activationId"])
        delivery.ack()

    async def completions_stored(self) -> None:
        """Until every completion handed out by the bus so far is stored (failover's catch-up)."""
        while self._storing:
            await asyncio.gather(*self._storing, return_exceptions=True)

    async def _consume_health(self, consumer: Consumer) -> None:
        while True:
            delivery = await consumer.get()
            try:
                ping = delivery.decoded(PingMessage.decode)
                if self.lb.on_ping(ping):
                    await self.failover.on_ping(ping)
            except Exception:
                log.exception("could not read an invoker ping")
            delivery.ack()

    def _forced_completion(self, entry: Inflight) -> None:
        """The invoker never acked: end the activation as a whisk error (OpenWhisk's forced ack)."""
        if entry.probe:
            return
        log.warning("activation %s got no completion from invoker%d in time", entry.message.activation_id,
                    entry.invoker)
        task = asyncio.create_task(self.finish_without_result(
            entry, "The activation did not complete in time: its invoker did not answer."))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def finish_without_result(self, entry: Inflight, message: str) -> None:
        record = pending_failure(entry.message.activation_id, entry.meta, now_ms(), message)
        if await self.store.complete(record):
            self.metrics.account(record)
        if entry.counted:
            self.throttle.finished(entry.message.subject)
        entry.answer(record)

    # --- requests -----------------------------------------------------------------------------

    def authenticate(self, request: Call) -> Identity:
        header = request.headers.get("authorization")
        if not header:
            raise EntityError(401, X.AUTH_MISSING, {"WWW-Authenticate": 'Basic realm="whisk rest service"'})
        who = self._by_auth.get(header)
        if who is None:
            raise EntityError(401, X.AUTH_INVALID, {"WWW-Authenticate": 'Basic realm="whisk rest service"'})
        return who

    def caller(self, request: Call, namespace: str) -> tuple[Identity, str]:
        """Who acts, and in the namespace the path names (`_` is its own), whoever's it is. The
        system key acts as the namespace it names (its activations are recorded there); one that
        does not exist is a 404."""
        who = self.authenticate(request)
        if namespace == OWN_NAMESPACE or namespace == who.namespace:
            return who, who.namespace
        if who.namespace == SYSTEM_NAMESPACE:
            target = self._by_namespace.get(namespace)
            if target is None:
                raise EntityError(404, X.RESOURCE_DOES_NOT_EXIST)
            return target, namespace
        return who, namespace

    def authorize(self, request: Call, namespace: str) -> tuple[Identity, str]:
        """The caller and the namespace it may act in (`_` is its own); 403 for anyone else's."""
        who, namespace = self.caller(request, namespace)
        if not owns(who, namespace):
            raise EntityError(403, X.not_authorized(namespace))
        return who, namespace

    def admin(self, request: Call) -> Identity:
        who = self.authenticate(request)
        if who.namespace != SYSTEM_NAMESPACE:
            raise EntityError(403, X.NOT_AUTHORIZED)
        return who

    # --- activations --------------------------------------------------------------------------

    async def activate(self, who: Identity, target: Resolved, params: dict[str, Any],
                       transid: str | None = None, activation_id: str | None = None,
                       blocking: bool = False) -> Accepted:
        """Accept a caller's activation of an action, a sequence or a feed: throttles first, then
        run it (`activation_id`: one promised already, as a trigger's logs name its rules' runs;
        `blocking`: the caller hands the id out only with the record, or after `hand_out`)."""
        if not self.accepting:
            raise EntityError(503, X.SYSTEM_OVERLOADED)
        if not target.action.is_sequence:
            self.throttle.check(who)
            return await self.invoke_action(who, target, {**target.parameters, **params}, transid=transid,
                                            counted=True, activation_id=activation_id, blocking=blocking)
        await self.conductor.check_components(who, target)
        self.throttle.check(who)
        activation_id = activation_id or new_activation_id()
        accepted = now_ms()
        await self.record_pending(who, target, activation_id, accepted)
        self.throttle.started(who.namespace)
        task = asyncio.create_task(self.conductor.run(who, target, params, activation_id, accepted))
        self._sequences[activation_id] = task

        def ended(_: asyncio.Task[dict[str, Any]]) -> None:
            self._sequences.pop(activation_id, None)
            self.throttle.finished(who.namespace)

        task.add_done_callback(ended)
        return Accepted(activation_id, task)

    async def invoke_action(self, who: Identity, target: Resolved, content: dict[str, Any], *,
                            transid: str | None = None, cause: str | None = None,
                            counted: bool = False, activation_id: str | None = None,
                            blocking: bool = False) -> Accepted:
        """Send one action (not a sequence) to an invoker: pick one, record it pending, publish.
        `content` is everything the action gets; `counted` activations hold a concurrency slot."""
        action = target.action
        if action.kind == kinds.BUILTIN:  # a feed action: the controller carries it out
            return await self.events.feeds.activate(who, target, content, activation_id)
        if kinds.is_deprecated(action.kind):
            raise EntityError(400, kinds.deprecated_message(action.kind))
        try:
            invoker = self.lb.choose(action.namespace, action.name, action.limits.memory)
        except NoInvokers:
            raise EntityError(503, X.NO_HEALTHY_INVOKER) from None
        activation_id = activation_id or new_activation_id()
        accepted = now_ms()
        meta = self._meta(who, target, accepted, cause)
        meta["invoker"] = invoker.id
        # The store runs its statements in order, so this insert lands before the completion's
        # update; callers await `recorded` before they hand the activation id to anyone. A blocking
        # caller's id goes out with the record, so on the in-process bus (where the run dies with
        # this process) its pending record may wait to be written with the final one.
        held = blocking and not self.bus.durable
        recorded = self.store.pending_soon(activation_id, who.namespace, target.name.relative, accepted, meta,
                                           hold=held)
        if self.bus.durable:
            # A message on Kafka outlives this process: were it out before its record, a crash in
            # between would leave a run no restart knows of, and a replayed fire would run it again.
            # On the in-process bus both go together, so the commit overlaps the run.
            await recorded
        message = ActivationMessage(
            transid=transid or new_activation_id(), activation_id=activation_id, namespace=who.namespace,
            name=action.name, version=action.version, subject=who.namespace, blocking=True,
            controller=self.id, accepted=accepted, content=content, action=action.to_json(),
            api_key=who.auth if action.gets_api_key else None, path=action.path, cause=cause,
            extra=meta.get("extra"))
        if counted:
            self.throttle.started(who.namespace)
        try:
            entry = await self.lb.publish(message, invoker, action.limits.memory, action.limits.timeout, meta,
                                          counted)
        except Exception:
            if counted:
                self.throttle.finished(who.namespace)
            await self.store.complete(pending_failure(activation_id, meta, now_ms(), X.PROVISION_ERROR))
            log.exception("could not publish activation %s", activation_id)
            raise EntityError(500, "The activation could not be sent to an invoker.") from None
        if held:
            return Accepted(activation_id, entry.waiter, recorded, entry)
        await recorded
        return Accepted(activation_id, entry.waiter, inflight=entry)

    async def hand_out(self, accepted: Accepted) -> None:
        """Before a blocking caller gets an activation id without its record: it is recorded."""
        if accepted.recorded is not None:
            self.store.release(accepted.activation_id)
            await accepted.recorded

    @staticmethod
    def _meta(who: Identity, target: Resolved, accepted: int, cause: str | None) -> dict[str, Any]:
        """The pending record: enough to write the final one if no invoker ever answers."""
        action = target.action
        extra = ([{"key": "causedBy", "value": SEQUENCE}] if cause else []) + \
            ([{"key": "binding", "value": target.binding}] if target.binding else [])
        return pending_meta(namespace=who.namespace, name=action.name, subject=who.namespace,
                            version=action.version, kind=action.kind, limits=action.limits.to_json(),
                            start=accepted, path=action.path, cause=cause, extra=extra or None)

    async def record_pending(self, who: Identity, target: Resolved, activation_id: str, accepted: int,
                             cause: str | None = None) -> None:
        """A sequence's activation, recorded before its id is handed to anyone."""
        meta = self._meta(who, target, accepted, cause)
        await self.store.add_pending(activation_id, who.namespace, target.name.relative, accepted, meta)

    async def store_record(self, record: dict[str, Any]) -> None:
        """A record the controller made itself (a sequence's): stored, then counted."""
        if await self.store.complete(record):
            self.metrics.account(record)
