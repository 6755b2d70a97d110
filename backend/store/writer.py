"""The store's writes, committed in groups on the event loop's own thread.

Why not in the database's thread, as reads are: on this machine kind a write waited 186 µs on
average for that thread to wake (an idle vCPU halts) and 65 µs for its result to come back, against
about 20 µs for the commit itself, and under load every invocation's two writes queued behind those
hops (1,240 invokes/s; the same path without them did 4,000/s). A WAL commit without fsync
(synchronous=NORMAL) is that cheap, so the writes run where they are issued: whatever is queued
during a turn of the loop (and the next) is committed as one transaction, and each caller's
future resolves only after that COMMIT, so an id handed out still always resolves to a stored
record. Checkpoints, the only fsyncs, run in the reader connection's thread (see StoreBase), never
on the loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

Statement = tuple[str, Sequence[Any]]

BUSY_RETRY_S = 0.002  # another process (or a RESTART checkpoint) holds the write lock: try again soon
BUSY_GIVE_UP_S = 5.0  # as long as busy_timeout let a statement wait before


@dataclass
class _Unit:
    """Statements that commit together or not at all; the future gets their row counts. Made by
    a function, they are made at the commit: a final record is encoded after its caller's answer."""
    statements: Sequence[Statement] | Callable[[], Sequence[Statement]]
    future: asyncio.Future[list[int]]
    since: float = field(default_factory=time.monotonic)


class Writer:
    def __init__(self, path: Path) -> None:
        # The loop's thread is the only one that uses it; check_same_thread would refuse a store
        # opened by one loop and used by the next one, as tests do.
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run off the loop
        self._conn.execute("PRAGMA busy_timeout=0")  # never sleep on the loop: retried instead
        self._queue: list[_Unit] = []
        self._scheduled = False
        self.commits = 0  # how many transactions: the checkpointer checks whether there is work
        self.slowest_s = 0.0  # the longest the loop spent in one commit (/metrics, the benchmark)

    def atomic(self, statements: Sequence[Statement] | Callable[[], Sequence[Statement]]) -> asyncio.Future[list[int]]:
        unit = _Unit(statements, asyncio.get_running_loop().create_future())
        self._queue.append(unit)
        self._schedule()
        return unit.future

    def _schedule(self, delay_s: float = 0.0) -> None:
        """A flush of what is queued: after the next turn of the loop, or after `delay_s`."""
        if self._scheduled or not self._queue:
            return
        self._scheduled = True
        loop = asyncio.get_running_loop()
        if delay_s:
            loop.call_later(delay_s, self._flush)
        else:
            # Two hops, not one: the work woken in this turn (an invoker's /run of the activation
            # just recorded) goes first, so the commit overlaps the action's run instead of
            # delaying it (at c=1 the bus hop to the invoker fell from 92 to 32 µs), and under
            # load one more turn's writes join the group.
            loop.call_soon(loop.call_soon, self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        units, self._queue = self._queue, []
        if not units:
            return
        t0 = time.perf_counter()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if self._conn.in_transaction or "locked" not in str(exc):
                _fail(units, exc)  # not another writer's lock: waiting would not help
                self._abandon()
            else:
                self._retry_later(units, exc)
            return
        done: list[tuple[_Unit, list[int] | BaseException]] = []
        for i, unit in enumerate(units):
            several = False
            try:
                statements = unit.statements() if callable(unit.statements) else unit.statements
                several = len(statements) > 1  # one statement's error undoes only itself
                if several:
                    self._conn.execute("SAVEPOINT unit")
                counts = [self._conn.execute(sql, args).rowcount for sql, args in statements]
                if several:
                    self._conn.execute("RELEASE unit")
                done.append((unit, counts))
            except Exception as exc:  # sqlite3's, or a value it cannot bind
                if not self._conn.in_transaction:  # SQLite rolled back the whole transaction
                    self._requeue(units[:i] + units[i + 1:], unit, exc)
                    return
                if several:
                    self._conn.execute("ROLLBACK TO unit")
                    self._conn.execute("RELEASE unit")
                done.append((unit, exc))
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _fail([unit for unit, _ in done], exc)
            self._abandon()
            return
        self.commits += 1
        self.slowest_s = max(self.slowest_s, time.perf_counter() - t0)
        for unit, outcome in done:
            _settle(unit.future, outcome)

    def _abandon(self) -> None:
        """Never leave a transaction open: it would hold the lock and every later write."""
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _requeue(self, others: list[_Unit], failed: _Unit, exc: BaseException) -> None:
        """One unit's error undid the others' work too: it fails alone, they go again first."""
        _settle(failed.future, exc)
        self._queue[:0] = others
        self._schedule()

    def _retry_later(self, units: list[_Unit], exc: BaseException) -> None:
        now = time.monotonic()
        waiting = []
        for unit in units:
            if now - unit.since > BUSY_GIVE_UP_S:
                _settle(unit.future, exc)
            else:
                waiting.append(unit)
        self._queue[:0] = waiting
        self._schedule(BUSY_RETRY_S)

    async def drain(self) -> None:
        """Until everything queued so far is committed (or failed)."""
        while self._queue:
            await asyncio.gather(*(u.future for u in self._queue), return_exceptions=True)

    def close(self) -> None:
        self._conn.close()


def _fail(units: list[_Unit], exc: BaseException) -> None:
    for unit in units:
        _settle(unit.future, exc)


def _settle(future: asyncio.Future[list[int]], outcome: list[int] | BaseException) -> None:
    if future.done():  # its caller was cancelled; the write stands all the same
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
