"""The entity and activation store (SQLite), one mixin per domain over one connection."""

from __future__ import annotations

from .activations import ActivationStore
from .apis import ApiStore
from .entities import EntityStore
from .events import EventStore
from .namespaces import Identity, NamespaceStore

__all__ = ["Identity", "Store"]


class Store(NamespaceStore, EntityStore, EventStore, ActivationStore, ApiStore):
    """Everything Squall keeps: namespaces, actions, packages, API routes, triggers, rules and
    their schedules and feeds, and activations."""
