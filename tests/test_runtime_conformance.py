"""The action-runtime protocol, spoken to a real container of each runtime (process, docker) and
each kind (tests/kits.py writes every behaviour once per language)."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from backend.actionproxy import SENTINEL
from backend.process_runtime import ProcessRuntime
from backend.runtimes import Container, Runtime, run_dir
from conftest import require_docker
from kits import KITS, Kit

RUNTIMES = ["process", "docker"]


@pytest.fixture(params=KITS, ids=[k.kind for k in KITS])
def kit(request: pytest.FixtureRequest) -> Kit:
    return request.param


@pytest.fixture(params=RUNTIMES)
async def runtime(request: pytest.FixtureRequest, kit: Kit, tmp_path: Path) -> AsyncIterator[Runtime]:
    if request.param == "process":
        missing = kit.available()
        if missing:
            pytest.skip(f"the process runtime cannot run {kit.kind} here: {missing}")
        yield ProcessRuntime(run_dir(tmp_path), "http://127.0.0.1:1")
        return
    require_docker(kit.kind)
    from backend.docker_runtime import DockerRuntime

    runtime = DockerRuntime(run_dir(tmp_path), "http://127.0.0.1:1")
    yield runtime
    await runtime.remove_leftovers(0)


@pytest.fixture
async def container(runtime: Runtime, kit: Kit) -> AsyncIterator[Container]:
    c = await runtime.create(kit.kind, 256, labels={"squall.invoker": "0"})
    yield c
    await c.destroy()


def run_payload(value: dict, **extra: str) -> dict:
    return {"value": value, "namespace": "guest", "action_name": "/guest/t", "action_version": "0.0.1",
            "activation_id": "0" * 32, "deadline": "1", **extra}


async def test_init_without_code_is_refused(container: Container) -> None:
    out = await container.init({"name": "t", "main": "main", "code": "", "binary": False}, 5)
    assert out.status != 200
    assert out.json() == {"error": "Missing main/no code to execute."}


async def test_second_init_is_forbidden(container: Container, kit: Kit) -> None:
    assert (await container.init(kit.init("echo"), 10)).status == 200
    out = await container.init(kit.init("echo"), 10)
    assert out.status == 403
    assert out.json() == {"error": "Cannot initialize the action more than once."}


async def test_custom_main(container: Container, kit: Kit) -> None:
    assert (await container.init(kit.init("other_main"), 10)).status == 200
    out = await container.run(run_payload({}), 5)
    assert (out.status, out.json()) == (200, {"which": "other"})


async def test_non_dict_result_is_a_developer_error(container: Container, kit: Kit) -> None:
    await container.init(kit.init("non_dict"), 10)
    out = await container.run(run_payload({}), 5)
    assert out.status == 502
    assert out.json() == {"error": "The action did not return a dictionary or array."}


async def test_array_result_is_accepted(container: Container, kit: Kit) -> None:
    await container.init(kit.init("array"), 10)
    out = await container.run(run_payload({}), 5)
    assert (out.status, out.json()) == (200, [1, "two"])


async def test_unicode_echo(container: Container, kit: Kit) -> None:
    await container.init(kit.init("echo"), 10)
    value = {"text": "Grüße, 世界 🌬️", "ключ": "значение"}
    out = await container.run(run_payload(value), 5)
    assert out.json() == value


async def test_one_megabyte_input_is_echoed_back(container: Container, kit: Kit) -> None:
    await container.init(kit.init("echo"), 10)
    value = {"blob": "x" * (1024 * 1024)}
    out = await container.run(run_payload(value), 10)
    assert out.status == 200
    assert out.json() == value


async def test_ow_environment(container: Container, kit: Kit) -> None:
    await container.init(kit.init("env"), 10)
    out = await container.run(run_payload({}, api_key="u:k"), 5)
    env = out.json()
    assert env["__OW_NAMESPACE"] == "guest"
    assert env["__OW_ACTION_NAME"] == "/guest/t"
    assert env["__OW_ACTION_VERSION"] == "0.0.1"
    assert env["__OW_ACTIVATION_ID"] == "0" * 32
    assert env["__OW_DEADLINE"] == "1"
    assert env["__OW_API_KEY"] == "u:k"
    assert "__OW_API_HOST" in env


async def test_exactly_one_sentinel_per_stream_per_activation(container: Container, kit: Kit) -> None:
    await container.init(kit.init("logs"), 10)
    for i in range(3):
        await container.run(run_payload({"i": i}), 5)
        logs = await container.logs.collect(10 * 1024 * 1024)
        # the two streams interleave in any order, but each activation gets exactly its own lines
        assert sorted(line.split(" ", 1)[1] for line in logs) == [f"stderr: err {i}", f"stdout: out {i}"]
        assert not any(SENTINEL in line for line in logs)


async def test_logs_past_the_limit_are_truncated(container: Container, kit: Kit) -> None:
    await container.init(kit.init("many_lines"), 10)
    await container.run(run_payload({}), 5)
    logs = await container.logs.collect(1000)
    assert logs[-1] == "Logs were truncated because the total bytes size exceeds the limit of 1000 bytes."
    assert sum(len(line.encode()) for line in logs[:-1]) <= 1000


async def test_timeout_leaves_no_response(container: Container, kit: Kit) -> None:
    await container.init(kit.init("sleep"), 10)
    out = await container.run(run_payload({}), 0.3)
    assert out.timed_out


async def test_crash_is_seen_as_gone(container: Container, kit: Kit) -> None:
    await container.init(kit.init("crash"), 10)
    out = await container.run(run_payload({}), 5)
    assert out.gone
    assert not await container.out_of_memory()


async def test_out_of_memory_is_recognised(runtime: Runtime, kit: Kit) -> None:
    c = await runtime.create(kit.kind, 128, labels={"squall.invoker": "0"})
    try:
        await c.init(kit.init("oom"), 10)
        out = await c.run(run_payload({}), 20)
        assert out.gone
        assert await c.out_of_memory()
    finally:
        await c.destroy()


async def test_exception_is_an_application_error_with_its_message(container: Container, kit: Kit) -> None:
    await container.init(kit.init("exception"), 10)
    out = await container.run(run_payload({}), 5)
    assert (out.status, out.json()) == (200, kit.exception_result)
    logs = await container.logs.collect(1 << 20)
    assert any(kit.exception_log in line for line in logs), logs


async def test_a_huge_log_line_is_dropped_and_the_container_keeps_working(container: Container, kit: Kit) -> None:
    await container.init(kit.init("huge_line"), 10)
    for _ in range(2):  # 20,000 lines per run fill a pipe many times over: it must keep draining
        out = await container.run(run_payload({}), 20)
        assert out.json() == {"ok": True}
        logs = await container.logs.collect(10 * 1024 * 1024)
        assert "stdout: [a log line longer than 4194304 bytes was dropped]" in logs[0]
        assert logs[-1].endswith("stdout: line 19999")
