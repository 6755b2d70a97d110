"""The feed protocol, served by the controller itself: `/whisk.system/alarms/*` and
`/whisk.system/messaging/kafkaFeed` are built-in actions. A client (the `wsk` CLI, the npm
client) invokes them, blocking, with `lifecycleEvent`, `triggerName` and `authKey` and its own
parameters; each invocation leaves an activation record as any action's does.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

from ..activations import APPLICATION_ERROR, SUCCESS, Accepted, activation_record, new_activation_id, now_ms
from ..names import parse_fqn
from ..registry import Resolved
from ..store import Identity
from .documents import Trigger

if TYPE_CHECKING:
    from ..controller import Controller

EVENTS = ("CREATE", "READ", "UPDATE", "DELETE", "PAUSE", "UNPAUSE")
NO_TRIGGER_NAME = "no trigger name parameter was provided"
AUTH_FAILED = "Trigger authentication request failed."
UNSUPPORTED = "unsupported lifecycleEvent"


class FeedError(Exception):
    """A feed request refused: its text is the feed action's `error`."""


class Provider(Protocol):
    async def handle(self, event: str, feed: str, owner: Identity, trigger: Trigger,
                     params: dict[str, Any]) -> dict[str, Any]: ...


class Feeds:
    def __init__(self, ctl: "Controller", providers: dict[str, Provider]) -> None:
        self.ctl = ctl
        self.providers = providers  # package name -> provider

    async def activate(self, who: Identity, target: Resolved, params: dict[str, Any],
                       activation_id: str | None) -> Accepted:
        action = target.action
        activation_id = activation_id or new_activation_id()
        start = now_ms()
        try:
            result, status = await self.handle(who, action.namespace.partition("/")[2], action.name, params), SUCCESS
        except FeedError as ex:
            result, status = {"error": str(ex)}, APPLICATION_ERROR
        record = activation_record(
            namespace=who.namespace, name=action.name, subject=who.namespace, activation_id=activation_id,
            version=action.version, start=start, end=now_ms(), status=status, result=result, logs=[],
            kind=action.kind, limits=action.limits.to_json(), path=action.path)
        await self.ctl.store.add_record(record)
        self.ctl.metrics.account(record)
        done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        done.set_result(record)
        return Accepted(activation_id, done)

    async def handle(self, who: Identity, package: str, feed: str, params: dict[str, Any]) -> dict[str, Any]:
        event = str(params.get("lifecycleEvent", "")).upper()
        if event not in EVENTS:
            raise FeedError(UNSUPPORTED)
        name = params.get("triggerName")
        fqn = parse_fqn(name, who.namespace) if isinstance(name, str) and name else None
        if fqn is None or fqn.package is not None:
            raise FeedError(NO_TRIGGER_NAME)
        owner = self.ctl.identity(fqn.namespace)
        # As OpenWhisk's providers check it: the key given must be the trigger's owner's.
        if owner is None or params.get("authKey") != owner.auth:
            raise FeedError(AUTH_FAILED)
        trigger = self.ctl.events.registry.triggers.get((fqn.namespace, fqn.name))
        if trigger is None and event != "DELETE":
            raise FeedError(AUTH_FAILED)
        provider = self.providers.get(package)
        if provider is None:
            raise FeedError(UNSUPPORTED)
        given = {k: v for k, v in params.items() if k not in ("lifecycleEvent", "triggerName", "authKey")}
        return await provider.handle(event, feed, owner, trigger or Trigger(fqn.namespace, fqn.name), given)
