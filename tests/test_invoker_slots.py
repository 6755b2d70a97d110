"""An invoker's slots on the in-process bus: a slot runs what its topic already holds in one task
(the container it released taken up at once); every activation still runs once, each can be
cancelled while it runs, and a slot is free again once its topic is empty."""

from __future__ import annotations

import asyncio
from pathlib import Path

from backend import errors as X
from backend.bus import MemoryBus, completed_topic, invoker_topic
from backend.invoker import Invoker
from backend.messages import ActivationMessage
from backend.process_runtime import ProcessRuntime
from backend.runtimes import run_dir

SLEEPY = "import time\ndef main(args):\n    time.sleep(args.get('seconds', 0))\n    return {'n': args['n']}\n"


def message(n: int, seconds: float) -> ActivationMessage:
    action = {"namespace": "guest", "name": "sleepy", "version": "0.0.1",
              "exec": {"kind": "python:3", "code": SLEEPY},
              "limits": {"timeout": 60000, "memory": 128, "logs": 10, "concurrency": 1}}
    return ActivationMessage(transid=f"t{n}", activation_id=f"{n:032x}", namespace="guest", name="sleepy",
                             version="0.0.1", subject="guest", blocking=True, controller=0, accepted=0,
                             content={"n": n, "seconds": seconds}, action=action, path="guest/sleepy")


async def test_one_slot_runs_queued_activations_in_turn_and_each_can_be_cancelled(tmp_path: Path) -> None:
    bus = MemoryBus()
    # 128 MB of user memory: one slot, one container, so activations 2 and 3 follow 1 on its slot.
    invoker = Invoker(0, bus, ProcessRuntime(run_dir(tmp_path), "http://127.0.0.1:1"), user_memory_mb=128,
                      prewarm=None)
    completions = await bus.consumer(completed_topic(0), "controller0")
    await invoker.start()
    try:
        for n, seconds in ((1, 0.3), (2, 30), (3, 0)):
            await bus.publish(invoker_topic(0), message(n, seconds))
        first = (await asyncio.wait_for(completions.get(), 30)).message
        assert first.activation_id == f"{1:032x}" and first.record["response"]["result"] == {"n": 1}
        second = f"{2:032x}"
        for _ in range(300):  # the second runs on the slot the first held
            if second in invoker._current:
                break
            await asyncio.sleep(0.01)
        assert invoker.cancel(second, X.CANCELLED_BY_OPERATOR)
        cancelled = (await asyncio.wait_for(completions.get(), 10)).message
        assert cancelled.activation_id == second
        assert cancelled.record["response"]["result"] == {"error": X.CANCELLED_BY_OPERATOR}
        third = (await asyncio.wait_for(completions.get(), 30)).message
        assert third.activation_id == f"{3:032x}" and third.record["response"]["result"] == {"n": 3}
        # The slot is free again: a later message runs, and nothing is left marked running.
        await bus.publish(invoker_topic(0), message(4, 0))
        fourth = (await asyncio.wait_for(completions.get(), 30)).message
        assert fourth.record["response"]["result"] == {"n": 4}
        for _ in range(100):
            if not invoker._running:
                break
            await asyncio.sleep(0.01)
        assert invoker._running == {}
        assert invoker.pool.cold_starts == 2  # the cancelled run's container went; one more served 3 and 4
    finally:
        await invoker.stop(grace_s=5)


async def test_an_activation_cancelled_before_its_task_begins_ends_with_a_record(tmp_path: Path) -> None:
    """On the in-process bus an activation's task is made as it is published, and a warm
    container's /run sent then: a cancel in that same step still ends it with its record, and
    the container it had taken is not left busy."""
    bus = MemoryBus()
    invoker = Invoker(0, bus, ProcessRuntime(run_dir(tmp_path), "http://127.0.0.1:1"), user_memory_mb=384,
                      prewarm=None)
    completions = await bus.consumer(completed_topic(0), "controller0")
    await invoker.start()
    try:
        await bus.publish(invoker_topic(0), message(1, 0))  # a cold start, and then a warm container
        assert (await asyncio.wait_for(completions.get(), 30)).message.record["response"]["result"] == {"n": 1}
        await asyncio.sleep(0)  # its slot is free
        for n in (2, 3):  # 2 finds the warm container, 3 a cold start
            await bus.publish(invoker_topic(0), message(n, 0))
            assert invoker.cancel(f"{n:032x}", X.CANCELLED_BY_OPERATOR)
        ended = [(await asyncio.wait_for(completions.get(), 30)).message for _ in range(2)]
        assert sorted(m.activation_id for m in ended) == [f"{2:032x}", f"{3:032x}"]
        assert all(m.record["response"]["result"] == {"error": X.CANCELLED_BY_OPERATOR} for m in ended)
        for _ in range(100):
            if not invoker._running:
                break
            await asyncio.sleep(0.01)
        assert invoker._running == {} and invoker._current == {}
        assert all(c["state"] != "busy" for c in invoker.pool.describe())
        await bus.publish(invoker_topic(0), message(4, 0))  # and the slots are free again
        assert (await asyncio.wait_for(completions.get(), 30)).message.record["response"]["result"] == {"n": 4}
    finally:
        await invoker.stop(grace_s=5)
