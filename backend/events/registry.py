"""Triggers and rules as OpenWhisk keeps them: every one of them in memory (a fire reads them on
its hot path), written through to the store; a rule's status is held by the rule document, and
each trigger's rules are indexed, so a fire looks at its own rules only."""

from __future__ import annotations

from typing import Any, Iterable, TypeVar

from .. import errors as X
from ..activations import now_ms
from ..entities import _annotations, _publish, _version, lookup
from ..errors import EntityError, malformed
from ..names import EntityName, parse_fqn
from ..registry import Registry, forbidden
from ..store import Identity, Store
from .documents import ACTIVE, FEED, INACTIVE, Rule, Trigger, reference

T = TypeVar("T", Trigger, Rule)

FEED_NOT_VALID = "Feed name is not valid"
RULE_NEEDS_BOTH = "rule requires a valid trigger and a valid action"
ONLY_WITH_TRIGGER = "Only rules with existing triggers can be activated"


def not_a_rule_state(value: Any) -> str:
    return f"'{value}' is not a recognized rule state, must be one of ['active', 'inactive']"


def does_not_exist(what: str, fqn: EntityName) -> str:
    return f"{what} {fqn} does not exist"


def _newest_first(entities: Iterable[T], namespace: str, skip: int, limit: int) -> list[T]:
    """A namespace's page of a collection (limit -1: all of it), most recently updated first."""
    found = sorted((e for e in entities if e.namespace == namespace), key=lambda e: e.updated, reverse=True)
    return found[skip:skip + limit] if limit >= 0 else found[skip:]


