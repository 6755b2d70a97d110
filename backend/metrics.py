"""The controller's Prometheus metrics (served at /metrics)."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .activations import now_ms

class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.invocations = Counter("squall_invocations", "Completed activations by status",
                                   ["status"], registry=self.registry)
        self.latency = Histogram(
            "squall_activation_duration_seconds", "Time from acceptance to completion",
            buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=self.registry)
        self.queue_depth = Gauge("squall_queue_depth", "Messages waiting per bus topic", ["topic"],
                                 registry=self.registry)
        self.containers = Gauge("squall_containers", "Action containers by state",
                                ["invoker", "state"], registry=self.registry)
        self.inflight = Gauge("squall_inflight_activations", "Accepted activations not yet completed",
                              registry=self.registry)
        self.store_commits = Gauge("squall_store_commits", "Transactions the store's writer committed",
                                   registry=self.registry)
        self.store_commit_max = Gauge("squall_store_commit_seconds_max",
                                      "The longest the event loop spent in one commit of the store",
                                      registry=self.registry)
        self._completed_at: deque[float] = deque()
        self._by_status: dict[str, Any] = {}  # labels() takes a lock and builds a key per call

    def account(self, record: dict[str, Any]) -> None:
        """A stored final record: counted by status, its latency observed, its time kept for the rate."""
        now = time.monotonic()
        self._completed_at.append(now)
        while self._completed_at and now - self._completed_at[0] > 10:
            self._completed_at.popleft()
        status = record["response"]["status"]
        counter = self._by_status.get(status)
        if counter is None:
            counter = self._by_status[status] = self.invocations.labels(status)
        counter.inc()
        self.latency.observe(max(0, now_ms() - record["start"]) / 1000)

    def completed_recently(self, seconds: float = 10.0) -> int:
        """Activations completed in the last `seconds` (at most 10), for the activation rate."""
        now = time.monotonic()
        return sum(1 for t in self._completed_at if now - t <= seconds)
