"""The entity and activation store (SQLite), one mixin per domain over one connection."""

from __future__ import annotations

from .activations import ActivationStore
from .apis import ApiStore
from .entities import EntityStore
from .namespaces import Identity, NamespaceStore

__all__ = ["Identity", "Store"]


class Store(NamespaceStore, EntityStore, ActivationStore, ApiStore):
    """Everything Squall keeps: namespaces, actions, packages, API routes and activations."""
