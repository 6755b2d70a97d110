"""Tests of the ``squall`` CLI (console/cli.py) and its API client (console/client.py).

The first half needs no server: wskprops and parameter parsing, request building against
``httpx.MockTransport``, and the CLI's output for answers a real server rarely gives (a blocking
invoke that times out into a 202). The second half runs ``main([...])`` in-process against the real
server of the ``server`` fixture (tests/conftest.py).
"""

from __future__ import annotations

import base64
import json
import re
import socket
import sys
import time
import types
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from console import cli
from console.client import (
    ApiClient,
    ApiError,
    AsyncApiClient,
    Invocation,
    SquallUnreachable,
    load_wskprops,
    normalize_apihost,
    squall_home,
)

HELLO = (
    "def main(args):\n"
    "    print('hi')\n"
    '    return {"greeting": "Hello " + args.get("name", "stranger")}\n'
)
ACTIVATION_ID = re.compile(r"[0-9a-f]{32}")
KEY = re.compile(r"^[0-9a-fA-F-]{36}:[^\s:]{64}$")


@dataclass
class Run:
    rc: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def free_port() -> int:
    """A port nothing listens on (bound and released, so the kernel just handed it out)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ============================================================================================
# No server needed


class TestWskprops:
    def test_parses_keys_and_ignores_comments_and_blanks(self, tmp_path: Path) -> None:
        path = tmp_path / "wskprops"
        path.write_text(
            "# Squall credentials\n"
            "\n"
            "APIHOST=http://localhost:3233\n"
            "  AUTH = 23bc46b1-71f6-4ed5-8c54-816aa4f8c502:abc=def  \n"
            "   # indented comment\n"
            "NAMESPACE=guest\n"
            "not a setting\n"
        )
        props = load_wskprops(path)
        assert props.apihost == "http://localhost:3233"
        # Only the first '=' splits, so a value may contain '='.
        assert props.auth == "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:abc=def"
        assert props.namespace == "guest"

    def test_missing_keys_are_none_and_quotes_are_stripped(self, tmp_path: Path) -> None:
        path = tmp_path / "wskprops"
        path.write_text('apihost="localhost:3233"\n')
        props = load_wskprops(path)
        assert props.apihost == "localhost:3233"
        assert props.auth is None and props.namespace is None

    def test_missing_file_raises(self, tmp_path: Path) -> None:
        with pytest.raises(FileNotFoundError):
            load_wskprops(tmp_path / "nope")

    def test_squall_home(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SQUALL_HOME", str(tmp_path))
        assert squall_home() == tmp_path
        monkeypatch.delenv("SQUALL_HOME")
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        assert squall_home() == tmp_path / "home" / ".squall"

    def test_normalize_apihost(self) -> None:
        assert normalize_apihost("localhost:3233") == "http://localhost:3233"
        assert normalize_apihost("https://squall.example/") == "https://squall.example"


class TestParams:
    @pytest.mark.parametrize(
        ("raw", "value"),
        [
            ("World", "World"),
            ("42", 42),
            ("1.5", 1.5),
            ("true", True),
            ("null", None),
            ('"42"', "42"),
            ('{"a": [1, 2]}', {"a": [1, 2]}),
            ("", ""),
            ("{not json", "{not json"),
        ],
    )
    def test_value_is_json_if_it_parses(self, raw: str, value: Any) -> None:
        assert cli.parse_param_value(raw) == value

    def test_cli_pairs_override_the_param_file(self, tmp_path: Path) -> None:
        path = tmp_path / "params.json"
        path.write_text(json.dumps({"name": "File", "n": 1}))
        params = cli.build_params([["name", "Cli"], ["flag", "true"]], str(path))
        assert params == {"name": "Cli", "n": 1, "flag": True}

    @pytest.mark.parametrize(("text", "message"), [("[1, 2]", "JSON object"), ("{", "not valid JSON")])
    def test_bad_param_file(self, tmp_path: Path, text: str, message: str) -> None:
        path = tmp_path / "params.json"
        path.write_text(text)
        with pytest.raises(cli.CliError, match=message):
            cli.load_param_file(str(path))

    def test_bad_param_file_is_an_error_before_any_request(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = tmp_path / "params.json"
        path.write_text("[]")
        rc = cli.main(
            ["action", "invoke", "x", "--param-file", str(path),
             "--apihost", f"http://127.0.0.1:{free_port()}", "--auth", "a:b"]
        )
        err = capsys.readouterr().err
        assert rc == 1
        assert err.startswith("error: ") and "JSON object" in err


class TestReadExec:
    def test_python_source(self, tmp_path: Path) -> None:
        path = tmp_path / "hello.py"
        path.write_text(HELLO)
        assert cli.read_exec(str(path)) == {"kind": "python:3", "code": HELLO, "binary": False}

    def test_zip_is_base64_and_binary(self, tmp_path: Path) -> None:
        path = tmp_path / "action.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("__main__.py", HELLO)
        exec_ = cli.read_exec(str(path), main="entry")
        assert exec_["kind"] == "python:3" and exec_["binary"] is True and exec_["main"] == "entry"
        assert base64.b64decode(exec_["code"]) == path.read_bytes()

    def test_unknown_extension_needs_kind(self, tmp_path: Path) -> None:
        path = tmp_path / "hello.txt"
        path.write_text(HELLO)
        with pytest.raises(cli.CliError, match="--kind"):
            cli.read_exec(str(path))
        assert cli.read_exec(str(path), kind="python:3.11")["kind"] == "python:3.11"

    def test_missing_file_is_a_clean_error(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        rc = cli.main(["action", "create", "x", str(tmp_path / "nope.py"), "--auth", "a:b"])
        assert rc == 1
        assert "error: cannot read" in capsys.readouterr().err


class TestFormatting:
    def test_activation_row_cold_and_summary_status(self) -> None:
        row = cli.activation_row(
            {
                "activationId": "a" * 32, "namespace": "guest", "name": "hello",
                "version": "0.0.2", "start": 1_700_000_000_000, "duration": 12,
                "statusCode": 1,
                "annotations": [
                    {"key": "path", "value": "guest/hello"},
                    {"key": "kind", "value": "python:3"},
                    {"key": "initTime", "value": 40},
                ],
            }
        )
        assert row[1:] == [
            "a" * 32, "python:3", "cold", "12ms", "application error", "guest/hello:0.0.2"
        ]

    def test_activation_row_warm_full_record(self) -> None:
        row = cli.activation_row(
            {"activationId": "b" * 32, "namespace": "guest", "name": "hello", "duration": 3,
             "response": {"status": "success"}, "annotations": []}
        )
        assert row[3:] == ["warm", "3ms", "success", "guest/hello"]


# -- the client against a mock transport ------------------------------------------------------


def mock_client(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> ApiClient:
    return ApiClient("squall.test:3233", "user:secret", transport=httpx.MockTransport(handler), **kw)


class TestClient:
    def test_request_shape(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, json={"name": "my action"})

        with mock_client(handler, namespace="guest") as client:
            client.put_action("my action", {"exec": {"kind": "python:3"}}, overwrite=True)
            client.get_action("/other/pkg/a", code=False)
        put, get = seen
        assert put.method == "PUT"
        assert put.url.scheme == "http" and put.url.host == "squall.test"
        assert put.url.raw_path == b"/api/v1/namespaces/guest/actions/my%20action?overwrite=true"
        assert json.loads(put.content) == {"exec": {"kind": "python:3"}}
        expected = "Basic " + base64.b64encode(b"user:secret").decode()
        assert put.headers["authorization"] == expected
        assert get.url.raw_path == b"/api/v1/namespaces/other/actions/pkg/a?code=false"

    def test_info_sends_no_auth(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            assert "authorization" not in request.headers
            return httpx.Response(200, json={"api_version": "1.0.0"})

        assert mock_client(handler).info() == {"api_version": "1.0.0"}

    def test_error_body(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(
                404, json={"error": "The requested resource does not exist.", "code": "x1"}
            )

        with pytest.raises(ApiError) as info:
            mock_client(handler).get_action("nope")
        assert info.value.status == 404
        assert info.value.message == "The requested resource does not exist."
        assert info.value.body["code"] == "x1"

    def test_error_without_json_falls_back_to_text(self) -> None:
        client = mock_client(lambda r: httpx.Response(503, text="no invoker"))
        with pytest.raises(ApiError, match="no invoker"):
            client.limits()

    def test_invoke_502_and_202_return_normally(self) -> None:
        aid = "c" * 32
        answers = iter(
            [
                httpx.Response(
                    502,
                    json={"activationId": aid, "response": {"status": "application error"}},
                    headers={"x-openwhisk-activation-id": aid},
                ),
                httpx.Response(202, json={"activationId": aid}),
            ]
        )
        client = mock_client(lambda r: next(answers))
        failed = client.invoke("a", {"x": 1}, blocking=True)
        assert isinstance(failed, tuple) and failed.status == 502 and failed.activation_id == aid
        pending = client.invoke("a")
        assert pending == Invocation(202, {"activationId": aid}, None) and pending.id == aid

    def test_invoke_500_error_body_raises(self) -> None:
        client = mock_client(
            lambda r: httpx.Response(500, json={"error": "boom", "code": "c"},
                                     headers={"x-openwhisk-activation-id": "d" * 32})
        )
        with pytest.raises(ApiError, match="boom"):
            client.invoke("a", blocking=True)

    def test_admin_paths(self) -> None:
        seen: list[tuple[str, str, bytes]] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append((request.method, request.url.path, request.content))
            return httpx.Response(200, json={})

        client = mock_client(handler)
        client.system_status()
        client.create_namespace("team")
        client.set_limits("team", invocationsPerMinute=5, concurrentInvocations=2)
        client.cancel_activation("e" * 32)
        client.remove_container("abc")
        assert [s[:2] for s in seen] == [
            ("GET", "/api/v1/system/status"),
            ("PUT", "/api/v1/system/namespaces/team"),
            ("PUT", "/api/v1/system/namespaces/team/limits"),
            ("DELETE", "/api/v1/system/activations/" + "e" * 32),
            ("DELETE", "/api/v1/system/containers/abc"),
        ]
        assert json.loads(seen[2][2]) == {"invocationsPerMinute": 5, "concurrentInvocations": 2}

    def test_activation_queries(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            if request.url.path.endswith("/logs"):
                return httpx.Response(200, json={"logs": ["t stdout: hi"]})
            return httpx.Response(200, json=[])

        client = mock_client(handler)
        assert client.list_activations("hello", limit=5, since=10, upto=20, docs=True) == []
        assert client.activation_logs("f" * 32) == ["t stdout: hi"]
        assert dict(seen[0].url.params) == {
            "limit": "5", "skip": "0", "name": "hello", "since": "10", "upto": "20", "docs": "true"
        }

    def test_connection_refused(self) -> None:
        client = ApiClient(f"127.0.0.1:{free_port()}", "a:b")
        with pytest.raises(SquallUnreachable, match="squall up"):
            client.namespaces()

    @pytest.mark.asyncio
    async def test_async_client_shares_the_endpoints(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            if request.method == "POST":
                return httpx.Response(
                    502, json={"activationId": "a" * 32},
                    headers={"x-openwhisk-activation-id": "a" * 32},
                )
            return httpx.Response(404, json={"error": "The requested resource does not exist."})

        async with AsyncApiClient(
            "http://squall.test", "u:k", transport=httpx.MockTransport(handler)
        ) as client:
            invocation = await client.invoke("a", blocking=True)
            assert invocation.status == 502 and invocation.id == "a" * 32
            with pytest.raises(ApiError) as info:
                await client.get_activation("b" * 32)
            assert info.value.status == 404


# -- the CLI against a mock transport ----------------------------------------------------------


@pytest.fixture
def mock_api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., None]:
    """Route the CLI's client to a handler, for answers hard to get from a real server."""
    monkeypatch.setenv("SQUALL_HOME", str(tmp_path))
    (tmp_path / "wskprops").write_text("APIHOST=squall.test\nAUTH=u:k\nNAMESPACE=guest\n")

    def install(handler: Callable[[httpx.Request], httpx.Response]) -> None:
        def factory(apihost: str, auth: str, namespace: str = "_") -> ApiClient:
            return ApiClient(apihost, auth, namespace, transport=httpx.MockTransport(handler))

        monkeypatch.setattr(cli, "ApiClient", factory)

    return install


