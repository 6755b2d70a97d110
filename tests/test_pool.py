"""The container pool as an operator sees it through the status API: prewarm, queueing, idle removal."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

from conftest import Server, deploy, require_docker, running
from test_activation_failures import wait_for

if TYPE_CHECKING:
    from backend.containers import ContainerPool


@pytest.fixture(scope="module", params=["process", "docker"])
def small(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An invoker with room for two 256 MB containers, one prewarmed, idle after 2 s."""
    if request.param == "docker":
        require_docker()
    with running(tmp_path_factory.mktemp("small"), "--runtime", request.param, "--user-memory", "512",
                 "--prewarm", "1", "--idle-timeout", "2") as srv:
        yield srv


def test_first_invocation_takes_the_prewarmed_container_and_the_pool_refills(small: Server) -> None:
    prewarmed = wait_for(lambda: [c for c in small.containers() if c["state"] == "prewarm"])
    assert len(prewarmed) == 1
    ns, auth = small.new_namespace()
    with small.client(auth) as c:
        deploy(c, "fresh")
        record = c.post("/api/v1/namespaces/_/actions/fresh?blocking=true").json()
    assert record["response"]["status"] == "success"
    assert any(a["key"] == "initTime" for a in record["annotations"])
    mine = wait_for(lambda: [c for c in small.containers() if c["action"] == f"{ns}/fresh@0.0.1"])
    assert [c["id"] for c in mine] == [prewarmed[0]["id"]], "the prewarmed container should run it"
    refilled = wait_for(lambda: [c for c in small.containers() if c["state"] == "prewarm"])
    assert refilled and refilled[0]["id"] != prewarmed[0]["id"]


def test_idle_containers_are_removed_after_the_idle_timeout(small: Server) -> None:
    ns, auth = small.new_namespace()
    with small.client(auth) as c:
        deploy(c, "brief")
        assert c.post("/api/v1/namespaces/_/actions/brief?blocking=true").status_code == 200
    assert wait_for(lambda: [c for c in small.containers() if c["action"] == f"{ns}/brief@0.0.1"])
    assert wait_for(lambda: not [c for c in small.containers() if c["action"] == f"{ns}/brief@0.0.1"],
                    timeout=8)


def test_a_full_pool_queues_activations_in_order_and_runs_them_all(small: Server) -> None:
    _, auth = small.new_namespace()
    code = "import time\ndef main(args):\n    time.sleep(0.5)\n    return {'i': args['i']}\n"
    with small.client(auth) as c:
        deploy(c, "slot", code)
        ids = [c.post("/api/v1/namespaces/_/actions/slot", json={"i": i}).json()["activationId"]
               for i in range(5)]

        def records() -> list[dict] | None:
            got = [c.get(f"/api/v1/namespaces/_/activations/{a}") for a in ids]
            return [r.json() for r in got] if all(r.status_code == 200 for r in got) else None

        done = wait_for(records, timeout=15)
    assert done is not None, "every queued activation should complete"
    assert [r["response"]["result"] for r in done] == [{"i": i} for i in range(5)]
    waits = [a["value"] for r in done for a in r["annotations"] if a["key"] == "waitTime"]
    assert max(waits) >= 400, "the queued ones waited for a container, and waitTime says so"
    starts = [r["start"] for r in done]
    assert starts[4] >= min(starts[:2]) + 400, "two containers at most: the fifth had to wait"
    # The prewarmed container was evicted for the second one; it is back once they idle out.
    assert wait_for(lambda: [c for c in small.containers() if c["state"] == "prewarm"], timeout=10)


HOG = ("def main(args):\n    blocks = [b'x' * (16 << 20) for _ in range(10)]\n"
       "    return {'mb': 16 * len(blocks)}\n")


