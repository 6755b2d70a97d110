"""The store's connections and schema: one SQLite database in WAL mode under $SQUALL_HOME, read
through aiosqlite's thread and written on the loop's (writer.py).

WAL with synchronous=NORMAL survives a killed process (only a power loss can drop the last
transactions), which is what 'nothing accepted is lost' needs without an fsync per activation.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import Any, Sequence

import aiosqlite

from ..jsontext import dumps_text as dumps
from .writer import Writer

log = logging.getLogger("squall.store")
CHECKPOINT_EVERY_S = 0.2
WAL_RESTART_FRAMES = 16_384  # 64 MB of 4 kB pages

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


class StoreBase:
    """Reads run in aiosqlite's thread (a list can take milliseconds); writes go to the Writer, on
    the loop's thread (writer.py says why); checkpoints run in the readers' thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None
        self._writer: Writer | None = None
        self._checkpoints: asyncio.Task[None] | None = None

    @property
    def db(self) -> aiosqlite.Connection:
        assert self._db is not None, "store not opened"
        return self._db

    @property
    def writer(self) -> Writer:
        assert self._writer is not None, "store not opened"
        return self._writer

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        await self.db.execute("PRAGMA journal_mode=WAL")
        await self.db.execute("PRAGMA synchronous=NORMAL")
        await self.db.execute("PRAGMA busy_timeout=5000")
        await self.db.executescript(SCHEMA)
        self._writer = Writer(self.path)
        self._checkpoints = asyncio.create_task(self._checkpoint())

    async def write(self, sql: str, args: Sequence[Any] = ()) -> int:
        """One statement, committed before this returns: the number of rows it changed."""
        return (await self.writer.atomic([(sql, args)]))[0]

    async def atomic(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        """Several writes as one unit: a crash keeps all of them or none, and no other statement
        comes between them."""
        return await self.writer.atomic(statements)

    async def _checkpoint(self) -> None:
        """Copy the WAL into the database now and then, in the readers' thread: with the writer's
        autocheckpoint off, this is where the fsyncs happen. If writes outpace the passive
        checkpoint, the WAL is restarted (the writer waits a few milliseconds, off the loop)."""
        seen = -1
        while True:
            await asyncio.sleep(CHECKPOINT_EVERY_S)
            if self.writer.commits == seen:
                continue
            seen = self.writer.commits
            try:
                rows = await self.db.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
                _, frames, copied = rows[0]
                if frames > WAL_RESTART_FRAMES and copied < frames:
                    await self.db.execute("PRAGMA wal_checkpoint(RESTART)")
            except sqlite3.Error as exc:
                log.warning("checkpoint failed: %s", exc)

    async def close(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            await asyncio.gather(self._checkpoints, return_exceptions=True)
            self._checkpoints = None
        if self._writer is not None:
            await self._writer.drain()
            self._writer.close()
            self._writer = None
        if self._db is not None:
            await self._db.close()  # the last connection: SQLite checkpoints and removes the WAL
            self._db = None
