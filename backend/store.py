"""The entity and activation store: one SQLite database in WAL mode under $SQUALL_HOME.

WAL with synchronous=NORMAL survives a killed process (only a power loss can drop the last
transactions), which is what 'nothing accepted is lost' needs without an fsync per activation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from .entities import (
    DEFAULT_CONCURRENT_INVOCATIONS, DEFAULT_FIRES_PER_MINUTE, DEFAULT_INVOCATIONS_PER_MINUTE,
    INTERNAL_ERROR, PENDING, Action, activation_record, new_key, now_ms,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS namespaces (
    name TEXT PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    key TEXT NOT NULL,
    limits TEXT NOT NULL DEFAULT '{}',
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS actions (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    doc TEXT NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (namespace, name)
);
CREATE TABLE IF NOT EXISTS activations (
    id TEXT PRIMARY KEY,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    start INTEGER NOT NULL,
    status TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS activations_by_time ON activations (namespace, start DESC);
CREATE INDEX IF NOT EXISTS activations_pending ON activations (status) WHERE status = 'pending';
"""


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

    def limits_doc(self, action_limits: dict[str, Any]) -> dict[str, Any]:
        return {
            "invocationsPerMinute": self.invocations_per_minute,
            "concurrentInvocations": self.concurrent_invocations,
            "firesPerMinute": self.limits.get("firesPerMinute", DEFAULT_FIRES_PER_MINUTE),
            **action_limits,
        }


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None

    @property
    def db(self) -> aiosqlite.Connection:
        assert self._db is not None, "store not opened"
        return self._db

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        await self.db.execute("PRAGMA journal_mode=WAL")
        await self.db.execute("PRAGMA synchronous=NORMAL")
        await self.db.execute("PRAGMA busy_timeout=5000")
        await self.db.executescript(SCHEMA)

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    # --- namespaces ---------------------------------------------------------------------------

    async def identities(self) -> list[Identity]:
        rows = await self.db.execute_fetchall("SELECT name, uuid, key, limits FROM namespaces ORDER BY name")
        return [Identity(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    async def create_namespace(self, name: str) -> Identity | None:
        """A new namespace with a fresh key, or None when the name is taken."""
        uid, key = new_key()
        cursor = await self.db.execute(
            "INSERT OR IGNORE INTO namespaces (name, uuid, key, limits, created) VALUES (?, ?, ?, '{}', ?)",
            (name, uid, key, now_ms()))
        if cursor.rowcount == 0:
            return None
        return Identity(name, uid, key, {})

    async def set_limits(self, name: str, limits: dict[str, int]) -> None:
        await self.db.execute("UPDATE namespaces SET limits = ? WHERE name = ?", (_dumps(limits), name))

    # --- actions ------------------------------------------------------------------------------

    async def get_action(self, namespace: str, name: str) -> Action | None:
        rows = await self.db.execute_fetchall(
            "SELECT doc FROM actions WHERE namespace = ? AND name = ?", (namespace, name))
        return Action.from_json(json.loads(rows[0][0])) if rows else None

    async def put_action(self, action: Action) -> None:
        await self.db.execute(
            "INSERT OR REPLACE INTO actions (namespace, name, doc, updated) VALUES (?, ?, ?, ?)",
            (action.namespace, action.name, _dumps(action.to_json()), action.updated))

    async def delete_action(self, namespace: str, name: str) -> bool:
        cursor = await self.db.execute("DELETE FROM actions WHERE namespace = ? AND name = ?", (namespace, name))
        return cursor.rowcount > 0

    async def list_actions(self, namespace: str, skip: int, limit: int) -> list[Action]:
        rows = await self.db.execute_fetchall(
            "SELECT doc FROM actions WHERE namespace = ? ORDER BY updated DESC LIMIT ? OFFSET ?",
            (namespace, limit, skip))
        return [Action.from_json(json.loads(r[0])) for r in rows]

    # --- activations --------------------------------------------------------------------------

    async def add_pending(self, activation_id: str, namespace: str, name: str, start: int,
                          meta: dict[str, Any]) -> None:
        """Record an accepted activation before anything else happens to it (see recover_pending)."""
        await self.db.execute(
            "INSERT INTO activations (id, namespace, name, start, status, doc) VALUES (?, ?, ?, ?, ?, ?)",
            (activation_id, namespace, name, start, PENDING, _dumps(meta)))

    async def complete(self, record: dict[str, Any]) -> bool:
        """Store the final record of a pending activation; False if it was already completed."""
        cursor = await self.db.execute(
            "UPDATE activations SET status = ?, start = ?, doc = ? WHERE id = ? AND status = ?",
            (record["response"]["status"], record["start"], _dumps(record), record["activationId"], PENDING))
        return cursor.rowcount > 0

    async def get_activation(self, namespace: str, activation_id: str) -> dict[str, Any] | None:
        rows = await self.db.execute_fetchall(
            "SELECT doc FROM activations WHERE id = ? AND namespace = ? AND status != ?",
            (activation_id, namespace, PENDING))
        return json.loads(rows[0][0]) if rows else None

    async def pending(self, activation_id: str) -> dict[str, Any] | None:
        rows = await self.db.execute_fetchall(
            "SELECT doc FROM activations WHERE id = ? AND status = ?", (activation_id, PENDING))
        return json.loads(rows[0][0]) if rows else None

    def _activation_filter(self, namespace: str, name: str | None, since: int | None,
                           upto: int | None) -> tuple[str, list[Any]]:
        where = ["namespace = ?", "status != ?"]
        args: list[Any] = [namespace, PENDING]
        if name is not None:
            where.append("name = ?")
            args.append(name)
        if since is not None:
            where.append("start >= ?")
            args.append(since)
        if upto is not None:
            where.append("start <= ?")
            args.append(upto)
        return " AND ".join(where), args

    async def list_activations(self, namespace: str, *, name: str | None = None, since: int | None = None,
                               upto: int | None = None, skip: int = 0, limit: int = 30) -> list[dict[str, Any]]:
        where, args = self._activation_filter(namespace, name, since, upto)
        rows = await self.db.execute_fetchall(
            f"SELECT doc FROM activations WHERE {where} ORDER BY start DESC, rowid DESC LIMIT ? OFFSET ?",
            (*args, limit, skip))
        return [json.loads(r[0]) for r in rows]

    async def count_activations(self, namespace: str, *, name: str | None = None, since: int | None = None,
                                upto: int | None = None) -> int:
        where, args = self._activation_filter(namespace, name, since, upto)
        rows = await self.db.execute_fetchall(f"SELECT COUNT(*) FROM activations WHERE {where}", args)
        return int(rows[0][0])

    async def recover_pending(self, message: str) -> int:
        """End every activation left pending by a previous run, so each id ever returned resolves."""
        rows = await self.db.execute_fetchall(
            "SELECT id, doc FROM activations WHERE status = ?", (PENDING,))
        end = now_ms()
        for activation_id, doc in rows:
            meta = json.loads(doc)
            await self.complete(pending_failure(activation_id, meta, end, message))
        return len(rows)


def pending_meta(*, namespace: str, name: str, subject: str, version: str, kind: str,
                 limits: dict[str, int], start: int) -> dict[str, Any]:
    return {"namespace": namespace, "name": name, "subject": subject, "version": version,
            "kind": kind, "limits": limits, "start": start}


def pending_failure(activation_id: str, meta: dict[str, Any], end: int, message: str,
                    status: str = INTERNAL_ERROR) -> dict[str, Any]:
    """The record of an accepted activation that never got a result from an invoker."""
    return activation_record(
        namespace=meta["namespace"], name=meta["name"], subject=meta["subject"],
        activation_id=activation_id, version=meta["version"], start=meta["start"], end=end,
        status=status, result={"error": message}, logs=[], kind=meta["kind"], limits=meta["limits"])
