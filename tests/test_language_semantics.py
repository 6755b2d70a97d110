"""What each language's own OpenWhisk runtime does, beyond the shared conformance suite: the texts
of apache/openwhisk-runtime-nodejs and -java for their failures, promises, zips and entry points."""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path
from typing import AsyncIterator

import pytest

from backend.process_runtime import ProcessRuntime
from backend.runtimes import Container, Runtime, run_dir
from conftest import require_docker
from kits import KITS, Kit, java_jar

BY_KIND = {k.kind: k for k in KITS}


@pytest.fixture(params=["process", "docker"])
async def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Runtime]:
    kind = request.node.get_closest_marker("kind").args[0]
    if request.param == "process":
        missing = BY_KIND[kind].available()
        if missing:
            pytest.skip(missing)
        yield ProcessRuntime(run_dir(tmp_path), "http://127.0.0.1:1")
        return
    require_docker(kind)
    from backend.docker_runtime import DockerRuntime

    runtime = DockerRuntime(run_dir(tmp_path), "http://127.0.0.1:1")
    yield runtime
    await runtime.remove_leftovers(0)


@pytest.fixture
async def container(runtime: Runtime, request: pytest.FixtureRequest) -> AsyncIterator[Container]:
    c = await runtime.create(request.node.get_closest_marker("kind").args[0], 256,
                             labels={"squall.invoker": "0"})
    yield c
    await c.destroy()


def source(code: str, main: str = "main") -> dict:
    return {"name": "t", "main": main, "code": code, "binary": False, "env": {}}


def zip_of(files: dict[str, str]) -> dict:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return {"name": "t", "main": "main", "code": base64.b64encode(data.getvalue()).decode(), "binary": True,
            "env": {}}


async def run(c: Container, value: dict | None = None) -> tuple[int, object]:
    out = await c.run({"value": value or {}, "activation_id": "0" * 32}, 10)
    return out.status, out.json()


@pytest.mark.kind("nodejs:18")
async def test_node_exports_main_and_async_results(container: Container) -> None:
    code = "exports.main = async (args) => { await new Promise(r => setTimeout(r, 10)); return {got: args.x}; };\n"
    assert (await container.init(source(code), 10)).status == 200
    assert await run(container, {"x": 1}) == (200, {"got": 1})


@pytest.mark.kind("nodejs:18")
async def test_node_rejected_promise_is_the_serialized_error(container: Container) -> None:
    code = "function main() { return Promise.reject(new Error('nope')); }\n"
    await container.init(source(code), 10)
    status, result = await run(container)
    assert status == 200 and result["error"]["name"] == "Error" and result["error"]["message"] == "nope"


@pytest.mark.kind("nodejs:18")
async def test_node_rejection_with_a_plain_value_and_no_return(container: Container) -> None:
    code = ("function main(a) { if (a.reject) return Promise.reject({reason: 'bad'});"
            " if (a.nothing) return; return {}; }\n")
    await container.init(source(code), 10)
    assert await run(container, {"reject": True}) == (200, {"error": {"reason": "bad"}})
    assert await run(container, {"nothing": True}) == (200, {})


@pytest.mark.kind("nodejs:18")
async def test_node_init_failures_have_the_runtime_texts(runtime: Runtime) -> None:
    cases = [
        (source("function main() {}\n", "nope"),
         "Initialization has failed due to: Action entrypoint 'nope' is not a function."),
        (zip_of({"README": "nothing here"}),
         "Initialization has failed due to: "
         "Zipped actions must contain either package.json or index.js at the root."),
    ]
    for payload, text in cases:
        c = await runtime.create("nodejs:18", 256, labels={"squall.invoker": "0"})
        try:
            out = await c.init(payload, 10)
            assert (out.status, out.json()) == (502, {"error": text})
        finally:
            await c.destroy()
    c = await runtime.create("nodejs:18", 256, labels={"squall.invoker": "0"})
    try:
        out = await c.init(source("function main( {\n"), 10)
        assert out.status == 502
        assert out.json()["error"].startswith("Initialization has failed due to: SyntaxError")
    finally:
        await c.destroy()


@pytest.mark.kind("nodejs:18")
async def test_node_zip_with_package_json_main(container: Container) -> None:
    payload = zip_of({"package.json": '{"main": "lib/app.js"}',
                      "lib/app.js": "const h = require('./helper');\nexports.main = a => ({v: h(a.n)});\n",
                      "lib/helper.js": "module.exports = n => n * 2;\n"})
    assert (await container.init(payload, 10)).status == 200
    assert await run(container, {"n": 21}) == (200, {"v": 42})


@pytest.mark.kind("java:17")
async def test_java_missing_class_and_method_have_the_runtime_texts(runtime: Runtime) -> None:
    cases = [("Nope", "java.lang.ClassNotFoundException: Nope"),
             ("Echo#nope", "java.lang.NoSuchMethodException: Echo.nope(com.google.gson.JsonObject)")]
    for main, exception in cases:
        c = await runtime.create("java:17", 256, labels={"squall.invoker": "0"})
        try:
            out = await c.init({"name": "t", "main": main, "code": java_jar(), "binary": True, "env": {}}, 20)
            assert (out.status, out.json()) == (502, {"error": f"An error has occurred (see logs for details): {exception}"})
        finally:
            await c.destroy()


@pytest.mark.kind("java:17")
async def test_java_runs_warm_in_one_jvm(container: Container) -> None:
    kit: Kit = BY_KIND["java:17"]
    assert (await container.init(kit.init("echo"), 20)).status == 200
    for i in range(20):
        assert await run(container, {"i": i}) == (200, {"i": i})