def test_an_action_of_less_memory_runs_in_the_prewarmed_container_within_its_own_limit(small: Server) -> None:
    """The 256 MB prewarmed container serves a 128 MB action: no cold start, and 160 MB that
    fit in 256 are more than the action may have."""
    prewarmed = wait_for(lambda: [c for c in small.containers() if c["state"] == "prewarm"])
    assert prewarmed and prewarmed[0]["memory"] == 256
    cold_starts = small.status()["invokers"][0]["coldStarts"]
    _, auth = small.new_namespace()
    with small.client(auth) as c:
        deploy(c, "hog128", HOG, limits={"memory": 128})
        deploy(c, "hog256", HOG, limits={"memory": 256})
        small_one = c.post("/api/v1/namespaces/_/actions/hog128?blocking=true").json()
        assert small_one["response"]["result"] == {"error": "The action exhausted its memory and was aborted."}
        assert small.status()["invokers"][0]["coldStarts"] == cold_starts, "the prewarmed container ran it"
        # The status API hears of pool changes within CHANGE_PING_DELAY_S, not in the answer's step.
        assert wait_for(lambda: prewarmed[0]["id"] not in [c["id"] for c in small.containers()]), "and it was not kept"
        large_one = c.post("/api/v1/namespaces/_/actions/hog256?blocking=true").json()
        assert large_one["response"]["result"] == {"mb": 160}, "the same code fits in 256 MB"


def test_an_action_that_cannot_be_provisioned_is_a_whisk_internal_error(tmp_path: Path) -> None:
    with running(tmp_path / "home", "--runtime", "process", "--user-memory", "256", "--prewarm", "0") as srv:
        with srv.client() as c:
            deploy(c, "huge", limits={"memory": 512})
            r = c.post("/api/v1/namespaces/_/actions/huge?blocking=true")
        assert r.status_code == 500
        assert r.json()["response"] == {"status": "whisk internal error", "statusCode": 3, "success": False,
                                        "result": {"error": "Failed to provision resources to run the action."}}


class _SlowRuntime:
    """Starts take 0.2 s; counts how many run at once."""

    name = "fake"

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.made = 0

    async def create(self, kind: str, memory_mb: int, **_: object) -> object:
        import asyncio
        import types

        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0.2)
        self.running -= 1
        self.made += 1

        async def destroy() -> None:
            return None

        return types.SimpleNamespace(id=f"c{self.made}", destroy=destroy)


async def test_a_spike_starts_containers_a_few_at_a_time_and_waiters_take_the_first_free_one() -> None:
    import asyncio

    from backend.containers import ContainerPool

    runtime = _SlowRuntime()
    pool = ContainerPool(runtime, user_memory_mb=128 * 8, max_starts=2)  # type: ignore[arg-type]
    first = await pool.acquire("ns/a@0.0.1", "python:3", 128)  # one up before the spike
    waiting = [asyncio.create_task(pool.acquire("ns/a@0.0.1", "python:3", 128)) for _ in range(6)]
    await asyncio.sleep(0.05)
    pool.release(first[0], "ns/a@0.0.1")  # frees before either of the spike's two starts is done
    # The first two started containers of their own; of those queued, the first takes the freed one.
    taken = await asyncio.wait_for(waiting[2], 0.1)
    assert taken[0] is first[0] and taken[1] is False
    await asyncio.gather(*waiting)
    assert runtime.most == 2  # never more than max_starts at once
    assert runtime.made == 1 + 5
    await pool.stop()


async def test_a_warm_container_serves_only_its_own_action_and_never_once_removed() -> None:
    """Among many warm containers, an activation gets one of its own action's (the one used last),
    and one discarded or evicted is never handed out again."""
    from backend.containers import BUSY, ContainerPool

    pool = ContainerPool(_SlowRuntime(), user_memory_mb=128 * 6, max_starts=6)  # type: ignore[arg-type]
    started = [await pool.acquire(f"ns/{name}@0.0.1", "python:3", 128) for name in "aabbc"]
    for (c, _), name in zip(started, "aabbc"):
        pool.release(c, f"ns/{name}@0.0.1")
    b_last = started[3][0]
    got, cold = await pool.acquire("ns/b@0.0.1", "python:3", 128)
    assert (got, cold) == (b_last, False) and got.state == BUSY
    await pool.discard(got)
    got, cold = await pool.acquire("ns/b@0.0.1", "python:3", 128)
    assert got is started[2][0] and not cold
    got, cold = await pool.acquire("ns/b@0.0.1", "python:3", 128)  # none warm left for b: a start
    assert cold and got not in [c for c, _ in started]
    # The pool is full now (a, a, c idle; b, b busy; one slot): a new action evicts the least recent.
    pool.release(got, "ns/b@0.0.1")
    await pool.acquire("ns/d@0.0.1", "python:3", 128)
    await pool.acquire("ns/e@0.0.1", "python:3", 128)  # room only by evicting an idle one: the oldest a
    assert started[0][0].id not in pool.containers
    got, cold = await pool.acquire("ns/a@0.0.1", "python:3", 128)
    assert got is started[1][0] and not cold
    await pool.stop()


