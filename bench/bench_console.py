"""The console under load: time per refresh, and key-to-screen latency while the backend is busy.

1. A backend with 100 warm containers and 10,000 activations in its history; the console (headless,
   150x45) polls it, showing the Activations and then the Containers view. Prints the render time per
   refresh (the view on screen) and the whole poll (four API reads, parse, render), p50/p99/max:
   with the backend quiet, and again while it takes 200 invocations/s (new rows on every poll).
2. The same backend taking 200 invocations/s from a paced load generator (another process) while
   `squall console` runs in a pseudo-terminal, polling every 0.5 s; keys written to the terminal
   switch views 400 times. Prints key-to-screen latency (from the key until the new view's first
   paint is read from the terminal) p50/p99/max and how many keys were lost.
Run: python bench/bench_console.py
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import fcntl
import http.client
import json
import multiprocessing
import os
import pty
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import ROOT, machine, percentiles, props, start_backend  # noqa: E402

sys.path.insert(0, str(ROOT))
from console.app import VIEWS, SquallConsole  # noqa: E402
from console.client import AsyncApiClient  # noqa: E402

NOOP = "def main(args):\n    return {'ok': True}\n"


def request(port: int, auth: str, method: str, path: str, body: object = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode(),
               "Content-Type": "application/json"}
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def prepare(port: int, user: str, admin: str, containers: int, history: int) -> None:
    request(port, admin, "PUT", "/api/v1/system/namespaces/guest/limits",
            {"invocationsPerMinute": 10_000_000, "concurrentInvocations": 1000})
    for i in range(containers):
        request(port, user, "PUT", f"/api/v1/namespaces/_/actions/a{i:03}?overwrite=true",
                {"exec": {"kind": "python:3", "code": NOOP}, "limits": {"memory": 128}})
    with ThreadPoolExecutor(8) as pool:  # one warm container per action
        list(pool.map(lambda i: request(port, user, "POST", f"/api/v1/namespaces/_/actions/a{i:03}?blocking=true"),
                      range(containers)))
        remaining = history - containers
        list(pool.map(lambda i: request(port, user, "POST", f"/api/v1/namespaces/_/actions/a{i % containers:03}"
                                        "?blocking=true"), range(remaining)))


def paced_load(port: int, auth: str, rate: float, max_seconds: float, stop: Any, counter: Any) -> None:
    """`rate` invocations per second from a process of its own, until `stop` (at most `max_seconds`)."""
    interval = 1.0 / rate
    start = time.monotonic()

    def one(i: int) -> None:
        due = start + i * interval
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if stop.is_set():
            return
        status, _ = request(port, auth, "POST", f"/api/v1/namespaces/_/actions/a{i % 100:03}")
        if status == 202:
            with counter.get_lock():
                counter.value += 1

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(int(rate * max_seconds))))


async def measure_refresh(port: int, admin: str, polls: int, interval: float = 0.0) -> tuple[list[float], list[float]]:
    """`polls` whole polls, `interval` seconds apart (under load, time for new activations to come)."""
    client = AsyncApiClient(f"http://127.0.0.1:{port}", admin, "guest")
    # a long interval: only the polls timed here run (poll is exclusive; a timer would cancel them)
    app = SquallConsole(client, apihost=client.apihost, refresh_s=60)
    whole: list[float] = []
    async with app.run_test(size=(150, 45)) as pilot:
        await pilot.pause(0.5)
        for view in ("3", "4"):  # make the two biggest tables the visible ones in turn
            await pilot.press(view)
            for _ in range(polls // 2):
                t0 = time.perf_counter()
                await app.poll().wait()  # one whole poll: four reads, parse, render
                whole.append((time.perf_counter() - t0) * 1000)
                await asyncio.sleep(interval)
    await client.aclose()
    return list(app.refresh_ms), whole


#: Text that only the view's own first paint writes: a column header or a title.
MARKERS = {"overview": b"Queue depth", "actions": b"version", "activations": b"duration",
           "containers": b"runs", "invokers": b"runtime", "triggers": b"feed", "rules": b"status"}


class Terminal:
    """`squall console` in a pseudo-terminal of 150x45, its output read as a terminal would."""

    def __init__(self, port: int, admin: str, home: Path) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 45, 150, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor", "SQUALL_HOME": str(home)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "console.cli", "console", "--apihost", f"http://127.0.0.1:{port}",
             "--auth", admin, "--refresh", "0.5"],
            stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env, start_new_session=True)
        os.close(slave)
        self.chunks: list[tuple[float, bytes]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.chunks.append((time.perf_counter(), data))

    def press(self, key: bytes, marker: bytes, timeout: float = 2.0) -> float | None:
        """Milliseconds from writing `key` until the terminal got `marker`; None if it never came."""
        start = len(self.chunks)
        t0 = time.perf_counter()
        os.write(self.master, key)
        seen = b""
        while time.perf_counter() - t0 < timeout:
            for at, data in self.chunks[start:]:
                seen += data
                start += 1
                if marker in seen:
                    return (at - t0) * 1000
            time.sleep(0.0005)
        return None

    def close(self) -> None:
        os.write(self.master, b"q")
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self.master)


def measure_keys(port: int, admin: str, home: Path, presses: int) -> tuple[list[float], int]:
    """Real keys into the real console in a terminal: from the key until the new view's first paint
    reached the terminal. An operator's pace: five keys a second."""
    terminal = Terminal(port, admin, home)
    latencies: list[float] = []
    lost = 0
    try:
        time.sleep(4.0)  # started, connected, first data on screen
        for i in range(presses):
            view = VIEWS[(i + 1) % len(VIEWS)]  # the console opens on the first
            took = terminal.press(str((i + 1) % len(VIEWS) + 1).encode(), MARKERS[view])
            if took is None:
                lost += 1
            else:
                latencies.append(took)
            time.sleep(0.2)
    finally:
        terminal.close()
    return latencies, lost


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--containers", type=int, default=100)
    parser.add_argument("--history", type=int, default=10_000)
    parser.add_argument("--polls", type=int, default=40)
    parser.add_argument("--presses", type=int, default=400)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="squall-bench-console-"))
    port = 4600
    memory = str(128 * (args.containers + 4))
    backend = start_backend(home, port, "--runtime", "process", "--user-memory", memory, "--prewarm", "0",
                            "--idle-timeout", "3600")
    try:
        user, admin = props(home / "wskprops")["AUTH"], props(home / "admin.wskprops")["AUTH"]
        t0 = time.monotonic()
        prepare(port, user, admin, args.containers, args.history)
        print(f"machine: {machine()}; backend: process runtime, bus memory, its own process")
        print(f"prepared {args.containers} warm containers and {args.history} activations in "
              f"{time.monotonic() - t0:.0f} s")

        def report_refresh(when: str, render: list[float], whole: list[float]) -> None:
            r50, r99 = percentiles(render)
            w50, w99 = percentiles(whole)
            print(f"refresh with {args.containers} containers, {args.history} activations in history "
                  f"(200 listed), {when}, n={len(whole)} polls:")
            print(f"  render (the view on screen)    p50 {r50:6.1f} ms   p99 {r99:6.1f} ms   max {max(render):6.1f} ms")
            print(f"  whole poll (read+parse+render) p50 {w50:6.1f} ms   p99 {w99:6.1f} ms   max {max(whole):6.1f} ms")

        report_refresh("backend quiet", *asyncio.run(measure_refresh(port, admin, args.polls)))

        def completed() -> int:
            status, data = request(port, user, "GET", "/api/v1/namespaces/_/activations?count=true")
            return json.loads(data)["activations"]

        # The load: hey (compiled, rate-limited: 50 workers at rate/50 each) where installed, so the
        # load generator takes little of the two cores from the console; else a Python generator.
        stop = multiprocessing.Event()
        if shutil.which("hey"):
            auth_header = "Authorization: Basic " + base64.b64encode(user.encode()).decode()
            load: Any = subprocess.Popen(
                ["hey", "-z", "240s", "-c", "50", "-q", f"{args.rate / 50:g}", "-m", "POST", "-T",
                 "application/json", "-d", "{}", "-H", auth_header,
                 f"http://127.0.0.1:{port}/api/v1/namespaces/_/actions/a000"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            generator = "hey"
        else:
            counter = multiprocessing.Value("i", 0)
            load = multiprocessing.Process(target=paced_load, args=(port, user, args.rate, 240.0, stop, counter))
            load.start()
            generator = "a Python generator"
        # Past the load's first seconds: its 50 connections at once make the pool start new containers
        # for a000, a burst that starves the backend for ~3 s. What is measured is the steady state.
        time.sleep(12.0)
        report_refresh(f"backend taking {args.rate:.0f}/s, polls 0.5 s apart",
                       *asyncio.run(measure_refresh(port, admin, args.polls, interval=0.5)))
        started, before = time.monotonic(), completed()
        latencies, lost = measure_keys(port, admin, home, args.presses)
        spent, accepted = time.monotonic() - started, completed() - before
        stop.set()
        load.terminate()
        load.join(240) if isinstance(load, multiprocessing.Process) else load.wait(150)
        k50, k99 = percentiles(latencies)
        print(f"keys while the backend completes {accepted / spent:.0f} invocations/s (load: {generator} paced "
              f"at {args.rate:.0f}/s; {accepted} completed during {spent:.0f} s of keys), "
              f"{len(latencies)} view switches:")
        print(f"  key-to-screen                  p50 {k50:6.1f} ms   p99 {k99:6.1f} ms   max {max(latencies):6.1f} ms"
              f"   over 100 ms: {sum(1 for x in latencies if x > 100)}   lost: {lost}")
    finally:
        backend.terminate()
        backend.wait(120)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
