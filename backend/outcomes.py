"""What a container's answer to /init or /run means for the activation record: its status, its
result, and whether the container may stay warm. Kept apart from the invoker so the OpenWhisk
messages for each way an action can fail live in one place.
"""

from __future__ import annotations

from typing import Any

from . import errors as X
from .activations import APPLICATION_ERROR, DEVELOPER_ERROR, SUCCESS, activation_record
from .entities import Action
from .limits import MAX_PAYLOAD
from .messages import ActivationMessage
from .runtimes import Container, RunOutcome


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
