"""A prewarm policy learned per action from its idle times: the hybrid histogram policy of
Shahrad et al., "Serverless in the Wild" (USENIX ATC 2020). Off unless `--prewarm-policy hybrid`.

An action's idle time runs from the moment none of its activations runs to its next arrival. Each
goes into a histogram of 240 bins over the pool's idle timeout (the fixed keep-alive this refines,
as the paper's 4 hours in 1-minute bins refine Azure's 20 minutes). When the histogram is
representative (enough idle times, most of them in range, the bin counts concentrated: a
coefficient of variation of at least 2, and the 5th to 99th percentiles within an eighth of the
range, since a few idle times in distinct bins give a high CV however they spread: 2.6 for 30),
an idle period gets two windows from its start: the
5th percentile less 10 %, before which nothing of the action is kept (its idle containers go at
once and a prewarmed container of its kind and memory comes back then), and the 99th percentile
plus 10 %, after which what was kept goes. A 5th percentile under one bin keeps the action's warm
containers through the second window instead. Otherwise the fixed idle timeout applies, as with
the policy off; the paper's ARIMA forecast for idle times past the range is not built.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

BINS = 240
MIN_IDLE_TIMES = 5  # fewer tell no pattern
REPRESENTATIVE_CV = 2.0
MARGIN = 0.10
MOSTLY_OUT_OF_BOUNDS = 0.5
NARROW_BINS = BINS // 8  # the widest span of the 5th to 99th percentiles that is a pattern


@dataclass(frozen=True)
class Windows:
    """Seconds from the start of an idle period."""

    prewarm_s: float  # nothing kept before it (0: the warm containers stay)
    keep_alive_s: float  # nothing kept after it


class IdleTimes:
    """One action's idle times, binned over the range."""

    __slots__ = ("bin_s", "counts", "in_range", "out_of_bounds")

    def __init__(self, range_s: float) -> None:
        self.bin_s = range_s / BINS
        self.counts = [0] * BINS
        self.in_range = 0
        self.out_of_bounds = 0

    def add(self, idle_s: float) -> None:
        index = int(max(0.0, idle_s) / self.bin_s)
        if index >= BINS:
            self.out_of_bounds += 1
        else:
            self.counts[index] += 1
            self.in_range += 1

    def windows(self) -> Windows | None:
        """The two windows, or None where the histogram is no guide (the fixed keep-alive)."""
        total = self.in_range + self.out_of_bounds
        if total < MIN_IDLE_TIMES or self.out_of_bounds > MOSTLY_OUT_OF_BOUNDS * total:
            return None
        mean = self.in_range / BINS
        cv = math.sqrt(sum((c - mean) ** 2 for c in self.counts) / BINS) / mean
        if cv < REPRESENTATIVE_CV:
            return None
        first, last = self._bin_of(0.05), self._bin_of(0.99)
        if last - first + 1 > NARROW_BINS:
            return None
        head = first * self.bin_s * (1 - MARGIN)  # the bin's lower edge
        tail = (last + 1) * self.bin_s * (1 + MARGIN)  # its upper edge
        return Windows(head if head >= self.bin_s else 0.0, tail)

    def _bin_of(self, quantile: float) -> int:
        rank = max(1, math.ceil(quantile * self.in_range))
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                return index
        return BINS - 1


class LearnedPrewarm:
    """The pool's bookkeeping for the policy: which actions run, since when each is idle, its
    histogram, and the prewarm each idle period has scheduled (an arrival cancels it)."""

    def __init__(self, range_s: float) -> None:
        self.range_s = range_s
        self.bin_s = range_s / BINS
        self._idle_times: dict[str, IdleTimes] = {}
        self._running: dict[str, int] = {}
        self._idle_since: dict[str, float] = {}
        self._scheduled: dict[str, asyncio.TimerHandle] = {}

    def arrived(self, key: str, now: float) -> None:
        scheduled = self._scheduled.pop(key, None)
        if scheduled is not None:
            scheduled.cancel()
        since = self._idle_since.pop(key, None)
        if since is not None:
            self._idle_times.setdefault(key, IdleTimes(self.range_s)).add(now - since)
        self._running[key] = self._running.get(key, 0) + 1

    def ended(self, key: str, now: float) -> Windows | None:
        """One of the action's activations ended: the windows of the idle period that begins if
        it was the last one running (None: none begins, or the fixed keep-alive applies)."""
        left = self._running.get(key, 0) - 1
        if left > 0:
            self._running[key] = left
            return None
        self._running.pop(key, None)
        self._idle_since[key] = now
        idle_times = self._idle_times.get(key)
        return idle_times.windows() if idle_times is not None else None

    def schedule(self, key: str, handle: asyncio.TimerHandle) -> None:
        self._scheduled[key] = handle

    def scheduled_done(self, key: str) -> None:
        self._scheduled.pop(key, None)

    def prune(self, now: float) -> None:
        """An idle period past the range is out of bounds whenever it ends: counted now, so that
        actions that never come back leave nothing behind but their histogram."""
        for key, since in list(self._idle_since.items()):
            if now - since > self.range_s:
                del self._idle_since[key]
                self._idle_times.setdefault(key, IdleTimes(self.range_s)).add(2 * self.range_s)

    def close(self) -> None:
        for handle in self._scheduled.values():
            handle.cancel()
        self._scheduled.clear()
