"""The controller's Prometheus metrics (served at /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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

