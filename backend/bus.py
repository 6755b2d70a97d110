"""The message bus between controller and invokers, shaped after OpenWhisk's Kafka topics.

Topics: `invoker{N}` carries activation messages to invoker N, `completed{C}` carries acks back to
controller C, `health` carries invoker pings. Messages are bytes so that every implementation (the
in-process one here, Kafka beside it) carries exactly the same thing.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections import deque


def invoker_topic(invoker_id: int) -> str:
    return f"invoker{invoker_id}"


def completed_topic(controller_id: int) -> str:
    return f"completed{controller_id}"


HEALTH_TOPIC = "health"


class Consumer(ABC):
    """Reads one topic on behalf of one consumer group."""

    @abstractmethod
    async def get(self) -> bytes:
        """The next message; waits until there is one."""

    async def close(self) -> None:
        return None


class Bus(ABC):
    name: str

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    @abstractmethod
    async def publish(self, topic: str, message: bytes) -> None:
        """Hand a message to the bus; returns once the bus holds it."""

    @abstractmethod
    async def consumer(self, topic: str, group: str) -> Consumer:
        """A consumer of `topic` in `group`; members of a group share the topic's messages."""

    @abstractmethod
    async def queue_depth(self, topic: str, group: str) -> int:
        """Messages published to `topic` that `group` has not taken yet."""


class _Topic:
    def __init__(self) -> None:
        self.messages: deque[bytes] = deque()
        self.ready = asyncio.Event()


class _MemoryConsumer(Consumer):
    def __init__(self, topic: _Topic) -> None:
        self._topic = topic

    async def get(self) -> bytes:
        topic = self._topic
        while not topic.messages:
            topic.ready.clear()
            await topic.ready.wait()
        message = topic.messages.popleft()
        if topic.messages:
            topic.ready.set()  # wake another waiting member of the group
        return message


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

    async def publish(self, topic: str, message: bytes) -> None:
        t = self._topic(topic)
        t.messages.append(message)
        t.ready.set()

    async def consumer(self, topic: str, group: str) -> Consumer:
        return _MemoryConsumer(self._topic(topic))

    async def queue_depth(self, topic: str, group: str) -> int:
        t = self._topics.get(topic)
        return len(t.messages) if t else 0
