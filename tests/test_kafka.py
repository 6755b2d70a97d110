"""A controller and two invoker processes talking through a real Apache Kafka broker (no mocks).
What happens when one of them dies is tests/test_failover.py's.

Each test gets a cluster of its own (its own topic prefix on the shared broker), so that killing or
pausing its processes never disturbs another test. Load is bounded in count and time.
"""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest

from backend.loadbalancer import home_hash
from chaos import Cluster, KafkaBroker, fire, wait_records
from conftest import deploy

SLEEPY = "import time\ndef main(args):\n    time.sleep(args.get('sleep', 0))\n    return {'i': args.get('i')}\n"


@pytest.fixture(scope="module")
def broker() -> Iterator[KafkaBroker]:
    b = KafkaBroker().start()
    yield b
    b.close()


@pytest.fixture
def cluster(broker: KafkaBroker, tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(broker, tmp_path / "home")
    yield c
    c.stop()


def test_a_thousand_invocations_over_several_actions_all_end_with_records(cluster: Cluster) -> None:
    # Two actions whose home is invoker0 and two whose home is invoker1 (the balancer's own hash).
    names: list[str] = []
    for home in (0, 0, 1, 1):
        names.append(next(f"a{i}" for i in range(1000)
                          if home_hash(cluster.namespace, f"a{i}") % 2 == home and f"a{i}" not in names))
    with cluster.client() as c:
        for name in names:
            deploy(c, name, SLEEPY)
    # All four at once, two blocking clients each: at most 4 in flight per invoker, under its 8 slots,
    # so the balancer has no reason to leave an action's home. (Non-blocking clients would not bound
    # what is in flight: a 202 comes back long before the completion frees the slot.)
    with ThreadPoolExecutor(4) as pool:
        ids = [a for batch in pool.map(lambda name: fire(cluster, name, 250, workers=2, blocking=True), names)
               for a in batch]
    assert len(ids) == 1000
    records = wait_records(cluster, ids, timeout=180)
    assert {r["response"]["status"] for r in records.values()} == {"success"}
    homes = {inv["id"]: {c["action"].split("@")[0].split("/")[-1] for c in inv["containers"] if c["action"]}
             for inv in cluster.status()["invokers"]}
    assert homes == {0: set(names[:2]), 1: set(names[2:])}, f"each action runs on its home invoker: {homes}"


def test_queue_depth_rises_while_invokers_are_paused_and_drains(cluster: Cluster) -> None:
    with cluster.client() as c:
        deploy(c, "q0", SLEEPY)
        deploy(c, "q1", SLEEPY)
        for n in (0, 1):  # warm both, so the drain is quick
            assert c.post(f"/api/v1/namespaces/_/actions/q{n}?blocking=true").status_code == 200
    deadline = time.monotonic() + 10  # offsets are committed in the background, soon after
    while sum(inv["queueDepth"] for inv in cluster.status()["invokers"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    for p in cluster.invokers.values():
        p.send_signal(signal.SIGSTOP)
    try:
        ids = fire(cluster, "q0", 15, workers=4, seconds=5) + fire(cluster, "q1", 15, workers=4, seconds=5)
        depth = sum(inv["queueDepth"] for inv in cluster.status()["invokers"])
        assert depth == len(ids) == 30
        with cluster.controller.admin() as admin:
            metrics = admin.get("/metrics").text
        assert sum(float(line.split()[-1]) for line in metrics.splitlines()
                   if line.startswith('squall_queue_depth{topic="invoker')) == 30
    finally:
        for p in cluster.invokers.values():
            p.send_signal(signal.SIGCONT)
    wait_records(cluster, ids, timeout=60)
    deadline = time.monotonic() + 10
    while sum(inv["queueDepth"] for inv in cluster.status()["invokers"]) != 0:
        assert time.monotonic() < deadline, "the queues did not drain to 0"
        time.sleep(0.2)
