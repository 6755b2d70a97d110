"""The container pool as an operator sees it through the status API: prewarm, queueing, idle removal."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from conftest import Server, deploy, require_docker, running
from test_activation_failures import wait_for


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
