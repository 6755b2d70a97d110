"""``squall namespace ...`` and ``squall system ...``: the admin props against a mock API, then
the real server of the ``server`` fixture (tests/conftest.py)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from cli_support import KEY, Run, unique
from console import cli


class TestAdminProps:
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
        "namespace", "limits", namespace, "--invocations-per-minute", "100", "--concurrent", "5",
        "--fires-per-minute", "7",
    )
    assert run.rc == 0, run.err
    assert f"ok: updated limits of namespace {namespace}" in run.out
    limits = squall("namespace", "limits", namespace, "--concurrent", "6")  # the others stay
    assert limits.rc == 0, limits.err
    r = httpx.get(f"{server.apihost}/api/v1/namespaces/_/limits", auth=tuple(key.split(":", 1)))
    assert {k: r.json()[k] for k in ("invocationsPerMinute", "concurrentInvocations", "firesPerMinute")} == \
        {"invocationsPerMinute": 100, "concurrentInvocations": 6, "firesPerMinute": 7}


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
