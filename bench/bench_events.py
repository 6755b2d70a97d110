"""Events, in one run on one backend (Docker runtime, in-process bus): fire-to-action-start latency
for one rule and for 10 rules on one trigger beside a plain invoke's wait time (interleaved
rounds); alarm jitter over 60 fires of a cron alarm every second; and the Kafka feed's throughput
from a user topic on a real broker to recorded action activations, beside the rate of as many
non-blocking invokes of the same action posted by a client.

Fire-to-start: the rule's action activation's start minus the trigger activation's start (both
taken by the controller's clock). Its floor: the `waitTime` of a plain blocking invoke of the same
warm action (the controller accepting it to the run starting). Jitter: a fire's trigger activation
start minus the second it was scheduled for.
Run: python bench/bench_events.py [-n 200] [--messages 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import ROOT, machine, percentiles  # noqa: E402
from bench_docker import Backend  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from kafka_broker import KafkaBroker  # noqa: E402

NOOP = "def main(args):\n    return {}\n"
RULES = 10


def annotation(record: dict, key: str) -> object:
    return next((a["value"] for a in record["annotations"] if a["key"] == key), None)


def user_key(backend: Backend) -> str:
    return base64.b64decode(backend.headers["Authorization"].split()[1]).decode()


def record(backend: Backend, activation_id: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        backend.conn.request("GET", f"/api/v1/namespaces/_/activations/{activation_id}", headers=backend.headers)
        response = backend.conn.getresponse()
        data = response.read()
        if response.status == 200:
            return json.loads(data)
        if time.monotonic() > deadline:
            raise SystemExit(f"activation {activation_id} has no record after {timeout}s")
        time.sleep(0.002)


def fire_to_start(backend: Backend, trigger: str) -> list[float]:
    fired = backend.call("POST", f"/api/v1/namespaces/_/triggers/{trigger}", {})
    trigger_record = record(backend, fired["activationId"])  # type: ignore[index]
    ids = [json.loads(line)["activationId"] for line in trigger_record["logs"]]
    return [float(record(backend, a)["start"] - trigger_record["start"]) for a in ids]


def plain_wait(backend: Backend, action: str) -> float:
    got = backend.call("POST", f"/api/v1/namespaces/_/actions/{action}?blocking=true", {})
    return float(annotation(got, "waitTime"))  # type: ignore[arg-type]


def setup_rules(backend: Backend) -> None:
    backend.call("PUT", "/api/v1/system/namespaces/guest/limits",
                 {"invocationsPerMinute": 10_000_000, "concurrentInvocations": 100_000, "firesPerMinute": 10_000_000},
                 admin=True)
    for trigger, count in (("one", 1), ("ten", RULES)):
        backend.call("PUT", f"/api/v1/namespaces/_/triggers/{trigger}?overwrite=true", {})
        for i in range(count):
            action = f"{trigger}{i}"
            backend.call("PUT", f"/api/v1/namespaces/_/actions/{action}?overwrite=true",
                         {"exec": {"kind": "python:3", "code": NOOP}, "limits": {"memory": 128}})
            backend.call("PUT", f"/api/v1/namespaces/_/rules/r_{action}?overwrite=true",
                         {"trigger": f"/_/{trigger}", "action": f"/_/{action}"})
            plain_wait(backend, action)  # warm


def alarm_jitter(backend: Backend, fires: int) -> list[float]:
    backend.call("PUT", "/api/v1/namespaces/_/triggers/tick?overwrite=true", {})
    backend.call("PUT", "/api/v1/namespaces/_/rules/r_tick?overwrite=true", {"trigger": "/_/tick", "action": "/_/one0"})
    backend.call("POST", "/api/v1/namespaces/whisk.system/actions/alarms/alarm?blocking=true",
                 {"lifecycleEvent": "CREATE", "triggerName": "/guest/tick", "authKey": user_key(backend),
                  "cron": "* * * * * *", "maxTriggers": fires})
    time.sleep(fires + 3)
    backend.conn.close()  # idle past the server's keep-alive: a new connection
    listed = backend.call("GET", f"/api/v1/namespaces/_/activations?name=tick&limit={fires}&docs=true")
    starts = [a["start"] for a in listed if annotation(a, "kind") == "trigger"]  # type: ignore[union-attr]
    return [float(s % 1000) for s in starts]  # after the second it was scheduled for


async def produce(bootstrap: str, topic: str, count: int) -> None:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for i in range(count):
            await producer.send(topic, json.dumps({"i": i}).encode())
        await producer.flush()
    finally:
        await producer.stop()


def count_records(backend: Backend, name: str) -> int:
    return backend.call("GET", f"/api/v1/namespaces/_/activations?name={name}&count=true")["activations"]  # type: ignore[index]


def kafka_feed(backend: Backend, messages: int) -> tuple[float, float]:
    """Messages/s from the topic to recorded action activations; invokes/s of the same action
    posted non-blocking by one client and recorded (the floor)."""
    broker = KafkaBroker().start()
    try:
        backend.call("PUT", "/api/v1/namespaces/_/actions/sink?overwrite=true",
                     {"exec": {"kind": "python:3", "code": NOOP}, "limits": {"memory": 128}})
        t0 = time.perf_counter()
        for _ in range(messages):
            backend.call("POST", "/api/v1/namespaces/_/actions/sink", {})
        while count_records(backend, "sink") < messages:
            time.sleep(0.05)
        floor = messages / (time.perf_counter() - t0)
        backend.call("PUT", "/api/v1/namespaces/_/actions/fed?overwrite=true",
                     {"exec": {"kind": "python:3", "code": NOOP}, "limits": {"memory": 128}})
        backend.call("PUT", "/api/v1/namespaces/_/triggers/events?overwrite=true",
                     {"annotations": [{"key": "feed", "value": "/whisk.system/messaging/kafkaFeed"}]})
        backend.call("POST", "/api/v1/namespaces/whisk.system/actions/messaging/kafkaFeed?blocking=true",
                     {"lifecycleEvent": "CREATE", "triggerName": "/guest/events", "authKey": user_key(backend),
                      "brokers": [broker.bootstrap], "topic": "bench-events"})
        backend.call("PUT", "/api/v1/namespaces/_/rules/r_events?overwrite=true",
                     {"trigger": "/_/events", "action": "/_/fed"})
        t0 = time.perf_counter()
        asyncio.run(produce(broker.bootstrap, "bench-events", messages))
        deadline = time.monotonic() + 300
        while count_records(backend, "fed") < messages and time.monotonic() < deadline:
            time.sleep(0.05)
        return messages / (time.perf_counter() - t0), floor
    finally:
        broker.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200, help="rounds of fire-to-start (and plain invokes)")
    parser.add_argument("--fires", type=int, default=60, help="alarm fires to time")
    parser.add_argument("--messages", type=int, default=2000, help="Kafka messages to feed")
    args = parser.parse_args()
    backend = Backend(3920)
    try:
        setup_rules(backend)
        plain, one, ten = [], [], []
        for _ in range(args.n):  # interleaved rounds
            plain.append(plain_wait(backend, "one0"))
            one += fire_to_start(backend, "one")
            ten += fire_to_start(backend, "ten")
        jitter = alarm_jitter(backend, args.fires)
        feed_rate, invoke_rate = kafka_feed(backend, args.messages)
    finally:
        backend.stop()
    print(f"machine: {machine()}; {args.n} rounds, {args.fires} alarm fires, {args.messages} Kafka messages")
    print(f"{'measure':<44} {'p50':>9} {'p99':>9}")
    for label, samples in (("plain invoke waitTime (floor), ms", plain), ("fire-to-start, 1 rule, ms", one),
                           (f"fire-to-start, {RULES} rules on one trigger, ms", ten),
                           (f"alarm jitter over {len(jitter)} fires, ms", jitter)):
        p50, p99 = percentiles(samples)
        print(f"{label:<44} {p50:9.1f} {p99:9.1f}")
    p50_plain = percentiles(plain)[0]
    print(f"fire-to-start p50 above the floor: 1 rule {percentiles(one)[0] - p50_plain:+.1f} ms, "
          f"{RULES} rules {percentiles(ten)[0] - p50_plain:+.1f} ms (target <= +5 ms)")
    print(f"Kafka feed: {feed_rate:.0f} messages/s to recorded activations; floor (non-blocking invokes "
          f"from one client, recorded): {invoke_rate:.0f}/s")


if __name__ == "__main__":
    main()
