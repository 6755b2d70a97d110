"""The bus on Apache Kafka (aiokafka): what lets invokers run as processes on other hosts.

Topics are created when missing (the invoker topics with several partitions; an optional prefix
keeps installations apart on one cluster); creating them is idempotent across controllers. The
producer waits for all in-sync replicas and is idempotent. A consumer commits, in the background
every COMMIT_INTERVAL_S, each partition's offset up to the first message not yet acknowledged: so
what was taken but not acknowledged when a process died (an invoker's activation it had not
started, a completion the controller had not stored) is delivered again to whoever consumes next,
and a broker restart or a rebalance loses nothing. Queue depth is the end offsets minus the
group's committed ones.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.structs import OffsetAndMetadata

from .bus import Bus, Consumer, Delivery, Message, is_invoker_topic

log = logging.getLogger("squall.kafka")

COMMIT_INTERVAL_S = 0.05
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # an activation carries the action's code (up to 48 MB)
DEFAULT_PARTITIONS = 4  # of each invoker topic
SESSION_TIMEOUT_MS = 6_000  # a member silent this long leaves its group (its messages go to the next)
HEARTBEAT_MS = 2_000
MAX_POLL_INTERVAL_MS = 900_000  # a member busy with long actions does not lose its partitions


class _Partition:
    """Offsets handed out and not yet acknowledged, in order; what may be committed follows."""

    def __init__(self) -> None:
        self.open: dict[int, bool] = {}  # offset -> acknowledged (insertion order is offset order)
        self.next = -1  # the offset after the last one handed out
        self.committed = -1

    def commit_position(self) -> int:
        for offset, done in self.open.items():
            if not done:
                return offset
        return self.next

    def settle(self, position: int) -> None:
        self.committed = position
        for offset in [o for o in self.open if o < position]:
            del self.open[offset]


class _KafkaConsumer(Consumer, ConsumerRebalanceListener):
    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self._partitions: dict[TopicPartition, _Partition] = {}
        self._committer = asyncio.create_task(self._commit_loop())

    async def get(self) -> Delivery:
        message = await self._consumer.getone()
        tp = TopicPartition(message.topic, message.partition)
        state = self._partitions.setdefault(tp, _Partition())
        state.open[message.offset] = False
        state.next = message.offset + 1

        def ack() -> None:
            if message.offset in state.open:
                state.open[message.offset] = True

        return Delivery(message.value, ack, (message.partition, message.offset))

    async def backlog(self) -> int:
        assigned = self._consumer.assignment()
        if not assigned:
            return 1  # not a member yet: nothing is known to be caught up
        try:
            ends = await self._consumer.end_offsets(list(assigned))
            behind = 0
            for tp, end in ends.items():
                behind += max(0, end - await self._consumer.position(tp))
            return behind
        except KafkaError:
            return 1

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.commit()
        for tp in revoked:  # what was not acknowledged is delivered again, to us or another member
            self._partitions.pop(tp, None)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        return None

    async def _commit_loop(self) -> None:
        while True:
            await asyncio.sleep(COMMIT_INTERVAL_S)
            await self.commit()

    async def commit(self) -> None:
        positions = {tp: state.commit_position() for tp, state in self._partitions.items()}
        due = {tp: pos for tp, pos in positions.items() if pos > self._partitions[tp].committed}
        if not due:
            return
        try:
            await self._consumer.commit({tp: OffsetAndMetadata(pos, "") for tp, pos in due.items()})
        except KafkaError as ex:  # the broker is away, or a rebalance is under way; the next round tries again
            log.debug("commit of %s failed: %s", ", ".join(tp.topic for tp in due), ex)
            return
        for tp, pos in due.items():
            if tp in self._partitions:
                self._partitions[tp].settle(pos)

    async def close(self) -> None:
        self._committer.cancel()
        await self.commit()
        await self._consumer.stop()


class KafkaBus(Bus):
    name = "kafka"
    durable = True

    def __init__(self, bootstrap: str, prefix: str = "", partitions: int = DEFAULT_PARTITIONS) -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.partitions = max(1, partitions)
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None  # group-less, only to read end offsets
        self._topics: dict[str, int] = {}  # name -> partitions (as far as this process knows)
        self._consumers: list[_KafkaConsumer] = []
        self._topic_lock = asyncio.Lock()

    def _name(self, topic: str) -> str:
        return self.prefix + topic

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all",
                                          enable_idempotence=True, max_request_size=MAX_MESSAGE_BYTES,
                                          request_timeout_ms=30_000)
        self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        self._offsets = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await self._admin.start()
        await self._producer.start()
        await self._offsets.start()

    async def stop(self) -> None:
        for consumer in self._consumers:
            await consumer.close()
        for client in (self._producer, self._offsets, self._admin):
            if client is not None:
                await (client.close() if isinstance(client, AIOKafkaAdminClient) else client.stop())

    async def _ensure(self, topic: str) -> str:
        """The topic, created with its partitions (or grown to them) if need be; any number of
        controllers and invokers may do this at once."""
        name = self._name(topic)
        if name in self._topics:
            return name
        wanted = self.partitions if is_invoker_topic(topic) else 1
        async with self._topic_lock:
            if name not in self._topics:
                assert self._admin is not None
                try:
                    await self._admin.create_topics([NewTopic(name, wanted, 1, topic_configs={
                        "max.message.bytes": str(MAX_MESSAGE_BYTES)})])
                    log.info("created topic %s with %d partition(s)", name, wanted)
                    have = wanted
                except TopicAlreadyExistsError:
                    have = await self._grow(name, wanted)
                self._topics[name] = have
        return name

    async def _grow(self, name: str, wanted: int) -> int:
        assert self._admin is not None
        described = await self._admin.describe_topics([name])
        have = len(described[0].get("partitions", [])) if described else wanted
        if have < wanted:
            try:
                await self._admin.create_partitions({name: NewPartitions(total_count=wanted)})
                log.info("grew topic %s from %d to %d partitions", name, have, wanted)
                have = wanted
            except KafkaError as ex:  # another process grew it first
                log.info("topic %s keeps %d partitions: %s", name, have, ex)
        return have

    async def publish(self, topic: str, message: Message, key: bytes | None = None) -> None:
        assert self._producer is not None, "bus not started"
        data = message if isinstance(message, bytes) else message.encode()
        await self._producer.send_and_wait(await self._ensure(topic), data, key=key)

    async def consumer(self, topic: str, group: str) -> Consumer:
        name = await self._ensure(topic)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=self.prefix + group, enable_auto_commit=False,
            auto_offset_reset="earliest", fetch_max_bytes=MAX_MESSAGE_BYTES,
            max_partition_fetch_bytes=MAX_MESSAGE_BYTES, fetch_max_wait_ms=100,
            session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_interval_ms=HEARTBEAT_MS,
            max_poll_interval_ms=MAX_POLL_INTERVAL_MS)
        wrapped = _KafkaConsumer(consumer)
        consumer.subscribe([name], listener=wrapped)
        await consumer.start()
        self._consumers.append(wrapped)
        return wrapped

    async def members(self, group: str) -> int | None:
        """The group's members as its coordinator knows them; a member whose process died stays
        until SESSION_TIMEOUT_MS has passed without its heartbeat."""
        assert self._admin is not None
        try:
            for response in await self._admin.describe_consumer_groups([self.prefix + group]):
                for described in response.groups:  # (error, group, state, protocol type, protocol, members, ...)
                    # a coordinator still loading its groups (after a broker restart) lists none: unknown
                    return len(described[5]) if described[0] == 0 else None
        except KafkaError:
            return None
        return None

    def _partitions_of(self, topic: str) -> list[TopicPartition]:
        name = self._name(topic)
        return [TopicPartition(name, p) for p in range(self._topics.get(name, 0))]

    async def _committed(self, partitions: list[TopicPartition], group: str) -> dict[TopicPartition, int]:
        assert self._admin is not None
        found: dict[TopicPartition, Any] = await self._admin.list_consumer_group_offsets(
            self.prefix + group, partitions=partitions)
        return {tp: max(0, found[tp].offset) if tp in found and found[tp] is not None else 0
                for tp in partitions}

    async def committed(self, topic: str, group: str) -> dict[int, int] | None:
        partitions = self._partitions_of(topic)
        if not partitions:
            return None
        try:
            return {tp.partition: offset for tp, offset in (await self._committed(partitions, group)).items()}
        except KafkaError:
            return None

    async def queue_depth(self, topic: str, group: str) -> int:
        assert self._offsets is not None
        partitions = self._partitions_of(topic)
        if not partitions:
            return 0
        try:
            ends = await self._offsets.end_offsets(partitions)
            committed = await self._committed(partitions, group)
        except KafkaError:
            return -1  # unknown while the broker is away
        return sum(max(0, end - committed[tp]) for tp, end in ends.items())