class _ResizingRuntime:
    """Starts at once; containers of `fixed` kinds cannot change their memory, a resize to
    `refused_mb` fails as an engine's error would."""

    name = "fake"

    def __init__(self, fixed: frozenset[str] = frozenset(), refused_mb: int | None = None) -> None:
        self.fixed = fixed
        self.refused_mb = refused_mb
        self.made: list[object] = []
        self.destroyed: list[str] = []

    async def create(self, kind: str, memory_mb: int, **_: object) -> object:
        import types

        runtime = self
        name = f"c{len(self.made)}"

        async def resize(new_mb: int) -> None:
            if new_mb == runtime.refused_mb:
                raise RuntimeError("the engine refused the update")
            container.memory_mb = new_mb

        async def destroy() -> None:
            runtime.destroyed.append(name)

        container = types.SimpleNamespace(id=name, kind=kind, memory_mb=memory_mb, resizable=kind not in self.fixed,
                                          resize=resize, destroy=destroy)
        self.made.append(container)
        return container


async def _prewarmed_pool(runtime: _ResizingRuntime, prewarm: dict[tuple[str, int], int]) -> ContainerPool:
    import asyncio

    from backend.containers import PREWARM, ContainerPool

    pool = ContainerPool(runtime, user_memory_mb=1024, prewarm=prewarm)  # type: ignore[arg-type]
    await pool.start()
    for _ in range(100):
        if sum(c.state == PREWARM for c in pool.containers.values()) == sum(prewarm.values()):
            return pool
        await asyncio.sleep(0.01)
    raise AssertionError("the prewarmed containers did not start")


async def test_a_prewarmed_container_of_more_memory_serves_an_action_of_less_with_its_limit_lowered() -> None:
    runtime = _ResizingRuntime()
    pool = await _prewarmed_pool(runtime, {("python:3", 512): 1, ("python:3", 256): 1})
    prewarmed = {c.memory_mb: c for c in pool.containers.values()}
    got, cold = await pool.acquire("ns/a@0.0.1", "python:3", 256)
    assert got is prewarmed[256] and cold, "one of just its memory first"
    got, cold = await pool.acquire("ns/b@0.0.1", "python:3", 128)
    assert got is prewarmed[512] and cold, "then the smallest one of more"
    assert got.memory_mb == 128 and got.container.memory_mb == 128, "its limit lowered before the action runs"
    assert pool.cold_starts == 0, "no cold start for either"
    # What it gave back is free: the two actions' 256 + 128 MB and the 256 MB prewarm's refill.
    assert pool.used_mb == 256 + 128 + 256
    await pool.stop()


async def test_a_prewarmed_container_whose_memory_is_fixed_or_cannot_change_is_not_handed_out() -> None:
    import asyncio

    runtime = _ResizingRuntime(fixed=frozenset({"java:17"}), refused_mb=128)
    pool = await _prewarmed_pool(runtime, {("java:17", 256): 1, ("python:3", 256): 1})
    java = next(c for c in pool.containers.values() if c.kind == "java:17")
    python = next(c for c in pool.containers.values() if c.kind == "python:3")
    got, cold = await pool.acquire("ns/j@0.0.1", "java:17", 128)
    assert cold and got is not java and got.memory_mb == 128, "a JVM's heap is set at its start: a start of its own"
    got, cold = await pool.acquire("ns/p@0.0.1", "python:3", 128)
    assert cold and got is not python and got.memory_mb == 128, "the engine refused: a start of its own"
    await asyncio.sleep(0.01)  # its removal runs in the background
    assert python.id not in pool.containers, "and the refused one is gone"
    assert python.id in runtime.destroyed
    await pool.stop()
