"""The in-process bus's hand-over: a consumer ready for a message takes it in the publisher's step;
what it declines, and whatever is published while something waits in the queue, keeps the
topic's order for `get`; a closed consumer is offered nothing."""

from __future__ import annotations

from backend.bus import Delivery, MemoryBus


async def test_declined_messages_queue_in_order_and_a_closed_consumer_is_offered_nothing() -> None:
    bus = MemoryBus()
    consumer = await bus.consumer("invoker0", "invoker0")
    taken: list[bytes] = []
    accepting = True

    def take(delivery: Delivery) -> bool:
        if accepting:
            taken.append(delivery.data)
        return accepting

    assert consumer.hand_over(take)
    await bus.publish("invoker0", b"1")
    assert taken == [b"1"] and await bus.queue_depth("invoker0", "invoker0") == 0

    accepting = False
    await bus.publish("invoker0", b"2")  # declined: queued
    accepting = True
    await bus.publish("invoker0", b"3")  # taken now it would jump ahead of 2: queued behind it
    assert taken == [b"1"] and await bus.queue_depth("invoker0", "invoker0") == 2
    assert (await consumer.get()).data == b"2"
    assert consumer.get_nowait().data == b"3"

    await bus.publish("invoker0", b"4")  # the queue is empty again: handed over
    assert taken == [b"1", b"4"]

    await consumer.close()
    await bus.publish("invoker0", b"5")
    assert taken == [b"1", b"4"] and await bus.queue_depth("invoker0", "invoker0") == 1
