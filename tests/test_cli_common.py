"""What every ``squall`` command shares, without a server: parameter parsing, reading action
files, handing server and console commands over, and a friendly error when no server answers."""

from __future__ import annotations

import base64
import json
import sys
import types
import zipfile
from pathlib import Path
from typing import Any

import pytest

from cli_support import HELLO, free_port
from console import cli


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
        assert cli.read_exec(str(path)) == {"kind": "python:default", "code": HELLO, "binary": False}

    def test_zip_is_base64_and_binary(self, tmp_path: Path) -> None:
        path = tmp_path / "action.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("__main__.py", HELLO)
        exec_ = cli.read_exec(str(path), main="entry")
        assert exec_["kind"] == "python:default" and exec_["binary"] is True and exec_["main"] == "entry"
        assert base64.b64decode(exec_["code"]) == path.read_bytes()

    def test_kinds_inferred_as_wsk_does(self, tmp_path: Path) -> None:
        (tmp_path / "hello.js").write_text("function main(a) { return a; }\n")
        assert cli.read_exec(str(tmp_path / "hello.js"))["kind"] == "nodejs:default"
        (tmp_path / "hello.jar").write_bytes(b"PK\x05\x06" + bytes(18))
        with pytest.raises(cli.CliError, match="Java actions require --main"):
            cli.read_exec(str(tmp_path / "hello.jar"))
        jar = cli.read_exec(str(tmp_path / "hello.jar"), main="Hello")
        assert jar["kind"] == "java:default" and jar["binary"] is True
        with zipfile.ZipFile(tmp_path / "node.zip", "w") as zf:
            zf.writestr("package.json", '{"main": "app.js"}')
        assert cli.read_exec(str(tmp_path / "node.zip"))["kind"] == "nodejs:default"
        with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
            zf.writestr("README", "")
        with pytest.raises(cli.CliError, match="pass --kind"):
            cli.read_exec(str(tmp_path / "other.zip"))
        assert cli.read_exec(str(tmp_path / "other.zip"), kind="nodejs:18")["kind"] == "nodejs:18"

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


