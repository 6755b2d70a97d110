"""The controller: the OpenWhisk REST API, identities and throttles, and the completion path.

It records every accepted activation as pending before it is published, and stores each completion
before it answers a blocking caller, so every activation id it ever returned resolves to a record.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from collections import deque
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import entities as E
from .bus import HEALTH_TOPIC, Bus, completed_topic, invoker_topic
from .invoker import control_topic
from .loadbalancer import Inflight, LoadBalancer, NoInvokers
from .messages import ActivationMessage, CompletionMessage, PingMessage
from .store import Identity, Store, pending_failure, pending_meta

log = logging.getLogger("squall.controller")

API_VERSION = "1.0.0"
BUILD = "squall-0.1.0"
MAX_LIST = 200
DEFAULT_LIST = 30
CANCEL_WAIT_S = 5.0
MAX_RUNNING_LISTED = 500  # the status API lists at most this many in-flight activations


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":"), ensure_ascii=False), status,
                    headers, media_type="application/json")


def error_response(status: int, message: str, headers: dict[str, str] | None = None,
                   transid: str | None = None) -> Response:
    transid = transid or uuid.uuid4().hex
    return _json({"error": message, "code": transid}, status, {"X-Request-ID": transid, **(headers or {})})


class Throttle:
    """OpenWhisk's per-namespace throttles: invocations in the current minute, and in flight."""

    def __init__(self) -> None:
        self._minute: dict[str, tuple[int, int]] = {}  # namespace -> (minute, count)
        self.inflight: dict[str, int] = {}

    def check(self, who: Identity) -> None:
        minute = int(time.time() // 60)
        bucket, count = self._minute.get(who.namespace, (minute, 0))
        count = count + 1 if bucket == minute else 1
        self._minute[who.namespace] = (minute, count)
        if count > who.invocations_per_minute:
            raise ApiError(429, E.too_many_requests(count, who.invocations_per_minute))
        running = self.inflight.get(who.namespace, 0)
        if running >= who.concurrent_invocations:
            raise ApiError(429, E.too_many_concurrent(running, who.concurrent_invocations))

    def started(self, namespace: str) -> None:
        self.inflight[namespace] = self.inflight.get(namespace, 0) + 1

    def finished(self, namespace: str) -> None:
        left = self.inflight.get(namespace, 0) - 1
        if left > 0:
            self.inflight[namespace] = left
        else:
            self.inflight.pop(namespace, None)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.invocations = Counter("squall_invocations", "Completed activations by status",
                                   ["status"], registry=self.registry)
        self.latency = Histogram(
            "squall_activation_duration_seconds", "Time from acceptance to completion",
            buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=self.registry)
        self.queue_depth = Gauge("squall_queue_depth", "Messages waiting per bus topic", ["topic"],
                                 registry=self.registry)
        self.containers = Gauge("squall_containers", "Action containers by state",
                                ["invoker", "state"], registry=self.registry)
        self.inflight = Gauge("squall_inflight_activations", "Accepted activations not yet completed",
                              registry=self.registry)


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
        self._actions: dict[tuple[str, str], E.Action] = {}
        self._completed_at: deque[float] = deque()
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self.accepting = True

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        recovered = await self.store.recover_pending(E.LOST_IN_CRASH)
        if recovered:
            log.warning("ended %d activations left pending by an earlier run as whisk internal errors", recovered)
        for ns in (E.DEFAULT_NAMESPACE, E.SYSTEM_NAMESPACE):
            await self.store.create_namespace(ns)  # no-op when it exists: keys persist
        await self.reload_identities()
        completions = await self.bus.consumer(completed_topic(self.id), f"controller{self.id}")
        health = await self.bus.consumer(HEALTH_TOPIC, f"controller{self.id}")
        self._tasks = [asyncio.create_task(self._consume_completions(completions)),
                       asyncio.create_task(self._consume_health(health))]

    async def drain(self, timeout_s: float) -> None:
        """Wait for in-flight activations to complete, then end what is left with a record."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.lb.inflight and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for activation_id in list(self.lb.inflight):
            entry = self.lb.release(activation_id)
            if entry is not None:
                await self._finish_without_result(entry, E.LOST_AT_SHUTDOWN)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def reload_identities(self) -> None:
        self._by_auth.clear()
        self._by_namespace.clear()
        for identity in await self.store.identities():
            self._remember(identity)

    def _remember(self, identity: Identity) -> None:
        self._by_namespace[identity.namespace] = identity
        self._by_auth = {k: v for k, v in self._by_auth.items() if v.namespace != identity.namespace}
        header = "Basic " + base64.b64encode(identity.auth.encode()).decode()
        self._by_auth[header] = identity

    def identity(self, namespace: str) -> Identity | None:
        return self._by_namespace.get(namespace)

    # --- completions --------------------------------------------------------------------------

    async def _consume_completions(self, consumer: Any) -> None:
        while True:
            data = await consumer.get()
            try:
                completion = CompletionMessage.decode(data)
                await self._complete(completion.record, "system" if completion.is_system_error else "ok")
            except Exception:
                log.exception("could not process a completion")

    async def _consume_health(self, consumer: Any) -> None:
        while True:
            data = await consumer.get()
            try:
                self.lb.on_ping(PingMessage.decode(data))
            except Exception:
                log.exception("could not read an invoker ping")

    async def _complete(self, record: dict[str, Any], outcome: str) -> None:
        """Store the record first, then free the slot and answer whoever waits for it."""
        stored = await self.store.complete(record)
        entry = self.lb.release(record["activationId"], outcome)
        if entry is None and not stored:
            return  # a late duplicate of an activation already ended (forced, cancelled)
        self._account(record)
        if entry is not None:
            self.throttle.finished(entry.message.subject)
            if not entry.waiter.done():
                entry.waiter.set_result(record)

    def _account(self, record: dict[str, Any]) -> None:
        now = time.monotonic()
        self._completed_at.append(now)
        while self._completed_at and now - self._completed_at[0] > 10:
            self._completed_at.popleft()
        self.metrics.invocations.labels(record["response"]["status"]).inc()
        self.metrics.latency.observe(max(0, E.now_ms() - record["start"]) / 1000)

    def _forced_completion(self, entry: Inflight) -> None:
        """The invoker never acked: end the activation as a whisk error (OpenWhisk's forced ack)."""
        log.warning("activation %s got no completion from invoker%d in time", entry.message.activation_id,
                    entry.invoker)
        task = asyncio.create_task(self._finish_without_result(
            entry, "The activation did not complete in time: its invoker did not answer."))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _finish_without_result(self, entry: Inflight, message: str) -> None:
        record = pending_failure(entry.message.activation_id, entry.meta, E.now_ms(), message)
        if await self.store.complete(record):
            self._account(record)
        self.throttle.finished(entry.message.subject)
        if not entry.waiter.done():
            entry.waiter.set_result(record)

    # --- requests -----------------------------------------------------------------------------

    def authenticate(self, request: Request) -> Identity:
        header = request.headers.get("authorization")
        if not header:
            raise ApiError(401, E.AUTH_MISSING, {"WWW-Authenticate": 'Basic realm="whisk rest service"'})
        who = self._by_auth.get(header)
        if who is None:
            raise ApiError(401, E.AUTH_INVALID, {"WWW-Authenticate": 'Basic realm="whisk rest service"'})
        return who

    def authorize(self, request: Request, namespace: str) -> tuple[Identity, str]:
        """The caller and the namespace it may act in (`_` is its own); 403 for anyone else's."""
        who = self.authenticate(request)
        if namespace == "_" or namespace == who.namespace:
            return who, who.namespace
        if who.namespace == E.SYSTEM_NAMESPACE:
            if namespace not in self._by_namespace:
                raise ApiError(404, E.RESOURCE_DOES_NOT_EXIST)
            return who, namespace
        raise ApiError(403, E.not_authorized(namespace))

    def admin(self, request: Request) -> Identity:
        who = self.authenticate(request)
        if who.namespace != E.SYSTEM_NAMESPACE:
            raise ApiError(403, "The supplied authentication is not authorized to access this resource.")
        return who

    async def action(self, namespace: str, name: str) -> E.Action:
        key = (namespace, name)
        action = self._actions.get(key)
        if action is None:
            action = await self.store.get_action(namespace, name)
            if action is None:
                raise ApiError(404, E.RESOURCE_DOES_NOT_EXIST)
            self._actions[key] = action
        return action

    async def put_action(self, namespace: str, name: str, body: Any, overwrite: bool) -> E.Action:
        existing = await self.store.get_action(namespace, name)
        if existing is not None and not overwrite:
            raise ApiError(409, E.RESOURCE_EXISTS)
        action = E.Action.from_put(namespace, name, body, existing)
        await self.store.put_action(action)
        self._actions[(namespace, name)] = action
        return action

    async def delete_action(self, namespace: str, name: str) -> E.Action:
        action = await self.action(namespace, name)
        await self.store.delete_action(namespace, name)
        self._actions.pop((namespace, name), None)
        return action

    async def invoke(self, who: Identity, action: E.Action, params: dict[str, Any],
                     transid: str) -> Inflight:
        """Accept an activation: throttle, pick an invoker, record it pending, publish it."""
        if not self.accepting:
            raise ApiError(503, E.SYSTEM_OVERLOADED)
        self.throttle.check(who)
        try:
            invoker = self.lb.choose(action.namespace, action.name, action.limits.memory)
        except NoInvokers:
            raise ApiError(503, E.NO_HEALTHY_INVOKER) from None
        activation_id = E.new_activation_id()
        accepted = E.now_ms()
        meta = pending_meta(namespace=action.namespace, name=action.name, subject=who.namespace,
                            version=action.version, kind=action.kind, limits=action.limits.to_json(),
                            start=accepted)
        # The store runs its statements in order, so this insert lands before the completion's
        # update; callers await `recorded` before they hand the activation id to anyone.
        recorded = asyncio.ensure_future(
            self.store.add_pending(activation_id, action.namespace, action.name, accepted, meta))
        message = ActivationMessage(
            transid=transid, activation_id=activation_id, namespace=action.namespace, name=action.name,
            version=action.version, subject=who.namespace, blocking=True, controller=self.id,
            accepted=accepted, content=params, action=action.to_json(), api_key=who.auth)
        self.throttle.started(who.namespace)
        try:
            entry = await self.lb.publish(message, invoker, action.limits.memory, action.limits.timeout, meta)
        except Exception:
            self.throttle.finished(who.namespace)
            await recorded
            await self.store.complete(pending_failure(activation_id, meta, E.now_ms(), E.PROVISION_ERROR))
            log.exception("could not publish activation %s", activation_id)
            raise ApiError(500, "The activation could not be sent to an invoker.") from None
        await recorded
        return entry

    async def cancel(self, activation_id: str) -> dict[str, Any]:
        entry = self.lb.inflight.get(activation_id)
        if entry is None:
            if await self.store.pending(activation_id) is None:
                raise ApiError(404, E.RESOURCE_DOES_NOT_EXIST)
            raise ApiError(409, "The activation is not running on any invoker.")
        command = {"kind": "cancel", "activation_id": activation_id}
        await self.bus.publish(control_topic(entry.invoker), json.dumps(command).encode())
        try:
            return await asyncio.wait_for(asyncio.shield(entry.waiter), CANCEL_WAIT_S)
        except TimeoutError:
            raise ApiError(504, "The invoker did not confirm the cancellation in time.") from None

    async def remove_container(self, container_id: str) -> dict[str, Any]:
        for invoker in self.lb.invokers.values():
            for c in invoker.status.get("containers", []):
                if c["id"] == container_id:
                    command = {"kind": "remove-container", "container_id": container_id}
                    await self.bus.publish(control_topic(invoker.id), json.dumps(command).encode())
                    return {"container": container_id, "invoker": invoker.id, "removed": True}
        raise ApiError(404, E.RESOURCE_DOES_NOT_EXIST)

    async def status(self) -> dict[str, Any]:
        states = self.lb.states()
        invokers = []
        for i, inv in sorted(self.lb.invokers.items()):
            depth = await self.bus.queue_depth(invoker_topic(i), f"invoker{i}")
            invokers.append({
                "id": i, "state": states[i], "userMemory": inv.user_memory_mb,
                "usedMemory": inv.status.get("usedMemory", 0), "slotsUsedMemory": inv.used_mb,
                "inflight": inv.inflight, "queueDepth": depth, "topic": invoker_topic(i),
                "runtime": inv.status.get("runtime"), "containers": inv.status.get("containers", []),
                "lastPing": round(time.monotonic() - inv.last_ping, 3),
            })
        now = time.monotonic()
        recent = sum(1 for t in self._completed_at if now - t <= 10)
        runtimes = sorted({inv["runtime"] for inv in invokers if inv["runtime"]})
        return {
            "controller": self.id, "bus": self.bus.name,
            "runtime": self.runtime_name or (runtimes[0] if len(runtimes) == 1 else ",".join(runtimes)),
            "invokers": invokers, "inflight": self.lb.inflight_by_namespace(),
            "running": [{"activationId": a, "namespace": e.message.namespace, "name": e.message.name,
                         "subject": e.message.subject, "invoker": e.invoker, "accepted": e.message.accepted}
                        for a, e in list(self.lb.inflight.items())[-MAX_RUNNING_LISTED:]],
            "activationsPerSecond": round(recent / 10, 2),
            "queues": {**{inv["topic"]: inv["queueDepth"] for inv in invokers},
                       completed_topic(self.id): await self.bus.queue_depth(completed_topic(self.id),
                                                                             f"controller{self.id}")},
        }

    async def metrics_text(self) -> bytes:
        status = await self.status()
        for topic, depth in status["queues"].items():
            self.metrics.queue_depth.labels(topic).set(depth)
        self.metrics.containers.clear()
        for inv in status["invokers"]:
            counts = {"prewarm": 0, "warm": 0, "busy": 0}
            for c in inv["containers"]:
                counts[c["state"]] = counts.get(c["state"], 0) + 1
            for state, n in counts.items():
                self.metrics.containers.labels(str(inv["id"]), state).set(n)
        self.metrics.inflight.set(len(self.lb.inflight))
        return generate_latest(self.metrics.registry)


# --- the HTTP layer ---------------------------------------------------------------------------------


def _int_arg(request: Request, name: str, default: int, collection: str) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, E.argument_not_integer(collection, raw)) from None


def _paging(request: Request, collection: str) -> tuple[int, int]:
    """`limit` and `skip` of a list request, checked with OpenWhisk's texts; limit 0 means the max."""
    limit = _int_arg(request, "limit", DEFAULT_LIST, collection)
    skip = _int_arg(request, "skip", 0, collection)
    if not 0 <= limit <= MAX_LIST:
        raise ApiError(400, E.list_limit_out_of_range(collection, limit, MAX_LIST))
    if skip < 0:
        raise ApiError(400, E.list_skip_out_of_range(collection, skip))
    return limit or MAX_LIST, skip


def _bool_arg(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() == "true"


async def _read_body(request: Request, allowed: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > allowed:
        raise ApiError(413, E.entity_too_big("Request", int(declared), allowed))
    body = await request.body()
    if len(body) > allowed:
        raise ApiError(413, E.entity_too_big("Request", len(body), allowed))
    return body


def _parse_json(body: bytes, default: Any) -> Any:
    if not body.strip():
        return default
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, E.malformed("the body is not valid JSON")) from None


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    """A list entry: the record without logs and result (as OpenWhisk lists activations)."""
    summary = {k: v for k, v in record.items() if k not in ("logs", "response")}
    response = record["response"]
    summary["statusCode"] = response.get("statusCode", E.STATUS_CODES.get(response["status"], 3))
    summary["response"] = {"status": response["status"], "statusCode": summary["statusCode"],
                           "success": response["success"]}
    return summary


def create_app(ctl: Controller) -> FastAPI:
    app = FastAPI(title="Squall", version=BUILD, docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.message, exc.headers)

    @app.exception_handler(E.EntityError)
    async def _entity_error(request: Request, exc: E.EntityError) -> Response:
        return error_response(exc.status, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(404, E.RESOURCE_DOES_NOT_EXIST)
        if exc.status_code == 405:
            return error_response(405, "HTTP method not allowed, supported methods: " +
                                  exc.headers.get("Allow", "") if exc.headers else "HTTP method not allowed")
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "There was an error processing your request.")

    @app.get("/api/v1")
    async def api_info() -> Response:
        return _json({"description": "Squall, an OpenWhisk-compatible serverless platform",
                      "api_version": API_VERSION, "api_version_path": "v1", "build": BUILD,
                      "buildno": BUILD, "swagger_paths": {}})

    @app.get("/api/v1/namespaces")
    async def namespaces(request: Request) -> Response:
        who = ctl.authenticate(request)
        if who.namespace == E.SYSTEM_NAMESPACE:
            return _json(sorted(ctl._by_namespace))
        return _json([who.namespace])

    @app.get("/api/v1/namespaces/{ns}/actions")
    async def list_actions(request: Request, ns: str) -> Response:
        _, namespace = ctl.authorize(request, ns)
        limit, skip = _paging(request, "actions")
        if _bool_arg(request, "count"):
            return _json({"actions": len(await ctl.store.list_actions(namespace, 0, 1 << 30))})
        actions = await ctl.store.list_actions(namespace, skip, limit)
        return _json([a.to_json(code=False) for a in actions])

    @app.get("/api/v1/namespaces/{ns}/actions/{name}")
    async def get_action(request: Request, ns: str, name: str) -> Response:
        _, namespace = ctl.authorize(request, ns)
        E.check_name(name)
        action = await ctl.action(namespace, name)
        return _json(action.to_json(code=request.query_params.get("code", "true").lower() != "false"))

    @app.put("/api/v1/namespaces/{ns}/actions/{name}")
    async def put_action(request: Request, ns: str, name: str) -> Response:
        _, namespace = ctl.authorize(request, ns)
        E.check_name(name)
        body = _parse_json(await _read_body(request, E.MAX_ACTION_PUT), {})
        action = await ctl.put_action(namespace, name, body, _bool_arg(request, "overwrite"))
        return _json(action.to_json())

    @app.delete("/api/v1/namespaces/{ns}/actions/{name}")
    async def delete_action(request: Request, ns: str, name: str) -> Response:
        _, namespace = ctl.authorize(request, ns)
        E.check_name(name)
        return _json((await ctl.delete_action(namespace, name)).to_json())

    @app.post("/api/v1/namespaces/{ns}/actions/{name}")
    async def invoke(request: Request, ns: str, name: str) -> Response:
        who, namespace = ctl.authorize(request, ns)
        E.check_name(name)
        params = _parse_json(await _read_body(request, E.MAX_PAYLOAD), {})
        if not isinstance(params, dict):
            raise ApiError(400, E.malformed("the parameters must be a JSON object"))
        blocking = _bool_arg(request, "blocking")
        result_only = _bool_arg(request, "result")
        wait_ms = _int_arg(request, "timeout", E.BLOCKING_WAIT_DEFAULT_MS, "timeout")
        if blocking and not 0 < wait_ms <= E.BLOCKING_WAIT_DEFAULT_MS:
            raise ApiError(400, f"Timeout must be number of milliseconds up to {E.BLOCKING_WAIT_DEFAULT_MS}.")
        action = await ctl.action(namespace, name)
        transid = uuid.uuid4().hex
        entry = await ctl.invoke(who, action, params, transid)
        activation_id = entry.message.activation_id
        headers = {"x-openwhisk-activation-id": activation_id, "X-Request-ID": transid}
        if not blocking:
            return _json({"activationId": activation_id}, 202, headers)
        try:
            record = await asyncio.wait_for(asyncio.shield(entry.waiter), wait_ms / 1000)
        except TimeoutError:
            return _json({"activationId": activation_id}, 202, headers)
        status = record["response"]["status"]
        code = 200 if status == E.SUCCESS else 500 if status == E.INTERNAL_ERROR else 502
        return _json(record["response"]["result"] if result_only else record, code, headers)

    @app.api_route("/api/v1/namespaces/{ns}/actions/{pkg}/{name}", methods=["GET", "PUT", "DELETE", "POST"])
    async def packaged_action(request: Request, ns: str, pkg: str, name: str) -> Response:
        ctl.authorize(request, ns)
        E.check_name(pkg)
        E.check_name(name)
        raise ApiError(404, E.RESOURCE_DOES_NOT_EXIST)  # packages are not supported yet

    @app.get("/api/v1/namespaces/{ns}/activations")
    async def list_activations(request: Request, ns: str) -> Response:
        _, namespace = ctl.authorize(request, ns)
        limit, skip = _paging(request, "activations")
        docs, count = _bool_arg(request, "docs"), _bool_arg(request, "count")
        if docs and count:
            raise ApiError(400, E.DOCS_WITH_COUNT)
        name = request.query_params.get("name")
        if name is not None:
            parts = name.split("/")
            if len(parts) > 2 or not all(E.valid_name(p) for p in parts):
                raise ApiError(400, f"Parameter may be a 'simple' name or 'package-name/simple' name: {name}")
            name = parts[-1] if len(parts) == 1 else name
        since = upto = None
        for arg in ("since", "upto"):
            raw = request.query_params.get(arg)
            if raw is not None:
                try:
                    value = int(raw)
                except ValueError:
                    raise ApiError(400, f"Parameter is not a valid value for epoch seconds: {raw}") from None
                since, upto = (value, upto) if arg == "since" else (since, value)
        if count:
            n = await ctl.store.count_activations(namespace, name=name, since=since, upto=upto)
            return _json({"activations": n})
        records = await ctl.store.list_activations(namespace, name=name, since=since, upto=upto,
                                                   skip=skip, limit=limit)
        return _json(records if docs else [_summary(r) for r in records])

    async def _activation(request: Request, ns: str, activation_id: str) -> dict[str, Any]:
        _, namespace = ctl.authorize(request, ns)
        if not E.valid_activation_id(activation_id):
            raise ApiError(400, E.ACTIVATION_ID_ILLEGAL)
        record = await ctl.store.get_activation(namespace, activation_id)
        if record is None:
            raise ApiError(404, E.RESOURCE_DOES_NOT_EXIST)
        return record

    @app.get("/api/v1/namespaces/{ns}/activations/{activation_id}")
    async def get_activation(request: Request, ns: str, activation_id: str) -> Response:
        return _json(await _activation(request, ns, activation_id))

    @app.get("/api/v1/namespaces/{ns}/activations/{activation_id}/result")
    async def activation_result(request: Request, ns: str, activation_id: str) -> Response:
        response = (await _activation(request, ns, activation_id))["response"]
        return _json({"result": response["result"], "success": response["success"],
                      "status": response["status"]})

    @app.get("/api/v1/namespaces/{ns}/activations/{activation_id}/logs")
    async def activation_logs(request: Request, ns: str, activation_id: str) -> Response:
        return _json({"logs": (await _activation(request, ns, activation_id))["logs"]})

    @app.get("/api/v1/namespaces/{ns}/limits")
    async def limits(request: Request, ns: str) -> Response:
        _, namespace = ctl.authorize(request, ns)
        who = ctl.identity(namespace)
        assert who is not None
        return _json(who.limits_doc({
            "minActionMemory": E.MEMORY_MIN_MB * E.MB, "maxActionMemory": E.MEMORY_MAX_MB * E.MB,
            "minActionTimeout": E.TIMEOUT_MIN_MS, "maxActionTimeout": E.TIMEOUT_MAX_MS,
            "minActionLogs": E.LOGS_MIN_MB * E.MB, "maxActionLogs": E.LOGS_MAX_MB * E.MB,
            "maxActionConcurrency": E.CONCURRENCY_MAX, "maxParameterSize": E.MAX_PARAMETERS,
            "maxPayloadSize": E.MAX_PAYLOAD,
        }))

    # --- operators' system API (admin key only) ---

    @app.get("/api/v1/system/status")
    async def system_status(request: Request) -> Response:
        ctl.admin(request)
        return _json(await ctl.status())

    @app.delete("/api/v1/system/activations/{activation_id}")
    async def cancel_activation(request: Request, activation_id: str) -> Response:
        ctl.admin(request)
        if not E.valid_activation_id(activation_id):
            raise ApiError(400, E.ACTIVATION_ID_ILLEGAL)
        return _json(await ctl.cancel(activation_id))

    @app.delete("/api/v1/system/containers/{container_id}")
    async def remove_container(request: Request, container_id: str) -> Response:
        ctl.admin(request)
        return _json(await ctl.remove_container(container_id))

    @app.put("/api/v1/system/namespaces/{name}")
    async def create_namespace(request: Request, name: str) -> Response:
        ctl.admin(request)
        E.check_namespace(name)
        identity = await ctl.store.create_namespace(name)
        if identity is None:
            raise ApiError(409, E.RESOURCE_EXISTS)
        ctl._remember(identity)
        return _json({"namespace": name, "uuid": identity.uuid, "key": identity.key, "auth": identity.auth})

    @app.put("/api/v1/system/namespaces/{name}/limits")
    async def set_limits(request: Request, name: str) -> Response:
        ctl.admin(request)
        who = ctl.identity(name)
        if who is None:
            raise ApiError(404, E.RESOURCE_DOES_NOT_EXIST)
        body = _parse_json(await _read_body(request, 64 * E.KB), {})
        allowed = {"invocationsPerMinute", "concurrentInvocations", "firesPerMinute"}
        if not isinstance(body, dict) or not set(body) <= allowed or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in body.values()):
            raise ApiError(400, E.malformed(
                "limits must be an object of non-negative integers among " + ", ".join(sorted(allowed))))
        limits = {**who.limits, **body}
        await ctl.store.set_limits(name, limits)
        ctl._remember(Identity(who.namespace, who.uuid, who.key, limits))
        return _json({"namespace": name, **ctl._by_namespace[name].limits_doc({})})

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        ctl.admin(request)
        return Response(await ctl.metrics_text(), media_type=CONTENT_TYPE_LATEST)

    return app
