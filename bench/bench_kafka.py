"""The same warm workload through the in-process bus and through Kafka, in one run.

Two backends of the same shape (controller + one invoker in one process, process runtime) that
differ only in their bus; the Kafka one talks to a real single-node broker on loopback. Prints
sequential p50/p99 of blocking invocations (interleaved rounds) and wrk throughput at c=1/8/32.
Run: python bench/bench_kafka.py
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import ROOT, machine, percentiles, props, start_backend, timed_posts, wrk  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from kafka_broker import KAFKA_VERSION, KafkaBroker  # noqa: E402

NOOP = "def main(args):\n    return {}\n"
PATH = "/api/v1/namespaces/_/actions/noop?blocking=true&result=true"


class Backend:
    def __init__(self, label: str, port: int, *args: str) -> None:
        self.label = label
        self.port = port
        self.home = Path(tempfile.mkdtemp(prefix=f"squall-bench-{label}-"))
        self.process = start_backend(self.home, port, "--runtime", "process", *args)
        self.auth = props(self.home / "wskprops")["AUTH"]
        admin = props(self.home / "admin.wskprops")["AUTH"]
        self.headers = {"Authorization": "Basic " + base64.b64encode(self.auth.encode()).decode(),
                        "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port)
        admin_headers = {**self.headers, "Authorization": "Basic " + base64.b64encode(admin.encode()).decode()}
        for method, path, body, headers in [
            ("PUT", "/api/v1/system/namespaces/guest/limits",
             {"invocationsPerMinute": 10_000_000, "concurrentInvocations": 1000}, admin_headers),
            ("PUT", "/api/v1/namespaces/_/actions/noop?overwrite=true",
             {"exec": {"kind": "python:3", "code": NOOP}, "limits": {"memory": 128}}, self.headers)]:
            self.conn.request(method, path, json.dumps(body), headers)
            response = self.conn.getresponse()
            if response.status != 200:
                raise SystemExit(f"{self.label}: {method} {path}: {response.status} {response.read()!r}")
            response.read()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(120)
        shutil.rmtree(self.home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    broker = KafkaBroker().start()
    base = 4100 + os.getpid() % 400
    memory = kafka = None
    try:
        memory = Backend("memory", base, "--bus", "memory")
        kafka = Backend("kafka", base + 1, "--bus", "kafka", "--kafka", broker.bootstrap)
        latency: dict[str, list[float]] = {"memory": [], "kafka": []}
        for b in (memory, kafka):
            b.conn.close()  # fresh connections: the server drops one idle for 5 s (keep-alive timeout)
            b.conn = http.client.HTTPConnection("127.0.0.1", b.port)
            timed_posts(b.conn, PATH, b"{}", b.headers, 300)  # warm the containers, the JIT, the clients
        for _ in range(5):  # interleaved rounds: a noisy moment hits both alike
            for b in (memory, kafka):
                latency[b.label] += timed_posts(b.conn, PATH, b"{}", b.headers, args.n // 5)
        throughput: dict[str, dict[int, dict[str, float]]] = {}
        for b in (memory, kafka):
            wrk(f"http://127.0.0.1:{b.port}{PATH}", b.auth, 32, 2)  # start the warm containers 32 need
            throughput[b.label] = {c: wrk(f"http://127.0.0.1:{b.port}{PATH}", b.auth, c, args.seconds)
                                   for c in (1, 8, 32)}
    finally:
        for b in (memory, kafka):
            if b is not None:
                b.stop()
        broker.close()

    print(f"machine: {machine()}; Apache Kafka {KAFKA_VERSION} (single KRaft node on loopback, JDK 17); "
          "runtime process; one in-process invoker")
    print(f"sequential warm blocking invocations of a no-op action, n={args.n} per bus:")
    p = {label: percentiles(samples) for label, samples in latency.items()}
    for label in ("memory", "kafka"):
        print(f"  {label:<7} p50 {p[label][0]:6.3f} ms   p99 {p[label][1]:6.3f} ms")
    print(f"  Kafka adds {p['kafka'][0] - p['memory'][0]:6.3f} ms at p50")
    print(f"throughput (wrk, {args.seconds} s per level):")
    for label in ("memory", "kafka"):
        for c, r in throughput[label].items():
            print(f"  {label:<7} c={c:<3} {r['rps']:7.0f} invocations/s   p50 {r['p50']:7.2f} ms   "
                  f"p99 {r['p99']:7.2f} ms   non-2xx {r['errors']}")


if __name__ == "__main__":
    main()
