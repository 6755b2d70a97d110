"""The learned prewarm policy (--prewarm-policy hybrid): what an action's idle times teach the pool."""

from __future__ import annotations

import asyncio
import random
import types

import pytest

from backend.containers import PREWARM, WARM, ContainerPool
from backend.prewarm_policy import BINS, IdleTimes, LearnedPrewarm, Windows


def test_a_regular_idle_time_gives_a_prewarm_window_before_it_and_a_keep_alive_after_it() -> None:
    times = IdleTimes(600)  # 2.5 s bins
    for idle in [100.3, 101.0, 99.6, 100.8, 100.1, 100.5]:
        times.add(idle)
    windows = times.windows()
    assert windows is not None
    # 5th percentile: the bin of 97.5-100 s, less 10 %; 99th: the bin of 100-102.5 s, plus 10 %.
    assert windows.prewarm_s == pytest.approx(97.5 * 0.9)
    assert windows.keep_alive_s == pytest.approx(102.5 * 1.1)


def test_short_idle_times_keep_the_containers_warm_through_the_keep_alive_window() -> None:
    times = IdleTimes(600)
    for idle in [0.5, 1.0, 0.2, 1.9, 0.7]:
        times.add(idle)
    assert times.windows() == Windows(0.0, 2.5 * 1.1)


def test_too_few_spread_or_mostly_out_of_range_idle_times_leave_the_fixed_keep_alive() -> None:
    few = IdleTimes(600)
    for idle in [100, 100, 100, 100]:
        few.add(idle)
    assert few.windows() is None, "four idle times tell no pattern"
    spread = IdleTimes(600)
    rng = random.Random(7)
    for _ in range(500):
        spread.add(rng.uniform(0, 600))
    assert spread.windows() is None, "idle times spread over the range: the histogram is no guide"
    sparse = IdleTimes(600)
    for _ in range(30):  # 30 in distinct bins: a CV of 2.6, but no pattern
        sparse.add(rng.expovariate(1 / 60))
    assert sparse.windows() is None, "idle times spread over most of the range"
    beyond = IdleTimes(600)
    for idle in [100, 100, 100, 5000, 7000, 9000, 9000]:
        beyond.add(idle)
    assert beyond.windows() is None, "most idle periods outlast the range"


def test_an_idle_period_counts_from_the_last_activation_of_the_action_to_end() -> None:
    learned = LearnedPrewarm(600)
    learned.arrived("a", 0.0)
    learned.arrived("a", 1.0)  # two at once
    assert learned.ended("a", 2.0) is None  # one still runs: no idle period yet
    assert learned.ended("a", 3.0) is None  # idle from 3.0, but nothing learned yet
    for start in [103.0, 203.0, 303.0, 403.0, 503.0]:
        learned.arrived("a", start)
        windows = learned.ended("a", start + 0.1)
    assert windows is not None and windows.prewarm_s == pytest.approx(97.5 * 0.9)
    learned.prune(503.1 + 601)  # an idle period past the range is out of bounds, even before it ends
    assert learned._idle_times["a"].out_of_bounds == 1 and "a" not in learned._idle_since


class _Runtime:
    name = "fake"

    def __init__(self) -> None:
        self.made = 0

    async def create(self, kind: str, memory_mb: int, **_: object) -> object:
        self.made += 1

        async def destroy() -> None:
            return None

        return types.SimpleNamespace(id=f"c{self.made}", kind=kind, memory_mb=memory_mb, resizable=True,
                                     destroy=destroy)


async def _run(pool: ContainerPool, key: str) -> bool:
    c, cold = await pool.acquire(key, "python:3", 128)
    pool.release(c, key)
    return cold


async def test_a_periodic_action_finds_a_container_brought_back_before_its_arrival() -> None:
    """Every 0.6 s: after a few idle periods its container goes between arrivals and a prewarmed
    one of its kind and memory is up before the next; with the policy off it stays warm."""
    runtime = _Runtime()
    pool = ContainerPool(runtime, user_memory_mb=1024, idle_timeout_s=2.4, learned_prewarm=True)  # 10 ms bins
    await pool.start()
    key = "ns/tick@0.0.1"
    colds = []
    for _ in range(8):
        colds.append(await _run(pool, key))
        await asyncio.sleep(0.3)
        if len(colds) > 6:  # learned: between arrivals, nothing of it is kept
            assert not [c for c in pool.containers.values() if c.action == key and c.state == WARM]
        await asyncio.sleep(0.3)
        if len(colds) > 6:  # and just before the next, a prewarmed container is up
            assert [c for c in pool.containers.values() if c.state == PREWARM]
    assert colds[0] and not any(colds[1:6]), "warm while it learns"
    assert pool.cold_starts == 1, "never a cold start after the first: the next one takes what came back"
    assert pool.prewarm_starts >= 2
    await pool.stop()


async def test_a_container_brought_back_for_an_arrival_that_does_not_come_goes_after_its_window() -> None:
    pool = ContainerPool(_Runtime(), user_memory_mb=1024, idle_timeout_s=2.4, learned_prewarm=True)
    await pool.start()
    key = "ns/tick@0.0.1"
    for _ in range(6):
        await _run(pool, key)
        await asyncio.sleep(0.4)
    # Idle since the last one: brought back at ~0.36 s, gone after ~0.45 s, before the 2.4 s timeout.
    assert [c for c in pool.containers.values() if c.state == PREWARM]
    await asyncio.sleep(0.35)
    assert not pool.containers, "nothing kept past the keep-alive window"
    await pool.stop()


async def test_with_the_policy_off_an_idle_container_waits_for_the_idle_timeout() -> None:
    pool = ContainerPool(_Runtime(), user_memory_mb=1024, idle_timeout_s=2.4)
    await pool.start()
    key = "ns/tick@0.0.1"
    for _ in range(6):
        await _run(pool, key)
        await asyncio.sleep(0.4)
    await asyncio.sleep(0.45)
    assert [c.state for c in pool.containers.values()] == [WARM]
    assert pool.cold_starts == 1 and pool.prewarm_starts == 0
    await pool.stop()


def test_the_histogram_spans_the_idle_timeout_in_240_bins() -> None:
    assert BINS == 240
    assert IdleTimes(600).bin_s == 2.5