class EventRegistry:
    def __init__(self, store: Store, entities: Registry) -> None:
        self.store = store
        self.entities = entities
        self.triggers: dict[tuple[str, str], Trigger] = {}
        self.rules: dict[tuple[str, str], Rule] = {}
        self._by_trigger: dict[EntityName, dict[str, Rule]] = {}  # trigger -> its rules by `ns/rule`

    async def load(self) -> None:
        self.triggers = {(t.namespace, t.name): t for t in await self.store.all_triggers()}
        self.rules = {}
        self._by_trigger = {}
        for rule in await self.store.all_rules():
            self._keep(rule)

    def _keep(self, rule: Rule) -> None:
        old = self.rules.get((rule.namespace, rule.name))
        if old is not None:
            self._forget(old)
        self.rules[(rule.namespace, rule.name)] = rule
        self._by_trigger.setdefault(rule.trigger, {})[rule.key] = rule

    def _forget(self, rule: Rule) -> None:
        self.rules.pop((rule.namespace, rule.name), None)
        of_trigger = self._by_trigger.get(rule.trigger, {})
        of_trigger.pop(rule.key, None)
        if not of_trigger:
            self._by_trigger.pop(rule.trigger, None)

    # --- triggers -----------------------------------------------------------------------------

    async def trigger(self, namespace: str, name: str) -> Trigger:
        trigger = self.triggers.get((namespace, name))
        if trigger is None:
            await self._not_found(namespace, name, "triggers")
        assert trigger is not None
        return trigger

    def rules_of(self, trigger: EntityName) -> list[Rule]:
        return sorted(self._by_trigger.get(trigger, {}).values(), key=lambda r: r.key)

    def trigger_document(self, trigger: Trigger) -> dict[str, Any]:
        """GET of a trigger: its document and, as OpenWhisk shows them, its rules."""
        doc = trigger.to_json()
        rules = self.rules_of(trigger.fqn)
        if rules:
            doc["rules"] = {r.key: {"action": reference(r.action), "status": r.status} for r in rules}
        return doc

    def list_triggers(self, namespace: str, skip: int, limit: int) -> list[Trigger]:
        return _newest_first(self.triggers.values(), namespace, skip, limit)

    async def put_trigger(self, namespace: str, name: str, body: Any, overwrite: bool) -> Trigger:
        existing = self.triggers.get((namespace, name))
        if existing is None:
            await self._free(namespace, name, "triggers")
        elif not overwrite:
            raise EntityError(409, X.RESOURCE_EXISTS)
        trigger = Trigger.from_put(namespace, name, body, existing)
        feed = lookup(trigger.annotations, FEED)
        if existing is None and feed is not None and (not isinstance(feed, str) or parse_fqn(feed, namespace) is None):
            raise EntityError(400, FEED_NOT_VALID)
        await self.store.put_trigger(trigger)
        self.triggers[(namespace, name)] = trigger
        return trigger

    async def delete_trigger(self, namespace: str, name: str) -> Trigger:
        """Its rules stay and read inactive, as in OpenWhisk: a trigger made again under the
        name does not fire them until they are enabled."""
        trigger = await self.trigger(namespace, name)
        for rule in self.rules_of(trigger.fqn):
            if rule.active:
                rule.status = INACTIVE
                await self.store.put_rule(rule)
        await self.store.delete_trigger(namespace, name)
        self.triggers.pop((namespace, name), None)
        return trigger

    # --- rules --------------------------------------------------------------------------------

    async def rule(self, namespace: str, name: str) -> Rule:
        rule = self.rules.get((namespace, name))
        if rule is None:
            await self._not_found(namespace, name, "rules")
        assert rule is not None
        return rule

    def list_rules(self, namespace: str, skip: int, limit: int) -> list[Rule]:
        return _newest_first(self.rules.values(), namespace, skip, limit)

    def rule_document(self, rule: Rule) -> dict[str, Any]:
        """GET of a rule: a rule whose trigger is gone is inactive (nothing can fire it)."""
        trigger = self.triggers.get((rule.trigger.namespace, rule.trigger.name))
        return rule.to_json(status=rule.status if trigger is not None else INACTIVE)

    async def put_rule(self, who: Identity, namespace: str, name: str, body: Any, overwrite: bool) -> Rule:
        """Create or update a rule: its trigger (one's own) and its action (one's own, or in a
        package one may read) must exist; an update keeps the rule's status."""
        if not isinstance(body, dict):
            raise EntityError(400, malformed("the request body must be a JSON object"))
        existing = self.rules.get((namespace, name))
        if existing is None:
            await self._free(namespace, name, "rules")
        elif not overwrite:
            raise EntityError(409, X.RESOURCE_EXISTS)
        trigger = self._reference(body.get("trigger"), namespace, existing.trigger if existing else None)
        action = self._reference(body.get("action"), namespace, existing.action if existing else None)
        if trigger.namespace != namespace or (action.package is None and action.namespace != namespace):
            raise forbidden(", ".join(str(f).lstrip("/") for f in (trigger, action) if f.namespace != namespace))
        if trigger.package is not None or (trigger.namespace, trigger.name) not in self.triggers:
            raise EntityError(400, does_not_exist("trigger", trigger))
        try:
            await self.entities.resolve(who, action)  # it exists, and the rule's owner may invoke it
        except EntityError as ex:
            if ex.status == 403:
                raise
            raise EntityError(400, does_not_exist("action", action)) from None
        rule = Rule(namespace, name, trigger, action, existing.status if existing else ACTIVE,
                    _version(body, existing.version if existing else None),
                    _publish(body, existing.publish if existing else None),
                    _annotations(body, existing.annotations if existing else None), now_ms())
        await self.store.put_rule(rule)
        self._keep(rule)
        return rule

    @staticmethod
    def _reference(value: Any, namespace: str, existing: EntityName | None) -> EntityName:
        if value is None and existing is not None:
            return existing
        if isinstance(value, dict):  # as a rule document names it
            value = f"/{value.get('path')}/{value.get('name')}" if value.get("path") else value.get("name")
        fqn = parse_fqn(value, namespace) if isinstance(value, str) else None
        if fqn is None:
            raise EntityError(400, RULE_NEEDS_BOTH)
        return fqn

    async def set_status(self, namespace: str, name: str, body: Any) -> Rule:
        status = body.get("status") if isinstance(body, dict) else None
        if status not in (ACTIVE, INACTIVE):
            raise EntityError(400, not_a_rule_state(status))
        rule = await self.rule(namespace, name)
        trigger_exists = (rule.trigger.namespace, rule.trigger.name) in self.triggers
        if status == ACTIVE and not trigger_exists:
            raise EntityError(404, ONLY_WITH_TRIGGER)
        if rule.status != status:
            rule.status = status
            await self.store.put_rule(rule)
        return rule

    async def delete_rule(self, namespace: str, name: str) -> Rule:
        rule = await self.rule(namespace, name)
        await self.store.delete_rule(namespace, name)
        self._forget(rule)
        rule.status = INACTIVE  # as OpenWhisk answers a delete
        return rule

    # --- one name space for every collection, as in OpenWhisk ----------------------------------

    async def _not_found(self, namespace: str, name: str, collection: str) -> None:
        await self._free(namespace, name, collection)
        raise EntityError(404, X.RESOURCE_DOES_NOT_EXIST)

    async def _free(self, namespace: str, name: str, collection: str) -> None:
        if await self.store.collection_of(namespace, name) not in (None, collection):
            raise EntityError(409, X.RESOURCE_NOT_IN_COLLECTION)
