"""Squall's own cost per invocation beside its floors, every comparison in one run, as one table.

- Throughput at c=32 (wrk, 5 s): a FastAPI endpoint that only echoes the body (uvicorn, httptools,
  uvloop: the stack Squall serves on) against a warm blocking invoke of a no-op action through
  Squall's REST API (process runtime, in-process bus), in interleaved rounds (two of each).
- Warm overhead: sequential blocking invokes through the API against direct /run calls to an
  action process of the same kind, interleaved. The overhead is what the API adds (the p50
  difference, as in bench_api and bench_docker), as a multiple of the direct p50: the issue's
  "0.53 ms direct, 2.93 ms through the API (4.5x)" is (2.93 - 0.53) / 0.53.
- Many actions: 100 distinct no-op actions in round robin against the one action, at c=32, in
  interleaved rounds; with user memory for all of them to stay warm (room for 300 containers: an
  action whose container is still busy when its turn comes again gets a second one), and with the
  default user memory (eviction churn).
- The spike (Docker runtime): 2,000 blocking requests at concurrency 100 (hey) on a fresh action
  that works 50 ms, 128 MB; against the bound its containers could serve (user memory / 128 MB
  containers, each 20/s).
- The store: an activation list of 30 from 100,000 stored records, and the resident memory of
  `squall up` (controller and invoker in one process) idle, with those records stored, and with
  the warm containers of the many-actions run (the action processes' own memory not counted).
Run: python bench/bench_performance.py (needs wrk; hey and the Docker engine for the spike)
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import (  # noqa: E402
    ROOT, NOOP, DirectContainer, OneWriteHTTPConnection, UnixHTTPConnection, machine, percentiles, props, start_backend, timed_posts, wrk,
)

sys.path.insert(0, str(ROOT))
from backend.activations import SUCCESS, activation_record  # noqa: E402
from backend.server import Config  # noqa: E402

WORK_50MS = "import time\ndef main(args):\n    time.sleep(0.05)\n    return {}\n"
ECHO_APP = textwrap.dedent('''
    from fastapi import FastAPI, Request
    from fastapi.responses import Response
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> Response:
        return Response(await request.body(), media_type="application/json")
''')


class Squall:
    def __init__(self, port: int, *args: str) -> None:
        self.port = port
        self.home = Path(tempfile.mkdtemp(prefix="squall-bench-perf-"))
        self.process = start_backend(self.home, port, *args)
        self.auth = props(self.home / "wskprops")["AUTH"]
        admin = props(self.home / "admin.wskprops")["AUTH"]
        self.headers = {"Authorization": "Basic " + base64.b64encode(self.auth.encode()).decode(),
                        "Content-Type": "application/json"}
        self.admin = {**self.headers, "Authorization": "Basic " + base64.b64encode(admin.encode()).decode()}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.call("PUT", "/api/v1/system/namespaces/guest/limits",
                  {"invocationsPerMinute": 100_000_000, "concurrentInvocations": 100_000}, admin=True)

    def url(self, action: str) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/namespaces/_/actions/{action}?blocking=true&result=true"

    def call(self, method: str, path: str, body: object = None, admin: bool = False) -> Any:
        self.conn.request(method, path, json.dumps(body) if body is not None else None,
                          self.admin if admin else self.headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status >= 300:
            raise SystemExit(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data) if data else None

    def deploy(self, name: str, code: str = NOOP) -> None:
        self.call("PUT", f"/api/v1/namespaces/_/actions/{name}?overwrite=true",
                  {"exec": {"kind": "python:3", "code": code}, "limits": {"memory": 128}})

    def metric(self, name: str) -> float:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)  # idle: the kept one timed out
        conn.request("GET", "/metrics", headers=self.admin)
        text = conn.getresponse().read().decode()
        conn.close()
        return float(re.search(rf"^{name} (\S+)$", text, re.M).group(1))

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(120)

    def remove(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


@contextlib.contextmanager
def echo_server(port: int) -> Iterator[str]:
    """The floor: a FastAPI endpoint that only echoes the body, served as Squall is; its URL."""
    work = Path(tempfile.mkdtemp(prefix="squall-bench-echo-"))
    (work / "echo.py").write_text(ECHO_APP)
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "echo:app", "--port", str(port), "--http", "httptools",
                               "--loop", "uvloop", "--log-level", "warning", "--no-access-log"],
                              cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("POST", "/echo", b"{}")
                c.getresponse().read()
                break
            except OSError:
                time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/echo"
        wrk(url, "x:y", 32, 1)
        yield url
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(work, ignore_errors=True)


def round_robin(squall: Squall, names: list[str], seconds: int) -> dict[str, float]:
    """wrk at c=32 over `names` in turn (each connection walks the list from its own start)."""
    script = Path(tempfile.mkdtemp()) / "rr.lua"
    paths = ", ".join(f'"/api/v1/namespaces/_/actions/{n}?blocking=true&result=true"' for n in names)
    script.write_text(textwrap.dedent(f'''
        local paths = {{{paths}}}
        local i = 0
        wrk.method = "POST"
        wrk.body = "{{}}"
        wrk.headers["Content-Type"] = "application/json"
        wrk.headers["Authorization"] = "{squall.headers['Authorization']}"
        request = function()
            i = i % #paths + 1
            return wrk.format(nil, paths[i])
        end
    '''))
    out = subprocess.run(["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency", "-s", str(script),
                          f"http://127.0.0.1:{squall.port}/"], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "errors": int(errors.group(1)) if errors else 0}


def containers(squall: Squall) -> int:
    return sum(len(inv["containers"]) for inv in squall.call("GET", "/api/v1/system/status", admin=True)["invokers"])


def warm_up(squall: Squall, names: list[str]) -> None:
    """Round robin until a round starts no container: a fixed few seconds left starts (100
    actions' worth take longer than that) running into the measured rounds."""
    for _ in range(20):
        before = containers(squall)
        round_robin(squall, names, 2)
        time.sleep(0.5)  # what the round left queued
        if containers(squall) == before:
            return


def warm_overhead(squall: Squall, n: int) -> tuple[list[float], list[float]]:
    container = DirectContainer(squall.home / "direct")
    try:
        direct = UnixHTTPConnection(container.socket)
        run_body = json.dumps({"value": {}, "namespace": "guest", "action_name": "/guest/noop",
                               "action_version": "0.0.1", "activation_id": "0" * 32, "deadline": "0"}).encode()
        path = "/api/v1/namespaces/_/actions/noop?blocking=true&result=true"
        api = OneWriteHTTPConnection("127.0.0.1", squall.port)
        timed_posts(api, path, b"{}", squall.headers, 200)
        timed_posts(direct, "/run", run_body, {"Content-Type": "application/json"}, 200)
        api_ms: list[float] = []
        direct_ms: list[float] = []
        for _ in range(5):
            direct_ms += timed_posts(direct, "/run", run_body, {"Content-Type": "application/json"}, n // 5)
            api_ms += timed_posts(api, path, b"{}", squall.headers, n // 5)
        return api_ms, direct_ms
    finally:
        container.close()


def idle(squall: Squall, timeout_s: float = 30) -> dict[str, Any]:
    """The status once the server is idle: its prewarmed containers up (`squall up` starts them
    after it answers, and a spike from idle meets a server that has had the time to)."""
    prewarm = sum(Config().prewarm.values())  # per invoker: the spike's server has one
    deadline = time.monotonic() + timeout_s
    while True:
        status = squall.call("GET", "/api/v1/system/status", admin=True)
        up = sum(c["state"] == "prewarm" for inv in status["invokers"] for c in inv["containers"])
        if up >= prewarm or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def spike(port: int, requests: int, concurrency: int) -> dict[str, float] | None:
    hey = shutil.which("hey") or str(Path.home() / "go" / "bin" / "hey")
    if not Path(hey).exists():
        return None
    squall = Squall(port, "--runtime", "docker", "--invokers", "1")
    try:
        squall.deploy("spike", WORK_50MS)
        status = idle(squall)
        user_mb = sum(inv["userMemory"] for inv in status["invokers"])
        out = subprocess.run([hey, "-n", str(requests), "-c", str(concurrency), "-m", "POST", "-T", "application/json",
                              "-d", "{}", "-H", f"Authorization: {squall.headers['Authorization']}", squall.url("spike")],
                             capture_output=True, text=True, check=True).stdout
        total = float(re.search(r"Total:\s+([\d.]+) secs", out).group(1))
        p99 = float(re.search(r"99%+ in ([\d.]+) secs", out).group(1))
        codes = dict(re.findall(r"\[(\d+)\]\s+(\d+) responses", out))
        if int(codes.get("200", 0)) < requests:
            print(out[out.find("Status code"):][:600], file=sys.stderr)
        containers = user_mb // 128
        return {"rate": requests / total, "bound": containers / 0.05, "containers": containers, "p99": p99,
                "ok": int(codes.get("200", 0))}
    finally:
        squall.stop()
        squall.remove()


def store_records(squall: Squall, count: int) -> None:
    """`count` activation records of the action `noop`, as the controller writes them (while it is stopped)."""
    db = sqlite3.connect(squall.home / "squall.db")
    now = int(time.time() * 1000) - count
    rows = []
    for i in range(count):
        activation_id = uuid.uuid4().hex
        record = activation_record(namespace="guest", name="noop", subject="guest", activation_id=activation_id,
                                   version="0.0.1", start=now + i, end=now + i + 1, status=SUCCESS, result={"i": i},
                                   logs=[f"2026-12-02T00:00:00.000000Z stdout: line {i}"], kind="python:3",
                                   limits={"timeout": 60000, "memory": 128, "logs": 10, "concurrency": 1})
        rows.append((activation_id, "guest", "noop", now + i, SUCCESS, json.dumps(record, separators=(",", ":"))))
    db.executemany("INSERT INTO activations (id, namespace, name, start, status, doc) VALUES (?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()


def list_ms(squall: Squall, n: int, query: str) -> list[float]:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        squall.conn.request("GET", f"/api/v1/namespaces/_/activations?{query}", headers=squall.headers)
        response = squall.conn.getresponse()
        response.read()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per throughput figure")
    parser.add_argument("-n", type=int, default=2000, help="sequential calls per latency sample")
    parser.add_argument("--records", type=int, default=100_000, help="activation records stored for the list")
    args = parser.parse_args()
    base = 3930
    rows: list[tuple[str, str, str, str]] = []

    echo = contextlib.ExitStack()  # up while Squall's rounds run: its own are interleaved with theirs
    echo_url = echo.enter_context(echo_server(base))
    squall = Squall(base + 1, "--runtime", "process", "--invokers", "1", "--user-memory", str(128 * 300))
    try:
        squall.deploy("noop")
        names = [f"noop{i}" for i in range(100)]
        for name in names:
            squall.deploy(name)
        warm_up(squall, ["noop"])  # the containers 32 connections need
        warm_up(squall, names)  # and those of all 100
        time.sleep(1)
        warm_rss, warm_containers = squall.rss_mb(), containers(squall)
        floors, ones, manys = [], [], []
        for _ in range(2):  # interleaved, the floor too: a noisy moment of the machine hits them alike
            floors.append(wrk(echo_url, "x:y", 32, args.seconds)["rps"])
            ones.append(round_robin(squall, ["noop"], args.seconds)["rps"])
            manys.append(round_robin(squall, names, args.seconds)["rps"])
        echo.close()
        floor, one, many = sum(floors) / len(floors), sum(ones) / len(ones), {"rps": sum(manys) / len(manys)}
        commits_before = squall.metric("squall_store_commits")
        grouped = round_robin(squall, ["noop"], args.seconds)
        commits_per_invoke = (squall.metric("squall_store_commits") - commits_before) / (grouped["rps"] * args.seconds)
        api_ms, direct_ms = warm_overhead(squall, args.n)
        longest_commit_ms = squall.metric("squall_store_commit_seconds_max") * 1000
    finally:
        echo.close()
        squall.stop()
        squall.remove()
    churn_squall = Squall(base + 2, "--runtime", "process", "--invokers", "1")
    try:
        for name in names:
            churn_squall.deploy(name)
        time.sleep(1)
        idle_rss = churn_squall.rss_mb()  # up, its actions deployed, nothing run yet
        churn = round_robin(churn_squall, names, args.seconds)
        churn_squall.stop()
        store_records(churn_squall, args.records)
        churn_squall.process = start_backend(churn_squall.home, base + 2, "--runtime", "process", "--invokers", "1")
        churn_squall.conn = http.client.HTTPConnection("127.0.0.1", base + 2, timeout=120)
        list_ms(churn_squall, 50, "limit=30")
        listed = list_ms(churn_squall, 500, "limit=30")
        listed_docs = list_ms(churn_squall, 500, "limit=30&docs=true")
        time.sleep(1)
        stored_rss = churn_squall.rss_mb()
    finally:
        churn_squall.stop()
        churn_squall.remove()
    spiked = spike(base + 3, 2000, 100)

    a50, a99 = percentiles(api_ms)
    d50, d99 = percentiles(direct_ms)
    rows += [
        ("throughput c=32: echo endpoint (floor)", f"{floor:.0f}/s", "", ""),
        ("throughput c=32: blocking invoke via the API", f"{one:.0f}/s", f"{one / floor:.0%} of the floor", ">= 25 %"),
        ("store: commits per invoke at c=32 (one write each)", f"{commits_per_invoke:.2f}", "", "reported"),
        ("store: longest commit on the event loop", f"{longest_commit_ms:.2f} ms", "", "reported"),
        ("warm: direct /run p50 (p99)", f"{d50:.3f} ms ({d99:.3f})", "", ""),
        ("warm: API invoke p50 (p99)", f"{a50:.3f} ms ({a99:.3f})", f"{a50 / d50:.2f}x direct", ""),
        ("warm: overhead p50 (API p50 - direct p50)", f"{a50 - d50:.3f} ms", f"{(a50 - d50) / d50:.2f}x direct",
         "<= 2x"),
        ("100 actions round robin, all warm, c=32", f"{many['rps']:.0f}/s", f"{many['rps'] / one:.0%} of one action",
         ">= 80 %"),
        ("100 actions, default user memory (churn)", f"{churn['rps']:.0f}/s", f"{churn['rps'] / one:.0%} of one action",
         "reported"),
        (f"list of 30 from {args.records:,} records p50 (p99)",
         f"{percentiles(listed)[0]:.2f} ms ({percentiles(listed)[1]:.2f})", "", "<= 5 ms"),
        ("  the same with docs=true p50 (p99)",
         f"{percentiles(listed_docs)[0]:.2f} ms ({percentiles(listed_docs)[1]:.2f})", "", ""),
        (f"RSS of squall up: idle / with {args.records:,} records", f"{idle_rss:.0f} / {stored_rss:.0f} MB",
         f"{stored_rss / idle_rss:.2f}x", "<= 1.5x"),
        (f"RSS of squall up with {warm_containers} warm containers", f"{warm_rss:.0f} MB",
         f"{warm_rss / idle_rss:.2f}x idle", "reported"),
    ]
    if spiked is None:
        rows.append(("spike (2,000 at c=100, 50 ms work)", "not run: needs hey", "", ""))
    else:
        rows.append((f"spike: 2,000 at c=100 on a fresh action, {spiked['containers']} containers",
                     f"{spiked['rate']:.0f}/s, p99 {spiked['p99']:.2f} s, {spiked['ok']} ok",
                     f"{spiked['rate'] / spiked['bound']:.0%} of {spiked['bound']:.0f}/s", ">= 85 %, p99 <= 1.5 s"))
    print(f"machine: {machine()}")
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'figure':<28}  {'ratio':<24}  target")
    for label, figure, ratio, target in rows:
        print(f"{label:<{width}}  {figure:<28}  {ratio:<24}  {target}")


if __name__ == "__main__":
    main()
