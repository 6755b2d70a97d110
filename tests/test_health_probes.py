"""Health test actions: an invoker held unresponsive by ack timeouts gets test activations, and
their answers make it healthy again without any user traffic (the controller over the in-process
bus, with this test playing the invoker)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from backend.activations import SUCCESS, activation_record, now_ms
from backend.bus import MemoryBus, completed_topic, invoker_topic
from backend.controller import Controller
from backend.loadbalancer import HEALTHY, UNRESPONSIVE
from backend.messages import ActivationMessage, CompletionMessage, PingMessage
from backend.store import Store


async def test_an_unresponsive_invoker_recovers_through_test_actions(tmp_path: Path) -> None:
    store = Store(tmp_path / "squall.db")
    await store.open()
    bus = MemoryBus()
    ctl = Controller(store, bus)
    await ctl.start()
    try:
        ctl.lb.on_ping(PingMessage(0, 2048, now_ms()))
        for _ in range(4):
            ctl.lb.record_outcome(0, "timeout")
        assert ctl.lb.states() == {0: UNRESPONSIVE}
        work = await bus.consumer(invoker_topic(0), "invoker0")
        seen = []
        deadline = time.monotonic() + 30
        while ctl.lb.states()[0] != HEALTHY:
            assert time.monotonic() < deadline, f"still {ctl.lb.states()} after {len(seen)} test actions"
            ctl.lb.on_ping(PingMessage(0, 2048, now_ms()))
            msg = (await asyncio.wait_for(work.get(), 5)).decoded(ActivationMessage.decode)
            seen.append(msg)
            record = activation_record(namespace=msg.namespace, name=msg.name, subject=msg.subject,
                                       activation_id=msg.activation_id, version=msg.version, start=now_ms(),
                                       end=now_ms(), status=SUCCESS, result={}, logs=[], kind="python:3",
                                       limits={})
            await bus.publish(completed_topic(0), CompletionMessage(msg.activation_id, 0, False, record).encode())
            await asyncio.sleep(0.05)
        assert {m.name for m in seen} == {"invokerHealthTestAction0"}
        assert {m.namespace for m in seen} == {"whisk.system"}
        assert len(seen) == 7  # until only 3 of the last 10 outcomes are timeouts
        # test activations leave no record, and a healthy invoker gets none
        assert await store.count_activations("whisk.system") == 0
        await asyncio.sleep(1.5)
        assert await bus.queue_depth(invoker_topic(0), "invoker0") == 0
    finally:
        await ctl.stop()
        await store.close()
