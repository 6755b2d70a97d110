"""Namespaces and their keys and limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..activations import now_ms
from ..limits import DEFAULT_CONCURRENT_INVOCATIONS, DEFAULT_FIRES_PER_MINUTE, DEFAULT_INVOCATIONS_PER_MINUTE
from ..names import new_key
from .base import StoreBase, dumps
from ..jsontext import loads


@dataclass(frozen=True)
class Identity:
    namespace: str
    uuid: str
    key: str
    limits: dict[str, int]

    @property
    def auth(self) -> str:
        return f"{self.uuid}:{self.key}"

    @property
    def invocations_per_minute(self) -> int:
        return self.limits.get("invocationsPerMinute", DEFAULT_INVOCATIONS_PER_MINUTE)

    @property
    def concurrent_invocations(self) -> int:
        return self.limits.get("concurrentInvocations", DEFAULT_CONCURRENT_INVOCATIONS)

    @property
    def fires_per_minute(self) -> int:
        return self.limits.get("firesPerMinute", DEFAULT_FIRES_PER_MINUTE)

    def limits_doc(self, action_limits: dict[str, Any]) -> dict[str, Any]:
        return {
            "invocationsPerMinute": self.invocations_per_minute,
            "concurrentInvocations": self.concurrent_invocations,
            "firesPerMinute": self.fires_per_minute,
            **action_limits,
        }


class NamespaceStore(StoreBase):
    async def identities(self) -> list[Identity]:
        rows = await self.db.execute_fetchall("SELECT name, uuid, key, limits FROM namespaces ORDER BY name")
        return [Identity(r[0], r[1], r[2], loads(r[3])) for r in rows]

    async def create_namespace(self, name: str) -> Identity | None:
        """A new namespace with a fresh key, or None when the name is taken."""
        uid, key = new_key()
        changed = await self.write(
            "INSERT OR IGNORE INTO namespaces (name, uuid, key, limits, created) VALUES (?, ?, ?, '{}', ?)",
            (name, uid, key, now_ms()))
        if changed == 0:
            return None
        return Identity(name, uid, key, {})

    async def set_limits(self, name: str, limits: dict[str, int]) -> None:
        await self.write("UPDATE namespaces SET limits = ? WHERE name = ?", (dumps(limits), name))
