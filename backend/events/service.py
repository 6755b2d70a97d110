"""What the controller holds of events: triggers and rules, firing, and the built-in feeds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .alarms import Alarms
from .documents import Trigger
from .feeds import Feeds
from .firing import Firing
from .kafka_feed import KafkaFeeds
from .registry import EventRegistry

if TYPE_CHECKING:
    from ..controller import Controller


class Events:
    def __init__(self, ctl: "Controller") -> None:
        self.ctl = ctl
        self.registry = EventRegistry(ctl.store, ctl.registry)
        self.firing = Firing(ctl)
        self.alarms = Alarms(ctl)
        self.kafka = KafkaFeeds(ctl)
        self.feeds = Feeds(ctl, {"alarms": self.alarms, "messaging": self.kafka})

    async def start(self) -> None:
        await self.registry.load()
        feeds = await self.ctl.store.feeds()
        self.alarms.start(feeds)
        self.kafka.start(feeds)
        await self.firing.replay()

    async def stop(self) -> None:
        await self.alarms.stop()
        await self.kafka.stop()
        await self.firing.stop()

    async def delete_trigger(self, namespace: str, name: str, with_rules: bool = False) -> Trigger:
        """The trigger and its feed's schedule or subscription (a client deletes the feed first;
        one that did not leaves nothing running)."""
        key = f"{namespace}/{name}"
        self.alarms.forget(key)
        await self.kafka.forget(key)
        trigger = await self.registry.trigger(namespace, name)
        if with_rules:
            for rule in self.registry.rules_of(trigger.fqn):
                await self.registry.delete_rule(rule.namespace, rule.name)
        return await self.registry.delete_trigger(namespace, name)
