"""The console under load: time per refresh, and key-to-screen latency while the backend is busy.

1. A backend with 100 warm containers and 10,000 activations in its history; the console (headless,
   150x45) polls it. Prints the render time per refresh (diffing every view) and the whole poll
   (three API reads, parse, render), p50/p99/max.
2. The same backend taking 200 invocations/s from a paced load generator (another process) while the
   console polls every 0.5 s; keys switch views 400 times. Prints key-to-screen latency (from the
   key until the new view is on the screen) p50/p99/max and how many keys were lost.
Run: python bench/bench_console.py
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import json
import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import ROOT, machine, percentiles, props, start_backend  # noqa: E402

sys.path.insert(0, str(ROOT))
from console.app import VIEWS, SquallConsole  # noqa: E402
from console.client import AsyncApiClient  # noqa: E402
from textual.widgets import ContentSwitcher  # noqa: E402

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


async def measure_refresh(port: int, admin: str, polls: int) -> tuple[list[float], list[float]]:
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
                await app.poll().wait()  # one whole poll: three reads, parse, render
                whole.append((time.perf_counter() - t0) * 1000)
    await client.aclose()
    return list(app.refresh_ms), whole


async def measure_keys(port: int, admin: str, presses: int) -> tuple[list[float], int]:
    """Keys posted as a terminal would deliver them (Pilot.press also waits for animations to end,
    which a person does not): from the key until the new view is current and the screen has
    processed every update that followed."""
    client = AsyncApiClient(f"http://127.0.0.1:{port}", admin, "guest")
    app = SquallConsole(client, apihost=client.apihost, refresh_s=0.5)
    latencies: list[float] = []
    lost = 0
    async with app.run_test(size=(150, 45)) as pilot:
        await pilot.pause(1.0)
        switcher = app.query_one(ContentSwitcher)
        for i in range(presses):
            wanted = VIEWS[i % len(VIEWS)]
            t0 = time.perf_counter()
            app.simulate_key(str(i % len(VIEWS) + 1))
            while switcher.current != wanted and time.perf_counter() - t0 < 2.0:
                await asyncio.sleep(0.0005)
            await pilot._wait_for_screen()  # noqa: SLF001 - the screen has drawn what followed the key
            latencies.append((time.perf_counter() - t0) * 1000)
            if switcher.current != wanted:
                lost += 1
            await asyncio.sleep(0.2)  # an operator switching views five times a second
    await client.aclose()
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
        render, whole = asyncio.run(measure_refresh(port, admin, args.polls))
        r50, r99 = percentiles(render)
        w50, w99 = percentiles(whole)
        print(f"refresh with {args.containers} containers, {args.history} activations in history "
              f"(200 listed), n={len(whole)} polls:")
        print(f"  render (the view on screen)    p50 {r50:6.1f} ms   p99 {r99:6.1f} ms   max {max(render):6.1f} ms")
        print(f"  whole poll (read+parse+render) p50 {w50:6.1f} ms   p99 {w99:6.1f} ms   max {max(whole):6.1f} ms")

        def completed() -> int:
            status, data = request(port, user, "GET", "/api/v1/namespaces/_/activations?count=true")
            return json.loads(data)["activations"]

        # The load: hey (compiled, rate-limited: 50 workers at rate/50 each) where installed, so the
        # load generator takes little of the two cores from the console; else a Python generator.
        stop = multiprocessing.Event()
        if shutil.which("hey"):
            auth_header = "Authorization: Basic " + base64.b64encode(user.encode()).decode()
            load: Any = subprocess.Popen(
                ["hey", "-z", "150s", "-c", "50", "-q", f"{args.rate / 50:g}", "-m", "POST", "-T",
                 "application/json", "-d", "{}", "-H", auth_header,
                 f"http://127.0.0.1:{port}/api/v1/namespaces/_/actions/a000"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            generator = "hey"
        else:
            counter = multiprocessing.Value("i", 0)
            load = multiprocessing.Process(target=paced_load, args=(port, user, args.rate, 150.0, stop, counter))
            load.start()
            generator = "a Python generator"
        time.sleep(3.0)  # the load is at its pace before the first key
        started, before = time.monotonic(), completed()
        latencies, lost = asyncio.run(measure_keys(port, admin, args.presses))
        spent, accepted = time.monotonic() - started, completed() - before
        stop.set()
        load.terminate()
        load.join(150) if isinstance(load, multiprocessing.Process) else load.wait(150)
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
