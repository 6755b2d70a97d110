"""The operators' side of the controller: the system status, Prometheus metrics, and the commands
that cancel an activation or remove a container on its invoker."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from prometheus_client import generate_latest

from . import errors as X
from .bus import completed_topic, control_topic, invoker_topic
from .controller import Controller
from .errors import EntityError

CANCEL_WAIT_S = 5.0
MAX_RUNNING_LISTED = 500  # the status API lists at most this many in-flight activations


async def cancel(ctl: Controller, activation_id: str) -> dict[str, Any]:
    entry = ctl.lb.inflight.get(activation_id)
    if entry is None:
        if await ctl.store.pending(activation_id) is None:
            raise EntityError(404, X.RESOURCE_DOES_NOT_EXIST)
        raise EntityError(409, "The activation is not running on any invoker.")
    command = {"kind": "cancel", "activation_id": activation_id}
    await ctl.bus.publish(control_topic(entry.invoker), json.dumps(command).encode())
    try:
        return await asyncio.wait_for(asyncio.shield(entry.waiter), CANCEL_WAIT_S)
    except TimeoutError:
        raise EntityError(504, "The invoker did not confirm the cancellation in time.") from None


async def remove_container(ctl: Controller, container_id: str) -> dict[str, Any]:
    for invoker in ctl.lb.invokers.values():
        for c in invoker.status.get("containers", []):
            if c["id"] == container_id:
                command = {"kind": "remove-container", "container_id": container_id}
                await ctl.bus.publish(control_topic(invoker.id), json.dumps(command).encode())
                return {"container": container_id, "invoker": invoker.id, "removed": True}
    raise EntityError(404, X.RESOURCE_DOES_NOT_EXIST)


async def system_status(ctl: Controller) -> dict[str, Any]:
    states = ctl.lb.states()
    invokers = []
    for i, inv in sorted(ctl.lb.invokers.items()):
        depth = await ctl.bus.queue_depth(invoker_topic(i), f"invoker{i}")
        invokers.append({
            "id": i, "state": states[i], "userMemory": inv.user_memory_mb,
            "usedMemory": inv.status.get("usedMemory", 0), "slotsUsedMemory": inv.used_mb,
            "inflight": inv.inflight, "queueDepth": depth, "topic": invoker_topic(i),
            "runtime": inv.status.get("runtime"), "containers": inv.status.get("containers", []),
            "coldStarts": inv.status.get("coldStarts", 0), "prewarmStarts": inv.status.get("prewarmStarts", 0),
            "lastPing": round(time.monotonic() - inv.last_ping, 3),
        })
    recent = ctl.metrics.completed_recently(10)
    runtimes = sorted({inv["runtime"] for inv in invokers if inv["runtime"]})
    return {
        "controller": ctl.id, "bus": ctl.bus.name,
        "runtime": ctl.runtime_name or (runtimes[0] if len(runtimes) == 1 else ",".join(runtimes)),
        "invokers": invokers, "inflight": ctl.lb.inflight_by_namespace(),
        "running": [{"activationId": a, "namespace": e.message.namespace, "name": e.message.name,
                     "subject": e.message.subject, "invoker": e.invoker, "accepted": e.message.accepted}
                    for a, e in list(ctl.lb.inflight.items())[-MAX_RUNNING_LISTED:]],
        "activationsPerSecond": round(recent / 10, 2),
        "queues": {**{inv["topic"]: inv["queueDepth"] for inv in invokers},
                   completed_topic(ctl.id): await ctl.bus.queue_depth(completed_topic(ctl.id),
                                                                         f"controller{ctl.id}")},
    }


async def metrics_text(ctl: Controller) -> bytes:
    status = await system_status(ctl)
    for topic, depth in status["queues"].items():
        ctl.metrics.queue_depth.labels(topic).set(depth)
    ctl.metrics.containers.clear()
    for inv in status["invokers"]:
        counts = {"prewarm": 0, "warm": 0, "busy": 0}
        for c in inv["containers"]:
            counts[c["state"]] = counts.get(c["state"], 0) + 1
        for state, n in counts.items():
            ctl.metrics.containers.labels(str(inv["id"]), state).set(n)
    ctl.metrics.inflight.set(len(ctl.lb.inflight))
    ctl.metrics.store_commits.set(ctl.store.writer.commits)
    ctl.metrics.store_commit_max.set(ctl.store.writer.slowest_s)
    return generate_latest(ctl.metrics.registry)
