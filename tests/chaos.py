"""The fault-injection tool: a controller and N invokers as separate processes on a real Kafka
broker, a bounded load, chosen processes killed and restarted at chosen moments, and at the end an
account of every activation id returned: its record, and how often its action body ran, and where.

The action it deploys (`COUNTED`) appends one line per run, the process id of the invoker that ran
it, to a file named after its activation id in a directory the tool gives it (the process runtime
runs it on this host), so a test can tell a run twice, or a run on a dead invoker, from its files.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from backend.loadbalancer import home_hash

from conftest import ROOT, Server, deploy, free_port

sys.path.insert(0, str(ROOT / "scripts"))
from kafka_broker import KafkaBroker  # noqa: E402

COUNTED = '''
import os, time
def main(args):
    invoker = str(os.getppid())  # the action runs in its proxy, a child of the invoker process
    with open(os.path.join(args["runs"], os.environ["__OW_ACTIVATION_ID"]), "a") as runs:
        runs.write(invoker + "\\n")
    time.sleep(args.get("sleep", 0))
    return {"i": args.get("i"), "invoker": int(invoker)}
'''


class Cluster:
    """`squall up --bus kafka --invokers 0` plus invoker processes, on a topic prefix of its own."""

    def __init__(self, broker: KafkaBroker, home: Path, invokers: int = 2, *controller_args: str) -> None:
        self.broker = broker
        self.home = home
        self.prefix = f"t{uuid.uuid4().hex[:8]}."
        self.bus_args = ["--bus", "kafka", "--kafka", broker.bootstrap, "--kafka-prefix", self.prefix]
        self.controller_args = [*self.bus_args, "--invokers", "0", "--ack-timeout-min", "1",
                                "--ack-timeout-extra", "4", *controller_args]
        self.controller = Server(home, free_port(), self.controller_args).start()
        self.invokers: dict[int, subprocess.Popen[bytes]] = {}
        self.start_invokers(invokers)
        self.namespace, self.auth = self.controller.new_namespace({"invocationsPerMinute": 1_000_000,
                                                                   "concurrentInvocations": 2_000})

    def start_invoker(self, i: int, *args: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "SQUALL_HOME": str(self.home), "PYTHONPATH": str(ROOT)}
        log = open(self.home / f"invoker{i}.log", "ab")
        self.invokers[i] = subprocess.Popen(
            [sys.executable, "-m", "backend.server", "invoker", "--id", str(i), *self.bus_args,
             "--runtime", "process", "--prewarm", "0", *args],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        return self.invokers[i]

    def start_invokers(self, count: int, *args: str) -> None:
        """Invokers 0..count-1 (with `args`), healthy."""
        for i in range(count):
            self.start_invoker(i, *args)
        self.wait_states({i: "healthy" for i in range(count)}, timeout=60)

    def kill_invoker(self, i: int, sig: int = signal.SIGKILL) -> int:
        """Kill invoker `i`; returns its pid (what its runs wrote)."""
        process = self.invokers[i]
        process.send_signal(sig)
        process.wait(30)
        return process.pid

    def kill_controller(self) -> None:
        assert self.controller.stop(signal.SIGKILL) == -signal.SIGKILL

    def restart_controller(self) -> None:
        self.controller.start(timeout=60)

    def start_notices(self) -> dict[str, set[int]]:
        """What the invokers told the controller they started (activation id -> invokers), read
        from the completion topic itself: the test's own view of the protocol."""
        return asyncio.run(_start_notices(self.broker.bootstrap, self.prefix + "completed0"))

    def status(self) -> dict:
        with self.controller.admin() as admin:
            return admin.get("/api/v1/system/status").json()

    def wait_states(self, expected: dict[int, str], timeout: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            states = {inv["id"]: inv["state"] for inv in self.status()["invokers"]}
            if all(states.get(i) == s for i, s in expected.items()):
                return time.monotonic() - started
            time.sleep(0.2)
        raise AssertionError(f"invokers not {expected} after {timeout}s: {self.status()['invokers']}")

    def client(self, timeout: float = 60.0) -> httpx.Client:
        return self.controller.client(self.auth, timeout=timeout)

    def stop(self) -> None:
        for p in self.invokers.values():
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.terminate()
        for p in self.invokers.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        if self.controller.process is not None:
            self.controller.stop()


async def _start_notices(bootstrap: str, topic: str) -> dict[str, set[int]]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        notices: dict[str, set[int]] = {}
        while await consumer.position(partition) < end:
            for message in (await consumer.getmany(partition, timeout_ms=1000)).get(partition, []):
                ack = json.loads(message.value)
                if ack.get("kind") == "start":
                    notices.setdefault(ack["activation_id"], set()).add(ack["invoker"])
        return notices
    finally:
        await consumer.stop()


def fire(cluster: Cluster, name: str, count: int, params: dict | None = None, workers: int = 8,
         seconds: float = 120.0, blocking: bool = False) -> list[str]:
    """Invocations bounded in count and time, from `workers` kept-alive connections; the ids of
    those accepted (202, or 200 when blocking)."""
    deadline = time.monotonic() + seconds

    def some(numbers: range) -> list[str]:
        accepted = []
        with cluster.client() as c:
            for i in numbers:
                if time.monotonic() > deadline:
                    break
                try:
                    r = c.post(f"/api/v1/namespaces/_/actions/{name}",
                               params={"blocking": str(blocking).lower()}, json={"i": i, **(params or {})})
                except httpx.TransportError:  # the controller was killed under this request
                    continue
                if r.status_code == (200 if blocking else 202):
                    accepted.append(r.json()["activationId"])
        return accepted

    with ThreadPoolExecutor(workers) as pool:
        return [a for ids in pool.map(some, [range(w, count, workers) for w in range(workers)]) for a in ids]


def wait_records(cluster: Cluster, ids: list[str], timeout: float) -> dict[str, dict]:
    """Every id's record, or fail naming how many never resolved."""
    records: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    with cluster.client() as c:
        while time.monotonic() < deadline:
            for activation_id in [a for a in ids if a not in records]:
                r = c.get(f"/api/v1/namespaces/_/activations/{activation_id}")
                if r.status_code == 200:
                    records[activation_id] = r.json()
            if len(records) == len(ids):
                return records
            time.sleep(0.2)
    raise AssertionError(f"{len(ids) - len(records)} of {len(ids)} activations never got a record")


@dataclass
class Runs:
    """What the counted action's files say: activation id -> the invoker pids that ran it."""

    directory: Path
    by_id: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def read(cls, directory: Path) -> "Runs":
        return cls(directory, {f.name: [int(line) for line in f.read_text().split()]
                               for f in directory.iterdir()})

    def twice(self) -> list[str]:
        return [a for a, pids in self.by_id.items() if len(pids) > 1]

    def on(self, pid: int) -> set[str]:
        return {a for a, pids in self.by_id.items() if pid in pids}


def homed(cluster: Cluster, prefix: str, homes: list[int]) -> list[str]:
    """Action names whose home invokers (by the balancer's own hash) are `homes`, in order."""
    names: list[str] = []
    for home in homes:
        names.append(next(f"{prefix}{i}" for i in range(10_000) if f"{prefix}{i}" not in names
                          and home_hash(cluster.namespace, f"{prefix}{i}") % len(cluster.invokers) == home))
    return names


def deploy_counted(cluster: Cluster, name: str, runs: Path, **body: object) -> None:
    runs.mkdir(parents=True, exist_ok=True)
    with cluster.client() as c:
        deploy(c, name, COUNTED, parameters=[{"key": "runs", "value": str(runs)}], **body)
