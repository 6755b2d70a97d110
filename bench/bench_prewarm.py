"""The learned prewarm policy (`--prewarm-policy hybrid`) against the idle timeout alone, on one
trace of arrivals replayed against each, side by side.

The trace: 12 no-op actions, 8 of them periodic (every 2-8 s, each period jittered by 3 %) and 4
arriving at random (Poisson, a mean gap of 3-8 s), for `--seconds` (90 by default); the idle timeout
(the fixed keep-alive, and the learned histogram's range) is 20 s, so the time scale is compressed
from the paper's minutes to seconds. No configured prewarmed containers (`--prewarm 0`), so what
comes back is the policy's alone. Two memory settings: room for every action (what the policy
saves is memory), and room for half of them (what it saves is cold starts, if the containers it
frees go to the actions that come next). Each run a fresh `squall up` on the process runtime; the
pair of runs of each setting are back to back.

Per run: the arrivals, how many waited for a container start, how many took a container brought
back (an /init, no start), the idle memory (MB x s of warm and prewarmed containers, the status
API sampled every 0.25 s), all container starts (each costs CPU, ~160 ms of it on Docker here), and
the invoke latency.
Run: python bench/bench_prewarm.py [--seconds 90]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import machine, percentiles  # noqa: E402
from bench_performance import Squall  # noqa: E402

PERIODS_S = [2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0]
POISSON_MEANS_S = [3.0, 4.0, 6.0, 8.0]
IDLE_TIMEOUT_S = 20
MEMORY_MB = 128


def trace(seconds: float, seed: int = 12) -> list[tuple[float, str]]:
    """(time, action) of every arrival, in order."""
    rng = random.Random(seed)
    arrivals: list[tuple[float, str]] = []
    for i, period in enumerate(PERIODS_S):
        t = rng.uniform(0, period)
        while t < seconds:
            arrivals.append((t, f"periodic{i}"))
            t += period * rng.uniform(0.97, 1.03)
    for i, mean in enumerate(POISSON_MEANS_S):
        t = rng.expovariate(1 / mean)
        while t < seconds:
            arrivals.append((t, f"random{i}"))
            t += rng.expovariate(1 / mean)
    return sorted(arrivals)


def actions() -> list[str]:
    return [f"periodic{i}" for i in range(len(PERIODS_S))] + [f"random{i}" for i in range(len(POISSON_MEANS_S))]


async def replay(squall: Squall, arrivals: list[tuple[float, str]]) -> dict[str, Any]:
    base = f"http://127.0.0.1:{squall.port}"
    latencies: list[float] = []
    inits = 0
    idle_mb_s = 0.0

    async with httpx.AsyncClient(base_url=base, headers=squall.headers, timeout=60,
                                 limits=httpx.Limits(max_connections=64)) as client:
        async def status() -> dict[str, Any]:
            return (await client.get("/api/v1/system/status", headers=squall.admin)).json()

        async def sample(stop: asyncio.Event) -> None:
            nonlocal idle_mb_s
            while not stop.is_set():
                invokers = (await status())["invokers"]
                idle_mb_s += 0.25 * sum(c["memory"] for inv in invokers for c in inv["containers"]
                                        if c["state"] in ("warm", "prewarm"))
                try:
                    await asyncio.wait_for(stop.wait(), 0.25)
                except TimeoutError:
                    pass

        async def invoke(at: float, name: str) -> None:
            nonlocal inits
            await asyncio.sleep(max(0.0, at - (time.monotonic() - t0)))
            start = time.perf_counter()
            record = (await client.post(f"/api/v1/namespaces/_/actions/{name}?blocking=true", json={})).json()
            latencies.append((time.perf_counter() - start) * 1000)
            inits += any(a["key"] == "initTime" for a in record["annotations"])

        before = (await status())["invokers"][0]
        stop = asyncio.Event()
        t0 = time.monotonic()
        sampler = asyncio.create_task(sample(stop))
        await asyncio.gather(*(invoke(at, name) for at, name in arrivals))
        stop.set()
        await sampler
        await asyncio.sleep(0.2)  # the status API hears of the pool within 50 ms
        after = (await status())["invokers"][0]
    cold = after["coldStarts"] - before["coldStarts"]
    p50, p99 = percentiles(latencies)
    return {"arrivals": len(arrivals), "cold": cold, "brought_back": inits - cold,
            "starts": cold + after["prewarmStarts"] - before["prewarmStarts"], "idle_mb_s": idle_mb_s,
            "p50": p50, "p99": p99, "mean": statistics.mean(latencies)}


def run(policy: str, user_memory_mb: int, arrivals: list[tuple[float, str]], port: int) -> dict[str, Any]:
    squall = Squall(port, "--runtime", "process", "--invokers", "1", "--prewarm", "0",
                    "--idle-timeout", str(IDLE_TIMEOUT_S), "--user-memory", str(user_memory_mb),
                    "--prewarm-policy", policy)
    try:
        for name in actions():
            squall.deploy(name)
        return asyncio.run(replay(squall, arrivals))
    finally:
        squall.stop()
        squall.remove()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=90.0, help="length of the trace")
    args = parser.parse_args()
    arrivals = trace(args.seconds)
    print(f"machine: {machine()}")
    print(f"trace: {len(arrivals)} arrivals of {len(actions())} actions over {args.seconds:.0f} s; "
          f"idle timeout {IDLE_TIMEOUT_S} s; process runtime; no configured prewarm")
    header = (f"{'memory':<22} {'policy':<7} {'arrivals':>8} {'cold':>5} {'brought':>8} {'starts':>7} "
              f"{'idle MB*s':>10} {'p50 ms':>7} {'p99 ms':>7} {'mean ms':>8}")
    print(header)
    port = 3990
    for label, memory in [("room for all 12", 2048), ("room for 6 of 12", 6 * MEMORY_MB)]:
        for policy in ["off", "hybrid"]:
            r = run(policy, memory, arrivals, port)
            port += 1
            print(f"{label:<22} {policy:<7} {r['arrivals']:>8} {r['cold']:>5} {r['brought_back']:>8} "
                  f"{r['starts']:>7} {r['idle_mb_s']:>10.0f} {r['p50']:>7.2f} {r['p99']:>7.2f} {r['mean']:>8.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
