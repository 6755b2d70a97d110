"""The messaging feed against the test tooling's real broker: a trigger fired once per message of
a user's topic, each fire's rule running the counted action (tests/chaos.py), with an invoker
killed and started again in the middle, and then the controller: every message becomes one fire
and one action activation with a record, and no action body runs twice."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Iterator

import pytest

from chaos import Cluster, KafkaBroker, Runs, deploy_counted
from conftest import deploy, running

MESSAGES = 1_000


@pytest.fixture(scope="module")
def broker() -> Iterator[KafkaBroker]:
    b = KafkaBroker().start()
    yield b
    b.close()


async def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, count: int, start: int = 0) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        for i in range(start, start + count):
            await producer.send(topic, json.dumps({"i": i}).encode(), key=str(i).encode())
        await producer.flush()
    finally:
        await producer.stop()


def action_records(cluster: Cluster, name: str) -> list[dict]:
    found: list[dict] = []
    with cluster.client() as c:
        while True:
            page = c.get("/api/v1/namespaces/_/activations",
                         params={"name": name, "limit": 200, "skip": len(found), "docs": "true"}).json()
            found += page
            if len(page) < 200:
                return found


def test_a_thousand_messages_fire_a_thousand_activations_across_invoker_and_controller_restarts(
        broker: KafkaBroker, tmp_path: Path) -> None:
    cluster = Cluster(broker, tmp_path / "home", 2)
    try:
        with cluster.controller.admin() as admin:
            r = admin.put(f"/api/v1/system/namespaces/{cluster.namespace}/limits",
                          json={"invocationsPerMinute": 1_000_000, "concurrentInvocations": 2_000,
                                "firesPerMinute": 1_000_000})
            assert r.status_code == 200, r.text
        runs = tmp_path / "runs"
        deploy_counted(cluster, "count", runs, limits={"memory": 128})
        topic = f"{cluster.prefix}user-events"
        asyncio.run(create_topic(broker.bootstrap, topic, 3))
        asyncio.run(produce(broker.bootstrap, topic, 5, start=-5))  # before the feed: never fired
        with cluster.client() as c:
            r = c.put("/api/v1/namespaces/_/triggers/events",
                      json={"annotations": [{"key": "feed", "value": "/whisk.system/messaging/kafkaFeed"}]})
            assert r.status_code == 200, r.text
            r = c.post("/api/v1/namespaces/whisk.system/actions/messaging/kafkaFeed", params={"blocking": "true"},
                       json={"lifecycleEvent": "CREATE", "triggerName": f"/{cluster.namespace}/events",
                             "authKey": cluster.auth, "brokers": [broker.bootstrap], "topic": topic,
                             "isJSONData": True})
            assert r.status_code == 200, r.text
            r = c.put("/api/v1/namespaces/_/rules/on_event", json={"trigger": "/_/events", "action": "/_/count"})
            assert r.status_code == 200, r.text
        asyncio.run(produce(broker.bootstrap, topic, MESSAGES // 2))
        deadline = time.monotonic() + 60
        while len(Runs.read(runs).by_id) < MESSAGES // 4:
            assert time.monotonic() < deadline, f"only {len(Runs.read(runs).by_id)} ran"
            time.sleep(0.1)
        cluster.kill_invoker(1, signal.SIGKILL)
        asyncio.run(produce(broker.bootstrap, topic, MESSAGES // 2, start=MESSAGES // 2))
        time.sleep(2)
        cluster.start_invoker(1)
        # The controller resolves the killed incarnation's runs (from the start notices it read)
        # before it is killed in turn: those notices are not persisted, so a controller that
        # crashes in the middle of an invoker's restart lets a restarted run go twice (a known
        # gap, not what this test is about). On a loaded machine invoker1's restart took 7 s.
        deadline = time.monotonic() + 60
        while (cluster.home / "invoker1.log").read_text().count(" welcomed ") < 2:
            assert time.monotonic() < deadline, "invoker1's new incarnation was never welcomed"
            time.sleep(0.1)
        deadline = time.monotonic() + 60
        while len(Runs.read(runs).by_id) < MESSAGES * 3 // 4:
            assert time.monotonic() < deadline, f"only {len(Runs.read(runs).by_id)} ran"
            time.sleep(0.1)
        cluster.kill_controller()  # fires being delivered, messages not yet read
        cluster.restart_controller()
        deadline = time.monotonic() + 120
        while len(records := action_records(cluster, "count")) < MESSAGES:
            assert time.monotonic() < deadline, f"{len(records)} of {MESSAGES} action activations recorded"
            time.sleep(0.5)
        time.sleep(3)  # nothing more comes
        records = action_records(cluster, "count")
        assert len(records) == MESSAGES
        found = Runs.read(runs)
        assert found.twice() == []
        lost = [r for r in records if not r["response"]["success"]]  # those running on the killed invoker
        assert all(r["response"]["status"] == "whisk internal error" for r in lost)
        assert len(records) - len(lost) >= MESSAGES - 50
        fires = action_records(cluster, "events")
        assert len(fires) == MESSAGES  # one per message, none for what was there before the feed
        assert sorted(f["response"]["result"]["value"]["i"] for f in fires) == list(range(MESSAGES))
        ran = {json.loads(f["logs"][0])["activationId"] for f in fires}
        assert ran == {r["activationId"] for r in records}  # each fire's rule ran its own activation
    finally:
        cluster.stop()


def test_a_feed_on_a_topic_made_after_it_fires_from_the_topics_start(broker: KafkaBroker, tmp_path: Path) -> None:
    with running(tmp_path / "home") as srv:
        ns, auth = srv.new_namespace()
        with srv.client(auth) as c:
            assert c.put("/api/v1/namespaces/_/triggers/later", json={}).status_code == 200
            topic = f"later-{ns}"
            r = c.post("/api/v1/namespaces/whisk.system/actions/messaging/kafkaFeed", params={"blocking": "true"},
                       json={"lifecycleEvent": "CREATE", "triggerName": f"/{ns}/later", "authKey": auth,
                             "brokers": broker.bootstrap, "topic": topic, "batch": True})
            assert r.status_code == 200, r.text
            deploy(c, "sink", "def main(args):\n    return {'n': len(args['messages'])}\n")
            c.put("/api/v1/namespaces/_/rules/r", json={"trigger": "/_/later", "action": "/_/sink"})
            asyncio.run(create_topic(broker.bootstrap, topic, 1))
            asyncio.run(produce(broker.bootstrap, topic, 20))
            deadline = time.monotonic() + 30
            while sum(r["response"]["result"].get("n", 0) for r in
                      c.get("/api/v1/namespaces/_/activations", params={"name": "sink", "docs": "true"}).json()) < 20:
                assert time.monotonic() < deadline, "the feed did not pick up the new topic"
                time.sleep(0.2)
            read = c.post("/api/v1/namespaces/whisk.system/actions/messaging/kafkaFeed", params={"blocking": "true"},
                          json={"lifecycleEvent": "READ", "triggerName": f"/{ns}/later", "authKey": auth}).json()
            assert read["response"]["result"]["config"]["batch"] is True
            assert read["response"]["result"]["status"]["fired"] == 20
