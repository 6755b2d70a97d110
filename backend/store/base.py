"""The store's connection and schema: one SQLite database in WAL mode under $SQUALL_HOME.

WAL with synchronous=NORMAL survives a killed process (only a power loss can drop the last
transactions), which is what 'nothing accepted is lost' needs without an fsync per activation.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Sequence

import aiosqlite

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
CREATE TABLE IF NOT EXISTS packages (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    doc TEXT NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (namespace, name)
);
CREATE TABLE IF NOT EXISTS apis (
    namespace TEXT NOT NULL,
    basepath TEXT NOT NULL,
    doc TEXT NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (namespace, basepath)
);
CREATE TABLE IF NOT EXISTS activations (
    id TEXT PRIMARY KEY,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    start INTEGER NOT NULL,
    status TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS triggers (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    doc TEXT NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (namespace, name)
);
CREATE TABLE IF NOT EXISTS rules (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    doc TEXT NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (namespace, name)
);
CREATE TABLE IF NOT EXISTS fires (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feeds (
    trigger TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feed_positions (
    trigger TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (trigger, topic, partition)
);
CREATE INDEX IF NOT EXISTS activations_by_time ON activations (namespace, start DESC);
CREATE INDEX IF NOT EXISTS activations_pending ON activations (status) WHERE status = 'pending';
"""


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class StoreBase:
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

    async def atomic(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        """Several writes as one transaction, run as one unit in the store's thread, so that no
        other statement comes between them and a crash keeps all of them or none. (aiosqlite
        offers no public way to queue a function; `_execute` is what its own methods use.)"""

        def run(conn: sqlite3.Connection) -> list[int]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                counts = [conn.execute(sql, args).rowcount for sql, args in statements]
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return counts

        return await self.db._execute(run, self.db._conn)

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None
