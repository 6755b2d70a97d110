"""What a container is sent to run an activation, and what its answer to /init or /run means for
the activation record: its status, its result, and whether the container may stay warm. Kept apart
from the invoker so the OpenWhisk messages for each way an action can fail live in one place.
"""

from __future__ import annotations

from typing import Any

from . import errors as X
from .activations import APPLICATION_ERROR, DEVELOPER_ERROR, SUCCESS, activation_record, now_ms
from .entities import Action
from .limits import MAX_PAYLOAD, MB
from .messages import ActivationMessage
from .runtimes import Container, RunOutcome

# Logs of a container that died or timed out have no sentinel; don't wait long for one.
DEAD_CONTAINER_LOG_WAIT_S = 0.2


def run_payload(msg: ActivationMessage, action: Action) -> dict[str, Any]:
    """The body of an activation's /run."""
    payload: dict[str, Any] = {
        # merged by the controller: package < binding < action < request
        "value": msg.content, "namespace": msg.subject, "action_name": f"/{action.path}",
        "action_version": action.version, "activation_id": msg.activation_id,
        "transaction_id": msg.transid,
        "deadline": str(now_ms() + action.limits.timeout),
    }
    if msg.api_key:
        payload["api_key"] = msg.api_key
    return payload


async def record_of_run(msg: ActivationMessage, action: Action, container: Container, outcome: RunOutcome,
                        start: int, wait_time: int, init_time: int | None = None) -> tuple[dict[str, Any], bool]:
    """The record of an activation whose /run answered (or did not), and whether its container
    may stay warm; its logs are taken from the container."""
    end = now_ms()
    log_limit = action.limits.logs * MB
    failure = await failure_of(container, outcome, action.limits.timeout, init=False)
    if failure is not None:
        logs = await container.logs.collect(log_limit, DEAD_CONTAINER_LOG_WAIT_S)
        return activation_of(msg, action, start, end, DEVELOPER_ERROR, failure, logs,
                             wait_time, init_time, timed_out=outcome.timed_out), False
    logs = await container.logs.collect(log_limit)
    status, result, keep = interpret(outcome)
    return activation_of(msg, action, start, end, status, result, logs, wait_time, init_time), keep


async def failure_of(container: Container, outcome: RunOutcome, timeout_ms: int, *,
                     init: bool) -> dict[str, Any] | None:
    """The error result when the container timed out, died, or refused its /init; else None."""
    if outcome.timed_out:
        return {"error": X.timed_out(timeout_ms, init)}
    if outcome.gone:
        if await container.out_of_memory():
            return {"error": X.MEMORY_EXHAUSTED}
        return {"error": X.ABNORMAL_INIT if init else X.ABNORMAL_RUN}
    if init and outcome.status != 200:
        try:
            body = outcome.json()
            error = body.get("error") if isinstance(body, dict) else None
        except ValueError:
            error = None
        return {"error": error or X.ABNORMAL_INIT}
    return None


def interpret(outcome: RunOutcome) -> tuple[str, Any, bool]:
    """Map a /run response to (status, result, keep the container warm)."""
    size = len(outcome.body)
    if size > MAX_PAYLOAD:
        return APPLICATION_ERROR, {"error": X.truncated_response(size, MAX_PAYLOAD)}, True
    try:
        result = outcome.json()
    except ValueError:
        return DEVELOPER_ERROR, {"error": "The action did not produce a valid JSON response."}, False
    if outcome.status != 200:
        if isinstance(result, dict) and "error" in result:
            return DEVELOPER_ERROR, {"error": result["error"]}, False
        return DEVELOPER_ERROR, {"error": X.NOT_A_DICTIONARY}, False
    if isinstance(result, dict) and "error" in result:
        return APPLICATION_ERROR, result, True
    return SUCCESS, result, True


def activation_of(msg: ActivationMessage, action: Action, start: int, end: int, status: str, result: Any,
                  logs: list[str], wait_time: int | None = None, init_time: int | None = None,
                  *, timed_out: bool = False) -> dict[str, Any]:
    """The record of an activation an invoker ran (or could not run)."""
    return activation_record(
        namespace=msg.namespace, name=msg.name, subject=msg.subject, activation_id=msg.activation_id,
        version=action.version, start=start, end=end, status=status, result=result, logs=logs,
        kind=action.kind, limits=action.limits.to_json(), wait_time=wait_time, init_time=init_time,
        timed_out_=timed_out, path=msg.path or None, cause=msg.cause, extra=msg.extra)
