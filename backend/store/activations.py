"""Activation records: pending from acceptance, final once their completion (or failure) is known."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any, NamedTuple

from ..activations import PENDING, now_ms, pending_failure
from .base import StoreBase, dumps
from ..jsontext import loads

# How long the pending record of an activation whose id nobody has yet may wait for its final
# one, so that the two are one insert: a warm no-op's completion follows in under a millisecond,
# at c=32 in tens of them, and a spike's queued 50 ms activations in up to a second. (A shorter
# hold, 50 ms, wrote a second commit for exactly those.)
HOLD_S = 1.0

_INSERT = "INSERT INTO activations (id, namespace, name, start, status, doc) VALUES (?, ?, ?, ?, ?, ?)"
_COMPLETE = "UPDATE activations SET status = ?, start = ?, doc = ? WHERE id = ? AND status = ?"


class _Held(NamedTuple):
    """A pending record not yet queued for the writer (see `pending_soon`)."""
    namespace: str
    name: str
    start: int
    meta: dict[str, Any]
    recorded: asyncio.Future[None]
    since: float


class ActivationStore(StoreBase):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._completing: dict[str, dict[str, Any]] = {}  # final records queued, not yet committed
        self._held: dict[str, _Held] = {}  # oldest first
        self._sweep: asyncio.TimerHandle | None = None

    async def add_pending(self, activation_id: str, namespace: str, name: str, start: int,
                          meta: dict[str, Any]) -> None:
        """Record an accepted activation before anything else happens to it (see recover_pending).
        `name` is what the list's `name` filter matches: the action's name, or `pkg/name`."""
        await self.pending_soon(activation_id, namespace, name, start, meta)

    def pending_soon(self, activation_id: str, namespace: str, name: str, start: int,
                     meta: dict[str, Any], *, hold: bool = False) -> asyncio.Future[Any]:
        """`add_pending` queued: the future resolves once it is committed. With `hold`, for an
        activation whose id goes out only with its record (or after `release`), the pending
        record waits up to HOLD_S for the final one and is then not written at all: one insert
        instead of an insert and an update, one commit instead of two."""
        if not hold:
            return self.writer.atomic([(_INSERT, (activation_id, namespace, name, start, PENDING, dumps(meta)))])
        loop = asyncio.get_running_loop()
        recorded: asyncio.Future[None] = loop.create_future()
        self._held[activation_id] = _Held(namespace, name, start, meta, recorded, loop.time())
        if self._sweep is None:
            self._sweep = loop.call_later(HOLD_S, self._release_old)
        return recorded

    def release(self, activation_id: str) -> None:
        """Queue a held pending record now: its id is about to be handed out without its record."""
        held = self._held.pop(activation_id, None)
        if held is not None:
            statement = (_INSERT, (activation_id, held.namespace, held.name, held.start, PENDING, dumps(held.meta)))
            self.writer.atomic([statement]).add_done_callback(functools.partial(_chain, held.recorded))

    def _release_old(self) -> None:
        self._sweep = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._held:
            activation_id, held = next(iter(self._held.items()))
            if now - held.since < HOLD_S:
                self._sweep = loop.call_later(HOLD_S - (now - held.since), self._release_old)
                return
            self.release(activation_id)

    def _write_final(self, record: dict[str, Any]) -> asyncio.Future[list[int]]:
        """Queue a final record, encoded at the commit: the update of its pending one, or, while
        that is held, the insert of both at once (which also resolves the pending one's future)."""
        activation_id = record["activationId"]
        held = self._held.pop(activation_id, None)
        if held is None:
            return self.writer.atomic(lambda: [(_COMPLETE, (record["response"]["status"], record["start"],
                                                            dumps(record), activation_id, PENDING))])
        committed = self.writer.atomic(lambda: [(_INSERT, (activation_id, held.namespace, held.name, record["start"],
                                                           record["response"]["status"], dumps(record)))])
        committed.add_done_callback(functools.partial(_chain, held.recorded))
        return committed

    async def complete(self, record: dict[str, Any]) -> bool:
        """Store the final record of a pending activation; False if it was already completed."""
        return (await self._write_final(record))[0] > 0

    def complete_soon(self, record: dict[str, Any]) -> asyncio.Future[bool]:
        """Queue the final record of an activation its caller is answered with now, before the
        commit (in a turn or two of the loop): until then `get_activation` serves it from here,
        so the id in that answer resolves at once. The future says whether it was stored."""
        activation_id = record["activationId"]
        self._completing[activation_id] = record
        stored: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def committed(counts: asyncio.Future[list[int]]) -> None:
            if self._completing.get(activation_id) is record:
                del self._completing[activation_id]
            if counts.cancelled():
                stored.cancel()
            elif counts.exception() is not None:
                stored.set_exception(counts.exception())  # type: ignore[arg-type]
            else:
                stored.set_result(counts.result()[0] > 0)

        self._write_final(record).add_done_callback(committed)
        return stored

    async def get_activation(self, namespace: str, activation_id: str) -> dict[str, Any] | None:
        queued = self._completing.get(activation_id)
        if queued is not None and queued["namespace"] == namespace:  # the namespace it was recorded in
            return queued
        rows = await self.db.execute_fetchall(
            "SELECT doc FROM activations WHERE id = ? AND namespace = ? AND status != ?",
            (activation_id, namespace, PENDING))
        return loads(rows[0][0]) if rows else None

    async def update_pending(self, activation_id: str, meta: dict[str, Any]) -> None:
        await self.write("UPDATE activations SET doc = ? WHERE id = ? AND status = ?",
                         (dumps(meta), activation_id, PENDING))

    async def pending_activations(self) -> list[tuple[str, dict[str, Any]]]:
        """Every activation still pending, oldest first: what an earlier run left in flight."""
        rows = await self.db.execute_fetchall(
            "SELECT id, doc FROM activations WHERE status = ? ORDER BY start", (PENDING,))
        return [(r[0], loads(r[1])) for r in rows]

    async def pending(self, activation_id: str) -> dict[str, Any] | None:
        rows = await self.db.execute_fetchall(
            "SELECT doc FROM activations WHERE id = ? AND status = ?", (activation_id, PENDING))
        return loads(rows[0][0]) if rows else None

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
        return [loads(r[0]) for r in rows]

    async def count_activations(self, namespace: str, *, name: str | None = None, since: int | None = None,
                                upto: int | None = None) -> int:
        where, args = self._activation_filter(namespace, name, since, upto)
        rows = await self.db.execute_fetchall(f"SELECT COUNT(*) FROM activations WHERE {where}", args)
        return int(rows[0][0])

    async def close(self) -> None:
        for activation_id in list(self._held):
            self.release(activation_id)
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        await super().close()

    async def recover_pending(self, message: str) -> int:
        """End every activation left pending by a previous run, so each id ever returned resolves."""
        rows = await self.db.execute_fetchall(
            "SELECT id, doc FROM activations WHERE status = ?", (PENDING,))
        end = now_ms()
        await asyncio.gather(*(self.complete(pending_failure(activation_id, loads(doc), end, message))
                               for activation_id, doc in rows))
        return len(rows)


def _chain(recorded: asyncio.Future[None], committed: asyncio.Future[list[int]]) -> None:
    if recorded.done():
        return
    if committed.cancelled():
        recorded.cancel()
    elif committed.exception() is not None:
        recorded.set_exception(committed.exception())  # type: ignore[arg-type]
    else:
        recorded.set_result(None)
