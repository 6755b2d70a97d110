"""The action-runtime protocol, spoken to a real container of each runtime (process for now)."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from backend.actionproxy import SENTINEL
from backend.runtimes import Container, ProcessRuntime, Runtime, run_dir
from conftest import require_docker

RUNTIMES = ["process", "docker"]


@pytest.fixture(params=RUNTIMES)
async def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Runtime]:
    if request.param == "process":
        yield ProcessRuntime(run_dir(tmp_path), "http://127.0.0.1:1")
        return
    require_docker()
    from backend.docker_runtime import DockerRuntime

    runtime = DockerRuntime(run_dir(tmp_path), "http://127.0.0.1:1")
    yield runtime
    await runtime.remove_leftovers(0)


@pytest.fixture
async def container(runtime: Runtime) -> AsyncIterator[Container]:
    c = await runtime.create("python:3", 256, labels={"squall.invoker": "0"})
    yield c
    await c.destroy()


def init_payload(code: str, main: str = "main") -> dict:
    return {"name": "t", "main": main, "code": code, "binary": False, "env": {}}


def run_payload(value: dict, **extra: str) -> dict:
    return {"value": value, "namespace": "guest", "action_name": "/guest/t", "action_version": "0.0.1",
            "activation_id": "0" * 32, "deadline": "1", **extra}


ECHO = "def main(args):\n    return args\n"


async def test_init_without_code_is_refused(container: Container) -> None:
    out = await container.init({"name": "t", "main": "main", "code": "", "binary": False}, 5)
    assert out.status != 200
    assert out.json() == {"error": "Missing main/no code to execute."}


async def test_second_init_is_forbidden(container: Container) -> None:
    assert (await container.init(init_payload(ECHO), 5)).status == 200
    out = await container.init(init_payload(ECHO), 5)
    assert out.status == 403
    assert out.json() == {"error": "Cannot initialize the action more than once."}


async def test_custom_main(container: Container) -> None:
    code = "def main(args):\n    return {'which': 'main'}\ndef other(args):\n    return {'which': 'other'}\n"
    assert (await container.init(init_payload(code, "other"), 5)).status == 200
    out = await container.run(run_payload({}), 5)
    assert (out.status, out.json()) == (200, {"which": "other"})


async def test_non_dict_result_is_a_developer_error(container: Container) -> None:
    await container.init(init_payload("def main(args):\n    return 42\n"), 5)
    out = await container.run(run_payload({}), 5)
    assert out.status == 502
    assert out.json() == {"error": "The action did not return a dictionary or array."}


async def test_array_result_is_accepted(container: Container) -> None:
    await container.init(init_payload("def main(args):\n    return [1, 'two']\n"), 5)
    out = await container.run(run_payload({}), 5)
    assert (out.status, out.json()) == (200, [1, "two"])


async def test_unicode_echo(container: Container) -> None:
    await container.init(init_payload(ECHO), 5)
    value = {"text": "Grüße, 世界 🌬️", "ключ": "значение"}
    out = await container.run(run_payload(value), 5)
    assert out.json() == value


async def test_one_megabyte_input_is_echoed_back(container: Container) -> None:
    await container.init(init_payload(ECHO), 5)
    value = {"blob": "x" * (1024 * 1024)}
    out = await container.run(run_payload(value), 10)
    assert out.status == 200
    assert out.json() == value


async def test_ow_environment(container: Container) -> None:
    code = ("import os\ndef main(args):\n    return {k: v for k, v in os.environ.items() "
            "if k.startswith('__OW_')}\n")
    await container.init(init_payload(code), 5)
    out = await container.run(run_payload({}, api_key="u:k"), 5)
    env = out.json()
    assert env["__OW_NAMESPACE"] == "guest"
    assert env["__OW_ACTION_NAME"] == "/guest/t"
    assert env["__OW_ACTION_VERSION"] == "0.0.1"
    assert env["__OW_ACTIVATION_ID"] == "0" * 32
    assert env["__OW_DEADLINE"] == "1"
    assert env["__OW_API_KEY"] == "u:k"
    assert "__OW_API_HOST" in env


async def test_exactly_one_sentinel_per_stream_per_activation(container: Container) -> None:
    code = ("import sys\ndef main(args):\n    print('out', args['i'])\n"
            "    print('err', args['i'], file=sys.stderr)\n    return {}\n")
    await container.init(init_payload(code), 5)
    for i in range(3):
        await container.run(run_payload({"i": i}), 5)
        logs = await container.logs.collect(10 * 1024 * 1024)
        # the two streams interleave in any order, but each activation gets exactly its own lines
        assert sorted(line.split(" ", 1)[1] for line in logs) == [f"stderr: err {i}", f"stdout: out {i}"]
        assert not any(SENTINEL in line for line in logs)


async def test_logs_past_the_limit_are_truncated(container: Container) -> None:
    await container.init(init_payload("def main(args):\n    for i in range(100):\n        print('x' * 100)\n"
                                      "    return {}\n"), 5)
    await container.run(run_payload({}), 5)
    logs = await container.logs.collect(1000)
    assert logs[-1] == "Logs were truncated because the total bytes size exceeds the limit of 1000 bytes."
    assert sum(len(line.encode()) for line in logs[:-1]) <= 1000


async def test_timeout_leaves_no_response(container: Container) -> None:
    await container.init(init_payload("import time\ndef main(args):\n    time.sleep(10)\n    return {}\n"), 5)
    out = await container.run(run_payload({}), 0.3)
    assert out.timed_out


async def test_crash_is_seen_as_gone(container: Container) -> None:
    await container.init(init_payload("import os\ndef main(args):\n    os._exit(3)\n"), 5)
    out = await container.run(run_payload({}), 5)
    assert out.gone
    assert not await container.out_of_memory()


async def test_out_of_memory_is_recognised(runtime: Runtime) -> None:
    c = await runtime.create("python:3", 128, labels={"squall.invoker": "0"})
    try:
        await c.init(init_payload("def main(args):\n    b = bytearray(1024 * 1024 * 1024)\n    return {}\n"), 5)
        out = await c.run(run_payload({}), 10)
        assert out.gone
        assert await c.out_of_memory()
    finally:
        await c.destroy()


async def test_exception_is_an_application_error_with_its_message(container: Container) -> None:
    await container.init(init_payload("def main(args):\n    raise ValueError('bad input')\n"), 5)
    out = await container.run(run_payload({}), 5)
    assert (out.status, out.json()) == (200, {"error": "bad input"})
    logs = await container.logs.collect(1 << 20)
    assert any("ValueError: bad input" in line for line in logs)


async def test_a_huge_log_line_is_dropped_and_the_container_keeps_working(container: Container) -> None:
    code = ("def main(args):\n    print('y' * (5 * 1024 * 1024))\n    for i in range(20000):\n"
            "        print('line', i)\n    return {'ok': True}\n")
    await container.init(init_payload(code), 5)
    for _ in range(2):  # 20,000 lines per run fill a pipe many times over: it must keep draining
        out = await container.run(run_payload({}), 20)
        assert out.json() == {"ok": True}
        logs = await container.logs.collect(10 * 1024 * 1024)
        assert "stdout: [a log line longer than 4194304 bytes was dropped]" in logs[0]
        assert logs[-1].endswith("stdout: line 19999")
