"""`/whisk.system/messaging/kafkaFeed`: a trigger fired for the messages of a user's Kafka topic.

A feed reads every partition of its topic from the positions kept in the store, and each fire
commits the partition's next position in the same transaction as the fire's record: a message is
fired once, never twice and never lost, whatever moment the controller is killed at. (The offsets
are also committed to the group `squall-feed-<ns>-<trigger>`, so Kafka's own tools show its lag.)
By default each message is one fire (its `key` and `value` as parameters, and `messages`, as
OpenWhisk's feed sends them); with `batch: true` a fire carries up to BATCH_BYTES of messages.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from ..activations import now_ms
from ..errors import EntityError
from ..store import Identity
from .documents import Trigger
from .feeds import FeedError
from ..jsontext import loads

if TYPE_CHECKING:
    from ..controller import Controller

log = logging.getLogger("squall.kafka_feed")

BATCH_BYTES = 900_000  # as OpenWhisk's provider bounds a batch
POLL_MS = 500
RETRY_S = 1.0
PARTITIONS_EVERY_S = 10.0  # how often a feed looks for partitions added to its topic


def _flag(params: dict[str, Any], name: str) -> bool:
    value = params.get(name, False)
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _text(raw: bytes | None, binary: bool) -> str | None:
    if raw is None:
        return None
    return base64.b64encode(raw).decode() if binary else raw.decode("utf-8", errors="replace")


class KafkaFeed:
    """One trigger's subscription: a consumer task over every partition of the topic."""

    def __init__(self, ctl: "Controller", key: str, doc: dict[str, Any]) -> None:
        self.ctl = ctl
        self.key = key
        self.doc = doc
        self.fired = 0
        self.error: str | None = None
        self._task = asyncio.create_task(self._run())

    def message(self, record: Any) -> dict[str, Any]:
        value: Any = _text(record.value, self.doc["isBinaryValue"])
        if self.doc["isJSONData"] and value is not None:
            try:
                value = loads(value)
            except ValueError:
                pass
        return {"value": value, "topic": record.topic, "partition": record.partition, "offset": record.offset,
                "key": _text(record.key, self.doc["isBinaryKey"])}

    async def _run(self) -> None:
        while True:
            consumer = AIOKafkaConsumer(bootstrap_servers=self.doc["brokers"], enable_auto_commit=False,
                                        group_id=f"squall-feed-{self.key.replace('/', '-')}")
            try:
                await consumer.start()
                await self._consume(consumer)
            except asyncio.CancelledError:
                raise
            except Exception as ex:  # the brokers are away: the positions in the store wait for them
                if self.error != str(ex):
                    log.warning("kafka feed %s: %s; trying again", self.key, ex)
                self.error = str(ex)
            finally:
                await consumer.stop()
            await asyncio.sleep(RETRY_S)

    async def _assign(self, consumer: AIOKafkaConsumer, assigned: set[TopicPartition]) -> set[TopicPartition]:
        partitions = await self.ctl.events.kafka.partitions(consumer, self.doc["topic"])
        wanted = {TopicPartition(self.doc["topic"], p) for p in partitions}
        if wanted != assigned:
            consumer.assign(sorted(wanted))
            positions = await self.ctl.store.feed_positions(self.key)
            for tp in wanted:  # a partition that appeared after the feed was made is read from its start
                position = positions.get((tp.topic, tp.partition))
                if position is None:
                    await consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, position)
        return wanted

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        assigned: set[TopicPartition] = set()
        loop = asyncio.get_running_loop()
        looked = 0.0
        while True:
            if loop.time() - looked > (PARTITIONS_EVERY_S if assigned else RETRY_S):
                assigned = await self._assign(consumer, assigned)
                looked = loop.time()
            if not self.doc["status"]["active"] or not assigned:  # paused, or the topic is not there yet
                await asyncio.sleep(POLL_MS / 1000)
                continue
            batches = await consumer.getmany(timeout_ms=POLL_MS, max_records=500)
            self.error = None
            for tp, records in batches.items():
                for group in self._groups(records):
                    await self._fire(tp, group)
                if records:
                    try:
                        await consumer.commit({tp: OffsetAndMetadata(records[-1].offset + 1, "")})
                    except KafkaError:
                        pass  # the store holds the position; Kafka's copy is for its tools

    def _groups(self, records: list[Any]) -> list[list[Any]]:
        if not self.doc["batch"]:
            return [[r] for r in records]
        groups: list[list[Any]] = [[]]
        size = 0
        for r in records:
            length = len(json.dumps(self.message(r)))
            if groups[-1] and size + length > BATCH_BYTES:
                groups.append([])
                size = 0
            groups[-1].append(r)
            size += length
        return [g for g in groups if g]

    async def _fire(self, tp: TopicPartition, records: list[Any]) -> None:
        messages = [self.message(r) for r in records]
        payload: dict[str, Any] = {"messages": messages}
        if not self.doc["batch"]:
            payload.update({k: messages[0][k] for k in ("key", "value", "topic", "partition", "offset")})
        also = [self.ctl.store.position_statement(self.key, tp.topic, tp.partition, records[-1].offset + 1)]
        while True:  # until it is recorded: a message is not skipped
            owner = self.ctl.identity(self.doc["namespace"])
            trigger = self.ctl.events.registry.triggers.get((self.doc["namespace"], self.doc["name"]))
            if owner is None or trigger is None:  # being deleted: its feed is stopped next
                await asyncio.sleep(RETRY_S)
                continue
            await self.ctl.events.firing.room()
            try:
                await self.ctl.events.firing.fire(owner, trigger, payload, also=also)
                self.fired += len(records)
                return
            except EntityError as ex:  # throttled: the message waits
                if self.error != ex.message:
                    log.warning("kafka feed %s: %s; the message waits", self.key, ex.message)
                self.error = ex.message
                await asyncio.sleep(RETRY_S)

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


