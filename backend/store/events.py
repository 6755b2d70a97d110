"""Triggers, rules, and what keeps events from being lost: fires not yet delivered to their rules'
actions, alarm schedules, and the positions of Kafka feeds, each written in the same transaction
as the fire it caused."""

from __future__ import annotations

from typing import Any, Sequence

from ..events.documents import Rule, Trigger
from .base import StoreBase, dumps
from ..jsontext import loads

Statement = tuple[str, Sequence[Any]]


def _insert_record(record: dict[str, Any], verb: str = "INSERT") -> Statement:
    """A final activation record as a row of `activations` (a fire's, or a run that never started)."""
    return (f"{verb} INTO activations (id, namespace, name, start, status, doc) VALUES (?, ?, ?, ?, ?, ?)",
            (record["activationId"], record["namespace"], record["name"], record["start"],
             record["response"]["status"], dumps(record)))


class EventStore(StoreBase):
    # --- triggers and rules -------------------------------------------------------------------

    async def put_trigger(self, trigger: Trigger) -> None:
        await self.write(
            "INSERT OR REPLACE INTO triggers (namespace, name, doc, updated) VALUES (?, ?, ?, ?)",
            (trigger.namespace, trigger.name, dumps(trigger.to_json()), trigger.updated))

    async def delete_trigger(self, namespace: str, name: str) -> None:
        """The trigger, its feed and the feed's positions (its rules stay, as in OpenWhisk)."""
        key = f"{namespace}/{name}"
        await self.atomic([
            ("DELETE FROM triggers WHERE namespace = ? AND name = ?", (namespace, name)),
            ("DELETE FROM feeds WHERE trigger = ?", (key,)),
            ("DELETE FROM feed_positions WHERE trigger = ?", (key,)),
        ])

    async def all_triggers(self) -> list[Trigger]:
        rows = await self.db.execute_fetchall("SELECT doc FROM triggers")
        return [Trigger.from_json(loads(r[0])) for r in rows]

    async def put_rule(self, rule: Rule) -> None:
        await self.write(
            "INSERT OR REPLACE INTO rules (namespace, name, doc, updated) VALUES (?, ?, ?, ?)",
            (rule.namespace, rule.name, dumps(rule.to_json()), rule.updated))

    async def delete_rule(self, namespace: str, name: str) -> None:
        await self.write("DELETE FROM rules WHERE namespace = ? AND name = ?", (namespace, name))

    async def all_rules(self) -> list[Rule]:
        rows = await self.db.execute_fetchall("SELECT doc FROM rules")
        return [Rule.from_json(loads(r[0])) for r in rows]

    # --- fires --------------------------------------------------------------------------------

    async def add_fire(self, record: dict[str, Any], plan: dict[str, Any] | None,
                       also: Sequence[Statement] = ()) -> None:
        """A trigger's activation record and, when some rule's action must still run, the plan of
        what to run: one transaction, so a fire answered 202 is never lost (`also`: a feed's
        position moves with it)."""
        statements = [_insert_record(record)]
        if plan is not None:
            statements.append(("INSERT INTO fires (id, doc) VALUES (?, ?)", (record["activationId"], dumps(plan))))
        await self.atomic([*statements, *also])

    async def fire_delivered(self, fire_id: str) -> None:
        await self.write("DELETE FROM fires WHERE id = ?", (fire_id,))

    async def undelivered_fires(self) -> list[dict[str, Any]]:
        rows = await self.db.execute_fetchall("SELECT doc FROM fires ORDER BY rowid")
        return [loads(r[0]) for r in rows]

    async def has_activation(self, activation_id: str) -> bool:
        """Whether an activation id has a record, final or pending."""
        rows = await self.db.execute_fetchall("SELECT 1 FROM activations WHERE id = ?", (activation_id,))
        return bool(rows)

    async def add_record(self, record: dict[str, Any]) -> bool:
        """A final record for an id that has none yet (a rule's action that could not be started)."""
        changed = await self.write(*_insert_record(record, "INSERT OR IGNORE"))
        return changed > 0

    # --- feeds (an alarm's schedule, a Kafka topic's subscription) and their positions ---------

    @staticmethod
    def feed_statement(trigger: str, doc: dict[str, Any]) -> Statement:
        return ("INSERT OR REPLACE INTO feeds (trigger, doc) VALUES (?, ?)", (trigger, dumps(doc)))

    async def put_feed(self, trigger: str, doc: dict[str, Any], also: Sequence[Statement] = ()) -> None:
        await self.atomic([self.feed_statement(trigger, doc), *also])

    async def delete_feed(self, trigger: str) -> None:
        await self.atomic([("DELETE FROM feeds WHERE trigger = ?", (trigger,)),
                           ("DELETE FROM feed_positions WHERE trigger = ?", (trigger,))])

    async def feeds(self) -> dict[str, dict[str, Any]]:
        rows = await self.db.execute_fetchall("SELECT trigger, doc FROM feeds")
        return {r[0]: loads(r[1]) for r in rows}

    @staticmethod
    def position_statement(trigger: str, topic: str, partition: int, next_offset: int) -> Statement:
        return ("INSERT OR REPLACE INTO feed_positions (trigger, topic, partition, next_offset) VALUES (?, ?, ?, ?)",
                (trigger, topic, partition, next_offset))

    async def feed_positions(self, trigger: str) -> dict[tuple[str, int], int]:
        rows = await self.db.execute_fetchall(
            "SELECT topic, partition, next_offset FROM feed_positions WHERE trigger = ?", (trigger,))
        return {(r[0], int(r[1])): int(r[2]) for r in rows}
