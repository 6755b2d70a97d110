"""The message bus between controller and invokers, shaped after OpenWhisk's Kafka topics.

Topics: `invoker{N}` carries activation messages to invoker N, `completed{C}` carries acks back to
controller C, `health` carries invoker pings. A message is encoded to bytes (JSON) wherever it
crosses processes (Kafka); the in-process bus hands the object itself over, which spares the hot
path an encode and a decode each way (both buses carry the same messages).
"""

from __future__ import annotations

import asyncio
import logging
import re
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Protocol, TypeVar, Union

log = logging.getLogger("squall.bus")

T = TypeVar("T")


def invoker_topic(invoker_id: int) -> str:
    return f"invoker{invoker_id}"


def control_topic(invoker_id: int) -> str:
    """Commands for one invoker: its welcome, cancelling an activation, removing a container."""
    return f"invoker{invoker_id}-control"


def is_invoker_topic(topic: str) -> bool:
    """An invoker's activation topic (its control topic is not one)."""
    return re.fullmatch(r"invoker\d+", topic) is not None


def completed_topic(controller_id: int) -> str:
    return f"completed{controller_id}"


HEALTH_TOPIC = "health"


class Encodable(Protocol):
    def encode(self) -> bytes: ...


Message = Union[bytes, Encodable]  # what a bus takes: bytes, or a message it encodes if it must


@dataclass
class Delivery:
    """A message taken from a topic. Acknowledging it lets the group move past it for good; what
    is not acknowledged when a consumer dies is delivered again (on a durable bus)."""

    data: bytes
    _ack: Callable[[], None] | None = None
    position: tuple[int, int] | None = None  # (partition, offset) on a durable bus
    message: Any = None  # the object itself, on the in-process bus (it was never encoded)

    def decoded(self, decode: Callable[[bytes], T]) -> T:
        return self.message if self.message is not None else decode(self.data)

    def ack(self) -> None:
        if self._ack is not None:
            self._ack()
            self._ack = None


class Consumer(ABC):
    """Reads one topic on behalf of one consumer group."""

    @abstractmethod
    async def get(self) -> Delivery:
        """The next message; waits until there is one."""

    def get_nowait(self) -> Delivery | None:
        """The next message if the bus holds one here and now, else None (a bus that must ask
        elsewhere always says None: its `get` is the way)."""
        return None

    def hand_over(self, take: Callable[[Delivery], bool]) -> bool:
        """Offer each message published from now on to `take` in the publisher's own step, when
        none is queued before it; a message `take` declines (False) is queued for `get`. `take`
        must not raise. False: this bus cannot (it must ask elsewhere: `get` is the way)."""
        return False

    async def backlog(self) -> int:
        """Messages of the topic this consumer has not been handed yet (0 when caught up)."""
        return 0

    async def close(self) -> None:
        return None


class Bus(ABC):
    name: str
    durable = False  # messages outlive the processes, so a restarted one finds what was left for it

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    @abstractmethod
    async def publish(self, topic: str, message: Message, key: bytes | None = None) -> None:
        """Hand a message to the bus; returns once the bus holds it. Messages of one key keep
        their order (a topic may have several partitions). A bus that crosses processes encodes
        what is not bytes; the in-process bus hands the object itself to the consumer."""

    @abstractmethod
    async def consumer(self, topic: str, group: str) -> Consumer:
        """A consumer of `topic` in `group`; members of a group share the topic's messages."""

    async def members(self, group: str) -> int | None:
        """How many consumers `group` has now, where the bus can tell (None: it cannot)."""
        return None

    async def committed(self, topic: str, group: str) -> dict[int, int] | None:
        """Per partition, the offset `group` will read `topic` from next (None: unknown)."""
        return None

    @abstractmethod
    async def queue_depth(self, topic: str, group: str) -> int:
        """Messages published to `topic` that `group` has not taken yet."""


class _Topic:
    def __init__(self) -> None:
        self.messages: deque[Message] = deque()
        self.ready = asyncio.Event()
        self.take: Callable[[Delivery], bool] | None = None


def _delivery(message: Message) -> Delivery:
    return Delivery(message) if isinstance(message, bytes) else Delivery(b"", message=message)


class _MemoryConsumer(Consumer):
    def __init__(self, topic: _Topic) -> None:
        self._topic = topic

    async def get(self) -> Delivery:
        topic = self._topic
        while not topic.messages:
            topic.ready.clear()
            await topic.ready.wait()
        return self._take()

    def get_nowait(self) -> Delivery | None:
        return self._take() if self._topic.messages else None

    def _take(self) -> Delivery:
        topic = self._topic
        message = topic.messages.popleft()
        if topic.messages:
            topic.ready.set()  # wake another waiting member of the group
        return _delivery(message)

    def hand_over(self, take: Callable[[Delivery], bool]) -> bool:
        self._topic.take = take
        return True

    async def close(self) -> None:
        self._topic.take = None

    async def backlog(self) -> int:
        return len(self._topic.messages)


class MemoryBus(Bus):
    """The embedded bus: one process, per-topic FIFO queues, one consumer group per topic."""

    name = "memory"

    def __init__(self) -> None:
        self._topics: dict[str, _Topic] = {}

    def _topic(self, name: str) -> _Topic:
        topic = self._topics.get(name)
        if topic is None:
            topic = self._topics[name] = _Topic()
        return topic

    async def publish(self, topic: str, message: Message, key: bytes | None = None) -> None:
        """A consumer that takes the message here and now spares the hop through its loop: a
        task's wakeup on each side of an invoke (docs/benchmarks.md, the ninth round)."""
        t = self._topic(topic)
        if not t.messages and t.take is not None and t.take(_delivery(message)):
            return
        t.messages.append(message)
        t.ready.set()

    async def consumer(self, topic: str, group: str) -> Consumer:
        return _MemoryConsumer(self._topic(topic))

    async def queue_depth(self, topic: str, group: str) -> int:
        t = self._topics.get(topic)
        return len(t.messages) if t else 0


async def deliver(bus: Bus, topic: str, message: Message, give_up_after_s: float, sender: str) -> None:
    """Publish, retrying while the bus is away (backing off to 5 s), for up to `give_up_after_s`."""
    delay = 0.1
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after_s
    while True:
        try:
            await bus.publish(topic, message)
            return
        except Exception as ex:
            if loop.time() > deadline:
                log.error("%s gave up sending to %s after %.0fs: %s", sender, topic, give_up_after_s, ex)
                return
            log.warning("%s could not send to %s (%s); retrying", sender, topic, ex)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
