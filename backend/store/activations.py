"""Activation records: pending from acceptance, final once their completion (or failure) is known."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from ..activations import PENDING, now_ms, pending_failure
from .base import StoreBase, dumps

_COMPLETE = "UPDATE activations SET status = ?, start = ?, doc = ? WHERE id = ? AND status = ?"


def _completion(record: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    return _COMPLETE, (record["response"]["status"], record["start"], dumps(record), record["activationId"], PENDING)


class ActivationStore(StoreBase):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._completing: dict[str, dict[str, Any]] = {}  # final records queued, not yet committed

    async def add_pending(self, activation_id: str, namespace: str, name: str, start: int,
                          meta: dict[str, Any]) -> None:
        """Record an accepted activation before anything else happens to it (see recover_pending).
        `name` is what the list's `name` filter matches: the action's name, or `pkg/name`."""
        await self.write(
            "INSERT INTO activations (id, namespace, name, start, status, doc) VALUES (?, ?, ?, ?, ?, ?)",
            (activation_id, namespace, name, start, PENDING, dumps(meta)))

    async def complete(self, record: dict[str, Any]) -> bool:
        """Store the final record of a pending activation; False if it was already completed."""
        return await self.write(*_completion(record)) > 0

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

        self.writer.atomic([_completion(record)]).add_done_callback(committed)
        return stored

    async def get_activation(self, namespace: str, activation_id: str) -> dict[str, Any] | None:
        queued = self._completing.get(activation_id)
        if queued is not None and queued["namespace"] == namespace:  # the namespace it was recorded in
            return queued
        rows = await self.db.execute_fetchall(
            "SELECT doc FROM activations WHERE id = ? AND namespace = ? AND status != ?",
            (activation_id, namespace, PENDING))
        return json.loads(rows[0][0]) if rows else None

    async def update_pending(self, activation_id: str, meta: dict[str, Any]) -> None:
        await self.write("UPDATE activations SET doc = ? WHERE id = ? AND status = ?",
                         (dumps(meta), activation_id, PENDING))

    async def pending_activations(self) -> list[tuple[str, dict[str, Any]]]:
        """Every activation still pending, oldest first: what an earlier run left in flight."""
        rows = await self.db.execute_fetchall(
            "SELECT id, doc FROM activations WHERE status = ? ORDER BY start", (PENDING,))
        return [(r[0], json.loads(r[1])) for r in rows]

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
        await asyncio.gather(*(self.complete(pending_failure(activation_id, json.loads(doc), end, message))
                               for activation_id, doc in rows))
        return len(rows)
