"""The store's writes, grouped into one transaction per turn of the loop, on a real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from backend.activations import SUCCESS, now_ms, pending_failure, pending_meta
from backend.store import Store
from backend.store.activations import HOLD_S

INSERT = "INSERT INTO fires (id, doc) VALUES (?, ?)"


def fires(path: Path) -> list[str]:
    """What another process reading the file sees."""
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute("SELECT id FROM fires ORDER BY id")]


async def test_writes_issued_together_commit_together_and_are_visible_when_awaited(tmp_path: Path) -> None:
    store = Store(tmp_path / "squall.db")
    await store.open()
    try:
        before = store.writer.commits
        counts = await asyncio.gather(*(store.write(INSERT, (f"f{i:03}", "{}")) for i in range(100)))
        assert counts == [1] * 100
        assert store.writer.commits == before + 1  # one transaction for the hundred
        assert len(fires(tmp_path / "squall.db")) == 100  # committed before the awaits returned
    finally:
        await store.close()


async def test_a_failing_write_fails_alone(tmp_path: Path) -> None:
    store = Store(tmp_path / "squall.db")
    await store.open()
    try:
        await store.write(INSERT, ("taken", "{}"))
        results = await asyncio.gather(
            store.write(INSERT, ("a", "{}")),
            store.write(INSERT, ("taken", "{}")),  # the primary key refuses it
            store.atomic([(INSERT, ("b", "{}")), (INSERT, ("taken", "{}"))]),  # all or nothing
            store.write(INSERT, ("c", "{}")),
            return_exceptions=True)
        assert results[0] == 1 and results[3] == 1
        assert isinstance(results[1], sqlite3.IntegrityError)
        assert isinstance(results[2], sqlite3.IntegrityError)
        assert fires(tmp_path / "squall.db") == ["a", "c", "taken"]  # no "b": its unit rolled back
    finally:
        await store.close()


async def test_a_database_locked_by_another_process_delays_writes_without_holding_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "squall.db"
    store = Store(path)
    await store.open()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        write = asyncio.ensure_future(store.write(INSERT, ("late", "{}")))
        ticks = 0
        for _ in range(20):  # the loop keeps turning meanwhile
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not write.done()
        other.execute("COMMIT")
        assert await asyncio.wait_for(write, 5) == 1
        assert fires(path) == ["late"]
    finally:
        other.close()
        await store.close()


async def test_writes_left_queued_at_close_are_committed(tmp_path: Path) -> None:
    store = Store(tmp_path / "squall.db")
    await store.open()
    queued = [asyncio.ensure_future(store.write(INSERT, (f"q{i}", "{}"))) for i in range(10)]
    await store.close()
    assert all(f.done() for f in queued)
    assert len(fires(tmp_path / "squall.db")) == 10


async def test_the_wal_is_checkpointed_while_writes_go_on(tmp_path: Path) -> None:
    """The writer never checkpoints on the loop; the store's checkpointer keeps the WAL short."""
    path, count = tmp_path / "squall.db", 3_000
    store = Store(path)
    await store.open()
    try:
        for i in range(count):
            await store.write(INSERT, (f"w{i:05}", "x" * 2000))
        await asyncio.sleep(0.5)  # at least one checkpoint interval after the last write
        # The database file itself grows only when a checkpoint copies the WAL into it.
        assert path.stat().st_size > count * 2000
        with sqlite3.connect(path) as db:
            assert db.execute("SELECT COUNT(*) FROM fires").fetchone()[0] == count
    finally:
        await store.close()


def activation_rows(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as db:
        return list(db.execute("SELECT id, status FROM activations ORDER BY id"))


async def test_a_held_pending_record_is_written_with_its_final_one_or_on_its_own_in_time(tmp_path: Path) -> None:
    """One insert for an activation that completes while its pending record is held; a pending
    record whose completion is late (or whose id is released) is written anyway."""
    path = tmp_path / "squall.db"
    store = Store(path)
    await store.open()
    meta = pending_meta(namespace="guest", name="a", subject="guest", version="0.0.1", kind="python:3",
                        limits={}, start=now_ms(), path="guest/a")
    try:
        quick = store.pending_soon("a" * 32, "guest", "a", meta["start"], meta, hold=True)
        late = store.pending_soon("b" * 32, "guest", "a", meta["start"], meta, hold=True)
        released = store.pending_soon("c" * 32, "guest", "a", meta["start"], meta, hold=True)
        store.release("c" * 32)
        await released
        assert activation_rows(path) == [("c" * 32, "pending")]
        before = store.writer.commits
        assert await store.complete_soon(pending_failure("a" * 32, meta, now_ms(), "quick", status=SUCCESS))
        assert quick.done() and store.writer.commits == before + 1  # the final record alone, at once
        assert activation_rows(path) == [("a" * 32, "success"), ("c" * 32, "pending")]
        await asyncio.wait_for(late, HOLD_S + 1)  # no completion came: written as pending in time
        assert ("b" * 32, "pending") in activation_rows(path)
        assert await store.complete(pending_failure("b" * 32, meta, now_ms(), "late", status=SUCCESS))
        assert not await store.complete(pending_failure("a" * 32, meta, now_ms(), "again"))
        assert [s for _, s in activation_rows(path)] == ["success", "success", "pending"]
    finally:
        await store.close()
