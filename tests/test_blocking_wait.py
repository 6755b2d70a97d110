"""A blocking caller's wait for its activation's record: answered in the step that completes it
(where the invoke route writes its response), never at the cost of the completion itself."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from backend.activations import Accepted
from backend.loadbalancer import Inflight
from test_invoker_slots import message

RECORD = {"activationId": "a" * 32, "response": {"status": "success", "result": {"n": 1}}}


def inflight() -> Inflight:
    return Inflight(message(1, 0), 0, 128, 60000, {}, asyncio.get_running_loop().create_future())


async def test_the_record_reaches_the_caller_in_the_step_that_completes_it() -> None:
    entry = inflight()
    accepted = Accepted(entry.message.activation_id, entry.waiter, inflight=entry)
    seen: list[dict[str, Any]] = []
    waiting = asyncio.create_task(accepted.wait(10, seen.append))
    await asyncio.sleep(0)  # the caller waits
    entry.answer(RECORD)
    assert seen == [RECORD]  # before any other task ran
    assert await waiting == RECORD
    assert entry.waiting is None


async def test_a_failing_answer_does_not_fail_the_completion(caplog: pytest.LogCaptureFixture) -> None:
    entry = inflight()
    accepted = Accepted(entry.message.activation_id, entry.waiter, inflight=entry)

    def broken(_: dict[str, Any]) -> None:
        raise RuntimeError("the response could not be written")

    waiting = asyncio.create_task(accepted.wait(10, broken))
    await asyncio.sleep(0)
    entry.answer(RECORD)  # does not raise: the completion goes on to be stored
    assert await waiting == RECORD  # and the caller still gets the record, to answer the usual way
    assert "could not answer activation" in caplog.text


async def test_a_caller_that_stopped_waiting_is_not_answered_later() -> None:
    entry = inflight()
    accepted = Accepted(entry.message.activation_id, entry.waiter, inflight=entry)
    seen: list[dict[str, Any]] = []
    assert await accepted.wait(0.01, seen.append) is None
    entry.answer(RECORD)
    assert seen == []
    assert entry.waiter.result() == RECORD  # others (a sequence, an operator's cancel) still see it


async def test_a_record_there_before_the_wait_is_returned_at_once() -> None:
    entry = inflight()
    entry.answer(RECORD)
    seen: list[dict[str, Any]] = []
    assert await Accepted(entry.message.activation_id, entry.waiter, inflight=entry).wait(10, seen.append) == RECORD
    assert seen == []
