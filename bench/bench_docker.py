"""Action containers on Docker: cold start, prewarm hit, and warm invocations against a direct /run.

Cold start: each invocation is the first of a new action with no prewarmed container (the
container is created on the request path). Prewarm hit: the first invocation of a new action when a
prewarmed container waits. Warm: the same action again and again, next to direct /run calls to the
very same container over its socket. Run: python bench/bench_docker.py (needs the engine and image).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import (  # noqa: E402
    ROOT, UnixHTTPConnection, machine, percentiles, props, start_backend, timed_posts,
)

sys.path.insert(0, str(ROOT))
from backend.runtimes import run_dir  # noqa: E402

NOOP = "def main(args):\n    return {}\n"


class Backend:
    def __init__(self, port: int, *args: str) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="squall-bench-docker-"))
        self.port = port
        self.process = start_backend(self.home, port, "--runtime", "docker", *args)
        user, admin = props(self.home / "wskprops"), props(self.home / "admin.wskprops")
        self.headers = {"Authorization": "Basic " + base64.b64encode(user["AUTH"].encode()).decode(),
                        "Content-Type": "application/json"}
        self.admin = {**self.headers,
                      "Authorization": "Basic " + base64.b64encode(admin["AUTH"].encode()).decode()}
        self.conn = http.client.HTTPConnection("127.0.0.1", port)
        self.call("PUT", "/api/v1/system/namespaces/guest/limits",
                  {"invocationsPerMinute": 10_000_000, "concurrentInvocations": 1000}, admin=True)

    def call(self, method: str, path: str, body: object = None, admin: bool = False) -> object:
        self.conn.request(method, path, json.dumps(body) if body is not None else None,
                          self.admin if admin else self.headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status >= 300:
            raise SystemExit(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data)

    def deploy(self, name: str) -> None:
        self.call("PUT", f"/api/v1/namespaces/_/actions/{name}?overwrite=true",
                  {"exec": {"kind": "python:3", "code": NOOP}})

    def invoke_ms(self, name: str) -> float:
        t0 = time.perf_counter()
        record = self.call("POST", f"/api/v1/namespaces/_/actions/{name}?blocking=true")
        assert record["response"]["status"] == "success", record  # type: ignore[index]
        return (time.perf_counter() - t0) * 1000

    def containers(self) -> list[dict]:
        status = self.call("GET", "/api/v1/system/status", admin=True)
        return [c for inv in status["invokers"] for c in inv["containers"]]  # type: ignore[index]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(120)
        shutil.rmtree(self.home, ignore_errors=True)


def wait_for_prewarm(backend: Backend, used: set[str], timeout: float = 30.0) -> str:
    """Until a prewarmed container that no earlier sample took is ready. (Just after one is taken,
    the status API may show it as prewarm for up to a ping's 50 ms: waiting for any would race.)"""
    deadline = time.monotonic() + timeout
    while True:
        fresh = [c["id"] for c in backend.containers() if c["state"] == "prewarm" and c["id"] not in used]
        if fresh:
            return fresh[0]
        if time.monotonic() > deadline:
            raise SystemExit("no prewarmed container appeared")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=15, help="cold starts and prewarm hits to time")
    parser.add_argument("-n", type=int, default=2000, help="warm invocations (and direct calls)")
    args = parser.parse_args()

    cold = Backend(3900, "--prewarm", "0")
    try:
        cold_ms = []
        for i in range(args.starts):
            cold.deploy(f"cold{i}")
            cold_ms.append(cold.invoke_ms(f"cold{i}"))
    finally:
        cold.stop()

    # room for every action it leaves warm, so the pool can always refill its prewarmed container
    warm = Backend(3901, "--prewarm", "1", "--user-memory", str(256 * (args.starts + 4)))
    try:
        prewarm_ms = []
        used: set[str] = set()
        for i in range(args.starts):
            used.add(wait_for_prewarm(warm, used))  # the one this sample's invocation takes
            warm.deploy(f"pre{i}")
            prewarm_ms.append(warm.invoke_ms(f"pre{i}"))

        warm.deploy("noop")
        path = "/api/v1/namespaces/_/actions/noop?blocking=true&result=true"
        timed_posts(warm.conn, path, b"{}", warm.headers, 200)
        (container,) = [c for c in warm.containers() if (c["action"] or "").startswith("guest/noop@")]
        sock = run_dir(warm.home) / "invoker0" / container["id"] / "action.sock"
        direct = UnixHTTPConnection(str(sock))
        run_body = json.dumps({"value": {}, "namespace": "guest", "action_name": "/guest/noop",
                               "action_version": "0.0.1", "activation_id": "0" * 32, "deadline": "0"}).encode()
        headers = {"Content-Type": "application/json"}
        timed_posts(direct, "/run", run_body, headers, 200)
        api_ms: list[float] = []
        direct_ms: list[float] = []
        for _ in range(5):  # interleaved rounds: a noisy moment hits both paths alike
            direct_ms += timed_posts(direct, "/run", run_body, headers, args.n // 5)
            api_ms += timed_posts(warm.conn, path, b"{}", warm.headers, args.n // 5)
    finally:
        warm.stop()

    c50, c99 = percentiles(cold_ms)
    p50, p99 = percentiles(prewarm_ms)
    a50, a99 = percentiles(api_ms)
    d50, d99 = percentiles(direct_ms)
    print(f"machine: {machine()}, runtime docker, bus memory")
    print(f"end-to-end blocking invocations of a no-op Python action (256 MB), {args.starts} each:")
    print(f"  cold start, no prewarm        p50 {c50:7.1f} ms   max {max(cold_ms):7.1f} ms")
    print(f"  first call on a prewarmed     p50 {p50:7.1f} ms   max {max(prewarm_ms):7.1f} ms")
    print("  prewarm samples in order:", " ".join(f"{x:.0f}" for x in prewarm_ms))
    print(f"warm, sequential, n={len(api_ms)} each:")
    print(f"  direct /run to the container  p50 {d50:7.3f} ms   p99 {d99:7.3f} ms")
    print(f"  REST API blocking invoke      p50 {a50:7.3f} ms   p99 {a99:7.3f} ms")
    print(f"  API overhead at p50           {a50 - d50:7.3f} ms")


if __name__ == "__main__":
    main()
