"""Actions as users bring them, through the API, on both runtimes: a Node.js zip with a dependency
installed from the npm registry, a Java jar built here from source, a Python zip with packages."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from conftest import Server, action_path, invoke, require_docker, running
from kits import zipped

RUNTIMES = ["docker", "process"]


@pytest.fixture(scope="module")
def process_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("languages-home"), "--runtime", "process", "--invokers", "1") as srv:
        yield srv


@pytest.fixture(params=RUNTIMES)
def lang_client(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    """A namespace on a backend of that runtime, for the kind the test is marked with."""
    kind = request.node.get_closest_marker("kind").args[0]
    if request.param == "docker":
        require_docker(kind)
    srv: Server = request.getfixturevalue("server" if request.param == "docker" else "process_server")
    _, auth = srv.new_namespace()
    with srv.client(auth, timeout=60.0) as c:
        yield c


def put(client: httpx.Client, name: str, exec_: dict[str, Any]) -> None:
    r = client.put(action_path(name), json={"exec": exec_})
    assert r.status_code == 200, r.text


def result(client: httpx.Client, name: str, params: dict[str, Any]) -> Any:
    r = invoke(client, name, params, blocking=True)
    assert r.status_code == 200, r.text
    return r.json()["response"]["result"]


@pytest.fixture(scope="module")
def node_zip(tmp_path_factory: pytest.TempPathFactory) -> str:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed here")
    app = tmp_path_factory.mktemp("node-app")
    (app / "package.json").write_text(json.dumps({"name": "app", "version": "1.0.0", "main": "app.js"}))
    (app / "app.js").write_text(
        "const isNumber = require('is-number');\n"
        "exports.main = async (args) => ({numbers: (args.items || []).filter(isNumber)});\n")
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--save", "is-number@7.0.0"], cwd=app,
                   check=True, capture_output=True, timeout=180)
    assert (app / "node_modules" / "is-number").is_dir()
    return base64.b64encode(zipped(app)).decode()


@pytest.mark.kind("nodejs:18")
def test_a_node_zip_with_a_dependency_from_the_npm_registry(lang_client: httpx.Client, node_zip: str) -> None:
    put(lang_client, "numbers", {"kind": "nodejs:default", "code": node_zip, "binary": True})
    assert lang_client.get(action_path("numbers")).json()["exec"]["kind"] == "nodejs:18"
    assert result(lang_client, "numbers", {"items": [1, "2", "x", None, 3.5]}) == {"numbers": [1, "2", 3.5]}


@pytest.fixture(scope="module")
def java_jar(tmp_path_factory: pytest.TempPathFactory) -> str:
    if shutil.which("javac") is None:
        pytest.skip("javac is not installed here")
    from backend.languages.java import host_cache
    from backend.launchers.java.build import ensure_launcher

    gson = ensure_launcher(host_cache()).split(":")[1]
    src = tmp_path_factory.mktemp("java-src")
    out = src / "classes"
    (src / "Hello.java").write_text(
        "package demo;\nimport com.google.gson.JsonObject;\n"
        "public class Hello {\n  public static JsonObject main(JsonObject args) {\n"
        "    String name = args.has(\"name\") ? args.get(\"name\").getAsString() : \"stranger\";\n"
        "    System.out.println(\"greeting \" + name);\n"
        "    JsonObject out = new JsonObject();\n    out.addProperty(\"greeting\", \"Hello \" + name);\n"
        "    out.addProperty(\"activation\", System.getenv(\"__OW_ACTIVATION_ID\"));\n    return out;\n  }\n}\n")
    subprocess.run(["javac", "--release", "17", "-cp", gson, "-d", str(out), str(src / "Hello.java")],
                   check=True, capture_output=True, timeout=120)
    return base64.b64encode(zipped(out)).decode()


@pytest.mark.kind("java:17")
def test_a_java_jar_built_from_source(lang_client: httpx.Client, java_jar: str) -> None:
    put(lang_client, "hello-java", {"kind": "java:default", "code": java_jar, "binary": True, "main": "demo.Hello"})
    r = invoke(lang_client, "hello-java", {"name": "Ada"}, blocking=True)
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["response"]["result"] == {"greeting": "Hello Ada", "activation": record["activationId"]}
    assert any(line.endswith("stdout: greeting Ada") for line in record["logs"])
    assert result(lang_client, "hello-java", {})["greeting"] == "Hello stranger"  # warm: the same JVM


@pytest.fixture(scope="module")
def python_zip(tmp_path_factory: pytest.TempPathFactory) -> str:
    app = tmp_path_factory.mktemp("python-app")
    site = app / "virtualenv" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                    "six==1.16.0"], check=True, capture_output=True, timeout=180)
    (app / "__main__.py").write_text("import six\n\ndef main(args):\n    return {'six': six.__version__}\n")
    return base64.b64encode(zipped(app)).decode()


@pytest.mark.kind("python:3.11")
def test_a_python_zip_with_a_virtualenv(lang_client: httpx.Client, python_zip: str) -> None:
    put(lang_client, "venv", {"kind": "python:3.11", "code": python_zip, "binary": True})
    assert result(lang_client, "venv", {}) == {"six": "1.16.0"}