class KafkaFeeds:
    def __init__(self, ctl: "Controller") -> None:
        self.ctl = ctl
        self.feeds: dict[str, KafkaFeed] = {}

    @staticmethod
    async def partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
        await consumer._client.force_metadata_update()  # aiokafka caches a topic's partitions
        return consumer.partitions_for_topic(topic) or set()

    async def handle(self, event: str, feed: str, owner: Identity, trigger: Trigger,
                     params: dict[str, Any]) -> dict[str, Any]:
        key = f"{trigger.namespace}/{trigger.name}"
        if feed != "kafkaFeed":
            raise FeedError("unsupported messaging feed")
        running = self.feeds.get(key)
        if event == "CREATE":
            doc = self._validate(trigger, params)
            positions = await self._ends(doc)
            if running is not None:
                await running.stop()
            await self.ctl.store.delete_feed(key)
            await self.ctl.store.put_feed(key, doc, [self.ctl.store.position_statement(key, doc["topic"], p, o)
                                                     for p, o in positions.items()])
            self.feeds[key] = KafkaFeed(self.ctl, key, doc)
            return {"status": "success"}
        if event == "DELETE":
            await self.forget(key)
            await self.ctl.store.delete_feed(key)
            return {"status": "success"}
        if running is None:
            raise FeedError(f"could not find trigger {key} in the database")
        doc = running.doc
        if event == "READ":
            config = {k: doc[k] for k in ("topic", "brokers", "isJSONData", "isBinaryKey", "isBinaryValue", "batch")}
            return {"config": {"triggerName": f"/{key}", **config},
                    "status": {**doc["status"], "fired": running.fired, "error": running.error}}
        if event == "UPDATE":
            flags = {"isJSONData", "isBinaryKey", "isBinaryValue", "batch"} & set(params)
            if not flags:
                raise FeedError("At least one of isJsonData, isBinaryKey, or isBinaryValue must be supplied.")
            doc.update({f: _flag(params, f) for f in flags})
        else:
            doc["status"] = {"active": event == "UNPAUSE", "dateChanged": now_ms()}
        await self.ctl.store.put_feed(key, doc)
        return {"status": "success"}

    @staticmethod
    def _validate(trigger: Trigger, params: dict[str, Any]) -> dict[str, Any]:
        topic = params.get("topic")
        if not isinstance(topic, str) or not topic:
            raise FeedError("You must supply a 'topic' parameter.")
        brokers = params.get("brokers")
        if isinstance(brokers, str):
            brokers = [b.strip() for b in brokers.split(",") if b.strip()]
        if not brokers:
            raise FeedError("You must supply a 'brokers' parameter.")
        if not isinstance(brokers, list) or not all(isinstance(b, str) for b in brokers):
            raise FeedError("You must supply a 'brokers' parameter as an array of Message Hub brokers.")
        if _flag(params, "isJSONData") and _flag(params, "isBinaryValue"):
            raise FeedError("isJSONData and isBinaryValue cannot both be enabled.")
        return {"provider": "kafka", "namespace": trigger.namespace, "name": trigger.name, "topic": topic,
                "brokers": brokers, "isJSONData": _flag(params, "isJSONData"),
                "isBinaryKey": _flag(params, "isBinaryKey"), "isBinaryValue": _flag(params, "isBinaryValue"),
                "batch": _flag(params, "batch"), "status": {"active": True, "dateChanged": now_ms()}}

    async def _ends(self, doc: dict[str, Any]) -> dict[int, int]:
        """Where the feed starts: the end of each partition now (what is produced from now on)."""
        consumer = AIOKafkaConsumer(bootstrap_servers=doc["brokers"], enable_auto_commit=False,
                                    request_timeout_ms=10_000)
        try:
            await asyncio.wait_for(consumer.start(), 15)
            partitions = [TopicPartition(doc["topic"], p) for p in await self.partitions(consumer, doc["topic"])]
            ends = await consumer.end_offsets(partitions) if partitions else {}
            return {tp.partition: offset for tp, offset in ends.items()}
        except (KafkaError, TimeoutError, OSError) as ex:
            raise FeedError(f"The Kafka brokers {', '.join(doc['brokers'])} could not be reached: {ex}") from None
        finally:
            await consumer.stop()

    def start(self, feeds: dict[str, dict[str, Any]]) -> None:
        for key, doc in feeds.items():
            if doc.get("provider") == "kafka":
                self.feeds[key] = KafkaFeed(self.ctl, key, doc)

    async def forget(self, key: str) -> None:
        running = self.feeds.pop(key, None)
        if running is not None:
            await running.stop()

    async def stop(self) -> None:
        for key in list(self.feeds):
            await self.forget(key)
