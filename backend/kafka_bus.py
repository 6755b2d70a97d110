"""The bus on Apache Kafka (aiokafka): what lets invokers run as processes on other hosts.

Topics are created when missing (one partition each; an optional prefix keeps installations apart on
one cluster). The producer waits for all in-sync replicas and is idempotent. A consumer commits what
it has taken, in the background every COMMIT_INTERVAL_S, so a message is handed out once per group
even across restarts (an activation lost with a crashed invoker is completed by the controller's
forced ack, as in OpenWhisk). Queue depth is the topic's end offset minus the group's committed one.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.structs import OffsetAndMetadata

from .bus import Bus, Consumer

log = logging.getLogger("squall.kafka")

COMMIT_INTERVAL_S = 0.05
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # an activation carries the action's code (up to 48 MB)


class _KafkaConsumer(Consumer):
    def __init__(self, consumer: AIOKafkaConsumer, topic: str) -> None:
        self._consumer = consumer
        self._partition = TopicPartition(topic, 0)
        self._taken: int | None = None
        self._committed: int | None = None
        self._committer = asyncio.create_task(self._commit_loop())

    async def get(self) -> bytes:
        message = await self._consumer.getone()
        self._taken = message.offset + 1
        return message.value

    async def _commit_loop(self) -> None:
        while True:
            await asyncio.sleep(COMMIT_INTERVAL_S)
            await self.commit()

    async def commit(self) -> None:
        taken = self._taken
        if taken is None or taken == self._committed:
            return
        try:
            await self._consumer.commit({self._partition: OffsetAndMetadata(taken, "")})
            self._committed = taken
        except KafkaError as ex:  # the broker is away; the next round tries again
            log.debug("commit of %s failed: %s", self._partition.topic, ex)

    async def close(self) -> None:
        self._committer.cancel()
        await self.commit()
        await self._consumer.stop()


class KafkaBus(Bus):
    name = "kafka"

    def __init__(self, bootstrap: str, prefix: str = "") -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None  # group-less, only to read end offsets
        self._topics: set[str] = set()
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
        self._topics = set(await self._admin.list_topics())

    async def stop(self) -> None:
        for consumer in self._consumers:
            await consumer.close()
        for client in (self._producer, self._offsets, self._admin):
            if client is not None:
                await (client.close() if isinstance(client, AIOKafkaAdminClient) else client.stop())

    async def _ensure(self, topic: str) -> str:
        name = self._name(topic)
        if name in self._topics:
            return name
        async with self._topic_lock:
            if name not in self._topics:
                assert self._admin is not None
                try:
                    await self._admin.create_topics([NewTopic(name, 1, 1, topic_configs={
                        "max.message.bytes": str(MAX_MESSAGE_BYTES)})])
                    log.info("created topic %s", name)
                except TopicAlreadyExistsError:
                    pass
                self._topics.add(name)
        return name

    async def publish(self, topic: str, message: bytes) -> None:
        assert self._producer is not None, "bus not started"
        await self._producer.send_and_wait(await self._ensure(topic), message)

    async def consumer(self, topic: str, group: str) -> Consumer:
        name = await self._ensure(topic)
        consumer = AIOKafkaConsumer(
            name, bootstrap_servers=self.bootstrap, group_id=self.prefix + group, enable_auto_commit=False,
            auto_offset_reset="earliest", fetch_max_bytes=MAX_MESSAGE_BYTES,
            max_partition_fetch_bytes=MAX_MESSAGE_BYTES, fetch_max_wait_ms=100)
        await consumer.start()
        wrapped = _KafkaConsumer(consumer, name)
        self._consumers.append(wrapped)
        return wrapped

    async def queue_depth(self, topic: str, group: str) -> int:
        assert self._admin is not None and self._offsets is not None
        name = self._name(topic)
        if name not in self._topics:
            return 0
        partition = TopicPartition(name, 0)
        try:
            end = (await self._offsets.end_offsets([partition]))[partition]
            committed: dict[TopicPartition, Any] = await self._admin.list_consumer_group_offsets(
                self.prefix + group, partitions=[partition])
        except KafkaError:
            return -1  # unknown while the broker is away
        offset = committed.get(partition)
        done = offset.offset if offset is not None and offset.offset >= 0 else 0
        return max(0, end - done)