class TestCliOutput:
    def test_blocking_invoke_still_running(
        self, mock_api: Callable[..., None], capsys: pytest.CaptureFixture[str]
    ) -> None:
        aid = "1" * 32
        mock_api(lambda r: httpx.Response(202, json={"activationId": aid}))
        assert cli.main(["action", "invoke", "slow", "-b"]) == 0
        out = capsys.readouterr().out
        assert f"ok: invoked /guest/slow, but the request has not yet finished, with id {aid}" in out

    def test_blocking_invoke_502_prints_activation_and_fails(
        self, mock_api: Callable[..., None], capsys: pytest.CaptureFixture[str]
    ) -> None:
        activation = {
            "activationId": "2" * 32, "namespace": "guest", "name": "bad",
            "response": {"status": "application error", "success": False,
                         "result": {"error": "boom"}},
        }
        mock_api(lambda r: httpx.Response(502, json=activation))
        assert cli.main(["action", "invoke", "bad", "-b"]) == 1
        captured = capsys.readouterr()
        assert json.loads(captured.out) == activation
        assert "application error: boom" in captured.err

    def test_namespace_create_uses_admin_props(
        self, mock_api: Callable[..., None], tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        (tmp_path / "admin.wskprops").write_text("AUTH=admin:secret\n")
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(
                200, json={"namespace": "team", "uuid": "u1", "key": "k1", "auth": "u1:k1"}
            )

        mock_api(handler)
        assert cli.main(["namespace", "create", "team"]) == 0
        captured = capsys.readouterr()
        assert captured.out.strip() == "u1:k1"
        assert "hint:" in captured.err
        # APIHOST came from the user props, AUTH from the admin props.
        assert seen[0].url.host == "squall.test"
        assert seen[0].headers["authorization"] == "Basic " + base64.b64encode(b"admin:secret").decode()


class TestServerDelegation:
    @pytest.fixture
    def calls(self, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
        calls: list[list[str]] = []
        fake = types.ModuleType("backend.server")

        def fake_main(argv: list[str]) -> int:
            calls.append(list(argv))
            return 0

        fake.main = fake_main  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "backend.server", fake)
        return calls

    def test_no_arguments_means_the_console_on_an_embedded_backend(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        console_calls: list[list[str]] = []
        fake = types.ModuleType("console.main")
        fake.main = lambda argv: console_calls.append(list(argv)) or 0  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "console.main", fake)
        assert cli.main([]) == 0
        assert cli.main(["console", "--readonly"]) == 0
        assert console_calls == [["console", "--embedded"], ["console", "--readonly"]]

    def test_up_and_invoker_get_the_full_argv(self, calls: list[list[str]]) -> None:
        cli.main(["up", "--port", "3233"])
        cli.main(["invoker", "--id", "2"])
        assert calls == [["up", "--port", "3233"], ["invoker", "--id", "2"]]


def test_connection_refused_is_friendly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SQUALL_HOME", str(tmp_path))
    apihost = f"http://127.0.0.1:{free_port()}"
    rc = cli.main(["action", "list", "--apihost", apihost, "--auth", "a:b"])
    captured = capsys.readouterr()
    assert rc == 1
    assert captured.err.startswith(f"error: no Squall at {apihost}")
    assert "squall up" in captured.err
    assert "Traceback" not in captured.err


# ============================================================================================
# Against a real server


@pytest.fixture
def squall(
    server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Run]:
    """Run the CLI in-process against the test server, with its SQUALL_HOME."""
    monkeypatch.setenv("SQUALL_HOME", str(server.home))
    capsys.readouterr()

    def run(*args: str) -> Run:
        rc = cli.main(list(args))
        captured = capsys.readouterr()
        return Run(rc, captured.out, captured.err)

    return run


def unique(prefix: str) -> str:
    """A fresh entity name, so that tests sharing a server do not see each other's entities."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Retry ``check`` until it returns truthy: activation records may be stored asynchronously."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


@pytest.fixture
def hello_file(tmp_path: Path) -> Path:
    path = tmp_path / "hello.py"
    path.write_text(HELLO)
    return path


def invoked_id(out: str, name: str) -> str:
    match = re.search(rf"ok: invoked /[^/\s]+/{re.escape(name)} with id ([0-9a-f]{{32}})", out)
    assert match, out
    return match.group(1)


def test_create_and_invoke_result(squall: Callable[..., Run], hello_file: Path) -> None:
    name = unique("hello")
    created = squall("action", "create", name, str(hello_file))
    assert (created.rc, created.out.strip()) == (0, f"ok: created action {name}"), created.err
    run = squall("action", "invoke", name, "--result", "-p", "name", "World")
    assert run.rc == 0, run.err
    assert run.json() == {"greeting": "Hello World"}
    assert run.out.startswith('{\n  "greeting"')  # pretty, indent 2
    run = squall("action", "invoke", name, "-r")
    assert run.json() == {"greeting": "Hello stranger"}


def test_activation_list_get_result_and_logs(squall: Callable[..., Run], hello_file: Path) -> None:
    name = unique("hello")
    assert squall("action", "create", name, str(hello_file)).rc == 0
    run = squall("action", "invoke", name, "--blocking", "-p", "name", "Logs")
    assert run.rc == 0, run.err
    aid = invoked_id(run.out, name)
    activation = json.loads(run.out.split("\n", 1)[1])
    assert activation["activationId"] == aid
    assert activation["response"]["result"] == {"greeting": "Hello Logs"}

    def listed() -> Run | None:
        run = squall("activation", "list", name)
        return run if aid in run.out else None

    run = eventually(listed)
    assert run, "activation never showed in `activation list`"
    lines = run.out.splitlines()
    assert lines[0] == "activations"
    assert lines[1].split()[:3] == ["Datetime", "Activation", "ID"]
    row = next(line for line in lines if aid in line)
    assert "python:3" in row and "success" in row and f"/{name}:0.0.1" in row
    assert " cold " in row or " warm " in row

    run = squall("activation", "logs", aid)
    assert run.rc == 0, run.err
    assert any(line.endswith("stdout: hi") for line in run.out.splitlines()), run.out
    assert squall("activation", "logs", aid, "--strip").out.splitlines() == ["hi"]

    run = squall("activation", "result", aid)
    assert run.rc == 0 and run.json() == {"greeting": "Hello Logs"}
    run = squall("activation", "get", aid)
    assert run.rc == 0 and run.json()["activationId"] == aid
    run = squall("activation", "get", "--last", name)
    assert run.rc == 0 and run.json()["activationId"] == aid


def test_non_blocking_invoke_prints_id(squall: Callable[..., Run], hello_file: Path) -> None:
    name = unique("hello")
    assert squall("action", "create", name, str(hello_file)).rc == 0
    run = squall("action", "invoke", name)
    assert run.rc == 0, run.err
    aid = invoked_id(run.out, name)
    run = eventually(lambda: (r := squall("activation", "result", aid)).rc == 0 and r)
    assert run and run.json() == {"greeting": "Hello stranger"}


def test_update_bumps_version_and_keeps_code(
    squall: Callable[..., Run], hello_file: Path
) -> None:
    name = unique("hello")
    assert squall("action", "create", name, str(hello_file), "--memory", "128").rc == 0
    doc = squall("action", "get", name).json()
    assert doc["version"] == "0.0.1"
    assert doc["exec"]["kind"] == "python:3" and doc["limits"]["memory"] == 128

    run = squall("action", "update", name, "-p", "name", "Default")
    assert (run.rc, run.out.strip()) == (0, f"ok: updated action {name}"), run.err
    doc = squall("action", "get", name, "--code").json()
    assert doc["version"] == "0.0.2"
    assert doc["exec"]["code"] == HELLO
    assert {"key": "name", "value": "Default"} in doc["parameters"]
    assert squall("action", "invoke", name, "-r").json() == {"greeting": "Hello Default"}

    run = squall("action", "update", name, str(hello_file))
    assert run.rc == 0 and squall("action", "get", name).json()["version"] == "0.0.3"

    listing = squall("action", "list")
    assert listing.rc == 0 and listing.out.splitlines()[0] == "actions"
    row = next(line for line in listing.out.splitlines() if f"/{name} " in line)
    assert "0.0.3" in row and "private" in row and "python:3" in row


def test_create_twice_conflicts(squall: Callable[..., Run], hello_file: Path) -> None:
    name = unique("hello")
    assert squall("action", "create", name, str(hello_file)).rc == 0
    run = squall("action", "create", name, str(hello_file))
    assert run.rc == 1
    assert run.err.startswith("error: ") and "resource already exists" in run.err


def test_get_missing_action(squall: Callable[..., Run]) -> None:
    run = squall("action", "get", unique("missing"))
    assert run.rc == 1
    assert run.err.strip() == "error: The requested resource does not exist."
    assert "Traceback" not in run.err


def test_delete_action(squall: Callable[..., Run], hello_file: Path) -> None:
    name = unique("hello")
    assert squall("action", "create", name, str(hello_file)).rc == 0
    run = squall("action", "delete", name)
    assert (run.rc, run.out.strip()) == (0, f"ok: deleted action {name}")
    assert squall("action", "get", name).rc == 1


def test_zip_action(squall: Callable[..., Run], tmp_path: Path) -> None:
    archive = tmp_path / "action.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("helper.py", "def double(n):\n    return 2 * n\n")
        zf.writestr(
            "__main__.py",
            "from helper import double\n"
            "def main(args):\n"
            '    return {"zipped": True, "double": double(args.get("n", 0))}\n',
        )
    name = unique("zipped")
    run = squall("action", "create", name, str(archive))
    assert run.rc == 0, run.err
    assert squall("action", "get", name).json()["exec"]["binary"] is True
    run = squall("action", "invoke", name, "-r", "-p", "n", "21")
    assert run.rc == 0, run.err
    assert run.json() == {"zipped": True, "double": 42}


def test_param_file(squall: Callable[..., Run], hello_file: Path, tmp_path: Path) -> None:
    defaults = tmp_path / "defaults.json"
    defaults.write_text(json.dumps({"name": "Default"}))
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"name": "File"}))
    name = unique("hello")
    assert squall("action", "create", name, str(hello_file), "--param-file", str(defaults)).rc == 0
    assert squall("action", "invoke", name, "-r").json() == {"greeting": "Hello Default"}
    run = squall("action", "invoke", name, "-r", "--param-file", str(params))
    assert run.rc == 0 and run.json() == {"greeting": "Hello File"}
    run = squall("action", "invoke", name, "-r", "--param-file", str(params), "-p", "name", "Cli")
    assert run.json() == {"greeting": "Hello Cli"}


def test_failing_action(squall: Callable[..., Run], tmp_path: Path) -> None:
    path = tmp_path / "fail.py"
    path.write_text('def main(args):\n    return {"error": "boom"}\n')
    name = unique("fail")
    assert squall("action", "create", name, str(path)).rc == 0
    run = squall("action", "invoke", name, "-r")
    assert run.rc == 1
    assert run.json() == {"error": "boom"}
    run = squall("action", "invoke", name, "-b")
    assert run.rc == 1
    activation = run.json()
    assert activation["response"]["status"] == "application error"
    assert "application error: boom" in run.err


def test_namespace_create_key_works(
    squall: Callable[..., Run], server: Any, hello_file: Path
) -> None:
    namespace = unique("team")
    run = squall("namespace", "create", namespace)
    assert run.rc == 0, run.err
    key = run.out.strip()
    assert KEY.match(key), run.out
    assert "hint" in run.err

    run = squall("namespace", "list", "--auth", key)
    assert run.rc == 0 and run.out.split() == ["namespaces", namespace]

    name = unique("hello")
    assert squall("action", "create", name, str(hello_file), "--auth", key).rc == 0
    run = squall("action", "invoke", name, "-r", "-p", "name", "Team", "--auth", key)
    assert run.rc == 0, run.err
    assert run.json() == {"greeting": "Hello Team"}
    # The action lives in the new namespace, not the guest's.
    assert squall("action", "get", name).rc == 1
    assert squall("action", "get", f"/{namespace}/{name}", "--auth", key).rc == 0

    run = squall(
        "namespace", "limits", namespace, "--invocations-per-minute", "100", "--concurrent", "5"
    )
    assert run.rc == 0, run.err
    assert f"ok: updated limits of namespace {namespace}" in run.out


def test_namespace_create_needs_admin(squall: Callable[..., Run], server: Any) -> None:
    run = squall("namespace", "create", unique("team"), "--auth", server.guest_auth)
    assert run.rc == 1 and run.err.startswith("error: ")


def test_system_status(squall: Callable[..., Run]) -> None:
    run = squall("system", "status")
    assert run.rc == 0, run.err
    assert isinstance(run.json(), dict)


def test_explicit_apihost_and_auth(squall: Callable[..., Run], server: Any) -> None:
    run = squall("namespace", "list", "--apihost", server.apihost, "--auth", server.guest_auth)
    assert run.rc == 0, run.err
    assert run.out.splitlines()[0] == "namespaces" and len(run.out.splitlines()) >= 2
