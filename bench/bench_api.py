"""Warm invocations of a no-op action through the REST API versus direct /run calls to a runtime.

Prints p50/p99 of both (the same sequential client code for each), the API's overhead, and the
API's throughput at concurrency 1, 8 and 32 measured with wrk. Run: python bench/bench_api.py
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.process_runtime import ProcessRuntime  # noqa: E402

NOOP = "def main(args):\n    return {}\n"


class OneWriteHTTPConnection(http.client.HTTPConnection):
    """http.client, but a request's head and body go out in one write, as curl, Go's net/http
    (the wsk CLI) and Node's http (the npm client) send a small request. http.client writes them
    apart, which over TCP costs the server a second wakeup and read per request (measured: 1.28
    against 0.78 ms p50 for wrk's one write, same server): a cost of this client, not of Squall."""

    def _send_output(self, message_body: Any = None, encode_chunked: bool = False) -> None:
        if isinstance(message_body, bytes) and not encode_chunked:
            self._buffer.extend((b"", b""))
            message = b"\r\n".join(self._buffer) + message_body
            del self._buffer[:]
            self.send(message)
            return
        super()._send_output(message_body, encode_chunked)


class UnixHTTPConnection(OneWriteHTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost")
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def machine() -> str:
    return f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def timed_posts(conn: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str],
                n: int, expect: int = 200) -> list[float]:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        data = response.read()
        samples.append((time.perf_counter() - t0) * 1000)
        if response.status != expect:
            raise SystemExit(f"unexpected {response.status}: {data[:200]!r}")
    return samples


def start_backend(home: Path, port: int, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SQUALL_HOME": str(home), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "backend.server", "up", "--port", str(port),
                                "--home", str(home), "--log-level", "warning", *args],
                               env=env, stdout=subprocess.DEVNULL, stderr=open(home / "server.log", "wb"))
    for _ in range(300):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/api/v1")
            c.getresponse().read()
            return process
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the backend did not start")


def props(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def wrk(url: str, auth: str, connections: int, seconds: int) -> dict[str, float]:
    script = Path(tempfile.mkdtemp()) / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.body = "{}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Basic {base64.b64encode(auth.encode()).decode()}"\n')
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def ms(label: str) -> float:
        m = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {"rps": rps, "p50": ms("50%"), "p99": ms("99%"), "errors": int(errors.group(1)) if errors else 0}


class DirectContainer:
    """An action process of the process runtime, hosted by a process of its own that keeps
    reading its log pipes, as the invoker does. Hosted in the benchmark's own process, that
    reading took the client's GIL: the direct /run measured 0.26 ms at p50 from the benchmark's
    thread against 0.14-0.17 ms from a clean client, which flattered every ratio to it."""

    def __init__(self, work: Path) -> None:
        self.host = subprocess.Popen([sys.executable, __file__, "--host-direct", str(work)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert self.host.stdout is not None
        self.socket = self.host.stdout.readline().decode().strip()
        if not self.socket:
            raise SystemExit("the direct action process did not start")

    def close(self) -> None:
        assert self.host.stdin is not None
        self.host.stdin.close()  # the host destroys its container and exits
        self.host.wait(30)


async def _host_direct(work: Path) -> None:
    runtime = ProcessRuntime(work, "http://127.0.0.1:1")
    container = await runtime.create("python:3", 128)
    await container.init({"name": "noop", "main": "main", "code": NOOP, "binary": False, "env": {}}, 5)
    container.connection.close()  # the benchmark's own client connects instead
    print(container.directory / "action.sock", flush=True)
    await asyncio.to_thread(sys.stdin.read)  # until the benchmark closes it
    await container.destroy()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=2000, help="sequential calls per latency sample")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per concurrency level")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for throughput: apt-get install wrk")
    home = Path(tempfile.mkdtemp(prefix="squall-bench-"))
    port = 3400 + os.getpid() % 500
    backend = start_backend(home, port, "--runtime", "process")
    try:
        user, admin = props(home / "wskprops"), props(home / "admin.wskprops")
        auth_header = {"Authorization": "Basic " + base64.b64encode(user["AUTH"].encode()).decode(),
                       "Content-Type": "application/json"}
        admin_header = {**auth_header,
                        "Authorization": "Basic " + base64.b64encode(admin["AUTH"].encode()).decode()}
        api = OneWriteHTTPConnection("127.0.0.1", port)
        api.request("PUT", "/api/v1/system/namespaces/guest/limits",
                    json.dumps({"invocationsPerMinute": 10_000_000, "concurrentInvocations": 1000}), admin_header)
        assert api.getresponse().read()
        api.request("PUT", "/api/v1/namespaces/_/actions/noop?overwrite=true",
                    json.dumps({"exec": {"kind": "python:3", "code": NOOP}, "limits": {"memory": 128}}), auth_header)
        api.getresponse().read()
        path = "/api/v1/namespaces/_/actions/noop?blocking=true&result=true"

        container = DirectContainer(home / "direct")
        direct = UnixHTTPConnection(container.socket)
        run_body = json.dumps({"value": {}, "namespace": "guest", "action_name": "/guest/noop",
                               "action_version": "0.0.1", "activation_id": "0" * 32, "deadline": "0"}).encode()
        json_header = {"Content-Type": "application/json"}

        timed_posts(api, path, b"{}", auth_header, 200)  # warm up both paths
        timed_posts(direct, "/run", run_body, json_header, 200)
        # Interleave rounds so that a noisy moment hits both paths alike.
        api_samples: list[float] = []
        direct_samples: list[float] = []
        rounds = 5
        for _ in range(rounds):
            direct_samples += timed_posts(direct, "/run", run_body, json_header, args.n // rounds)
            api_samples += timed_posts(api, path, b"{}", auth_header, args.n // rounds)
        d50, d99 = percentiles(direct_samples)
        a50, a99 = percentiles(api_samples)

        print(f"machine: {machine()}, runtime process, bus memory")
        print(f"sequential warm invocations, n={len(api_samples)} each")
        print(f"  direct /run (unix socket)   p50 {d50:6.3f} ms   p99 {d99:6.3f} ms")
        print(f"  REST API blocking invoke    p50 {a50:6.3f} ms   p99 {a99:6.3f} ms")
        print(f"  API overhead at p50         {a50 - d50:6.3f} ms   (mean {statistics.mean(api_samples) - statistics.mean(direct_samples):.3f} ms)")
        # Start the warm containers that 32 connections need, so cold starts stay out of the figures.
        wrk(f"http://127.0.0.1:{port}{path}", user["AUTH"], 32, 2)
        print(f"throughput through the REST API (wrk, {args.seconds} s per level):")
        for c in (1, 8, 32):
            r = wrk(f"http://127.0.0.1:{port}{path}", user["AUTH"], c, args.seconds)
            print(f"  c={c:<3} {r['rps']:8.0f} invocations/s   p50 {r['p50']:7.2f} ms   p99 {r['p99']:7.2f} ms"
                  f"   non-2xx {r['errors']}")
        container.close()
    finally:
        backend.terminate()
        backend.wait(60)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--host-direct"]:
        asyncio.run(_host_direct(Path(sys.argv[2])))
    else:
        main()
