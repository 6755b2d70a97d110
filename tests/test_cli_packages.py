"""``squall package ...``: rendering and request bodies without a server, then packages and
bindings against the real server of the ``server`` fixture (tests/conftest.py), each test in a
namespace of its own (the ``tenant`` fixture)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from cli_support import Run, Tenant, write_action
from console.cli.packages import binding_target, package_row, package_summary


def params(doc: dict[str, Any]) -> dict[str, Any]:
    return {p["key"]: p["value"] for p in doc.get("parameters") or ()}


# ============================================================================================
# No server needed


class TestRendering:
    def test_rows_of_packages_and_bindings(self) -> None:
        package = {"namespace": "guest", "name": "p", "publish": True, "binding": False}
        assert package_row(package) == ["/guest/p", "shared", ""]
        binding = {"namespace": "guest", "name": "b", "publish": False,
                   "binding": {"namespace": "whisk.system", "name": "utils"}}
        assert package_row(binding) == ["/guest/b", "private", "binding /whisk.system/utils"]
        assert binding_target({"binding": {}}) is None

    def test_summary(self) -> None:
        doc = {
            "namespace": "guest", "name": "utils",
            "parameters": [{"key": "sep", "value": ","}],
            "annotations": [{"key": "description", "value": "Building blocks"}],
            "actions": [
                {"name": "split", "annotations": [
                    {"key": "description", "value": "Split a string"},
                    {"key": "parameters", "value": [{"name": "payload"}, {"name": "separator"}]},
                ]},
                {"name": "date", "annotations": []},
            ],
            "feeds": [{"name": "alarm", "annotations": [{"key": "feed", "value": True}]}],
        }
        assert package_summary(doc) == [
            "package /guest/utils: Building blocks",
            "   (parameters: *sep)",
            " action /guest/utils/split: Split a string",
            "   (parameters: payload, separator)",
            " action /guest/utils/date",
            " feed   /guest/utils/alarm",
        ]


class TestRequests:
    @pytest.fixture
    def api(self, mock_api: Callable[..., None]) -> list[httpx.Request]:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            if request.url.path.endswith("/packages"):
                return httpx.Response(200, json=[
                    {"namespace": "guest", "name": "p", "publish": False, "binding": False},
                    {"namespace": "guest", "name": "b", "publish": False,
                     "binding": {"namespace": "guest", "name": "p"}},
                ])
            return httpx.Response(200, json={"namespace": "guest", "name": "x"})

        mock_api(handler)
        return seen

    def test_create_and_update_bodies(
        self, api: list[httpx.Request], run_cli: Callable[..., Run], tmp_path: Path
    ) -> None:
        defaults = tmp_path / "defaults.json"
        defaults.write_text(json.dumps({"a": 1, "b": "file"}))
        run = run_cli("package", "create", "p", "-p", "b", "cli", "--param-file", str(defaults),
                      "-a", "description", "demo", "--shared", "yes")
        assert (run.rc, run.out) == (0, "ok: created package p\n"), run.err
        run = run_cli("package", "update", "p", "--shared", "no")
        assert (run.rc, run.out) == (0, "ok: updated package p\n"), run.err
        run = run_cli("package", "create", "bare")
        create, update, bare = api
        assert create.url.raw_path == b"/api/v1/namespaces/guest/packages/p?overwrite=false"
        assert json.loads(create.content) == {
            "parameters": [{"key": "a", "value": 1}, {"key": "b", "value": "cli"}],
            "annotations": [{"key": "description", "value": "demo"}],
            "publish": True,
        }
        assert update.url.params["overwrite"] == "true"
        assert json.loads(update.content) == {"publish": False}
        assert json.loads(bare.content) == {}

    def test_bad_shared_value(self, api: list[httpx.Request], run_cli: Callable[..., Run]) -> None:
        run = run_cli("package", "create", "p", "--shared", "maybe")
        assert run.rc == 1 and "Cannot use value 'maybe' for shared" in run.err and api == []

    @pytest.mark.parametrize(
        ("target", "binding"),
        [
            ("utils", {"namespace": "guest", "name": "utils"}),
            ("/whisk.system/utils", {"namespace": "whisk.system", "name": "utils"}),
        ],
    )
    def test_bind_names_the_target_namespace(
        self, api: list[httpx.Request], run_cli: Callable[..., Run],
        target: str, binding: dict[str, str],
    ) -> None:
        run = run_cli("package", "bind", target, "mine", "-p", "sep", ";")
        assert (run.rc, run.out) == (0, "ok: created binding mine\n"), run.err
        (put,) = api
        assert put.method == "PUT"
        assert put.url.raw_path == b"/api/v1/namespaces/guest/packages/mine?overwrite=false"
        assert json.loads(put.content) == {
            "parameters": [{"key": "sep", "value": ";"}], "binding": binding
        }

    def test_bind_rejects_a_non_package(
        self, api: list[httpx.Request], run_cli: Callable[..., Run]
    ) -> None:
        run = run_cli("package", "bind", "pkg/action", "mine")
        assert run.rc == 1 and "not a package name" in run.err and api == []

    def test_delete_force_list_and_other_namespace(
        self, api: list[httpx.Request], run_cli: Callable[..., Run]
    ) -> None:
        assert run_cli("package", "delete", "p").out == "ok: deleted package p\n"
        assert run_cli("package", "delete", "p", "--force").rc == 0
        run = run_cli("package", "list")
        assert run.out.splitlines() == [
            "packages", "/guest/p  private", "/guest/b  private  binding /guest/p"
        ]
        assert run_cli("package", "list", "/whisk.system", "--limit", "5").rc == 0
        plain, forced, listed, other = api
        assert plain.url.raw_path == b"/api/v1/namespaces/guest/packages/p"
        assert forced.url.raw_path == b"/api/v1/namespaces/guest/packages/p?force=true"
        assert listed.url.raw_path == b"/api/v1/namespaces/guest/packages?skip=0"
        assert other.url.raw_path == b"/api/v1/namespaces/whisk.system/packages?skip=0&limit=5"


# ============================================================================================
# Against a real server


def test_package_lifecycle(squall: Callable[..., Run], tenant: Tenant) -> None:
    run = squall("package", "create", "tools", "-p", "greeting", "hi", "-a", "description", "mine")
    assert (run.rc, run.out.strip()) == (0, "ok: created package tools"), run.err
    doc = squall("package", "get", "tools").json()
    assert doc["namespace"] == tenant.namespace and doc["name"] == "tools"
    assert doc["version"] == "0.0.1" and doc["publish"] is False and doc["binding"] == {}
    assert params(doc) == {"greeting": "hi"}
    assert doc["actions"] == [] and doc["feeds"] == []

    run = squall("package", "create", "tools")
    assert run.rc == 1 and "resource already exists" in run.err

    run = squall("package", "update", "tools", "--shared", "yes")
    assert (run.rc, run.out.strip()) == (0, "ok: updated package tools"), run.err
    doc = squall("package", "get", "tools").json()
    assert doc["version"] == "0.0.2" and doc["publish"] is True
    assert params(doc) == {"greeting": "hi"}  # what the update did not mention stays

    listing = squall("package", "list")
    assert listing.rc == 0 and listing.out.splitlines() == [
        "packages", f"/{tenant.namespace}/tools  shared"
    ]

    run = squall("package", "delete", "tools")
    assert (run.rc, run.out.strip()) == (0, "ok: deleted package tools")
    assert squall("package", "get", "tools").rc == 1


def test_binding_merges_parameters(
    squall: Callable[..., Run], tenant: Tenant, tmp_path: Path
) -> None:
    echo = write_action(tmp_path, "echo", "return args")
    assert squall("package", "create", "base", "-p", "a", "A", "-p", "b", "B").rc == 0
    assert squall("action", "create", "base/echo", str(echo)).rc == 0
    run = squall("package", "bind", "base", "mine", "-p", "b", "b", "-p", "c", "C")
    assert (run.rc, run.out.strip()) == (0, "ok: created binding mine"), run.err

    doc = squall("package", "get", "mine").json()
    assert doc["binding"] == {"namespace": tenant.namespace, "name": "base"}
    assert params(doc) == {"a": "A", "b": "b", "c": "C"}  # the binding's own win
    assert [a["name"] for a in doc["actions"]] == ["echo"]

    run = squall("action", "invoke", "mine/echo", "-r", "-p", "c", "invoked")
    assert run.rc == 0, run.err
    assert run.json() == {"a": "A", "b": "b", "c": "invoked"}

    listing = squall("package", "list").out.splitlines()
    assert f"/{tenant.namespace}/mine  private  binding /{tenant.namespace}/base" in listing

    summary = squall("package", "get", "mine", "--summary")
    assert summary.rc == 0, summary.err
    assert summary.out.splitlines()[0] == f"package /{tenant.namespace}/mine"
    assert f" action /{tenant.namespace}/mine/echo" in summary.out.splitlines()

    run = squall("package", "bind", "nope", "other")
    assert run.rc == 1 and "Binding references a package that does not exist." in run.err
    assert squall("package", "delete", "mine").out.strip() == "ok: deleted package mine"


def test_delete_needs_force_when_not_empty(
    squall: Callable[..., Run], tenant: Tenant, tmp_path: Path
) -> None:
    echo = write_action(tmp_path, "echo", "return args")
    assert squall("package", "create", "full").rc == 0
    assert squall("action", "create", "full/echo", str(echo)).rc == 0
    run = squall("package", "delete", "full")
    assert run.rc == 1 and "Package not empty (contains 1 entity)" in run.err
    run = squall("package", "delete", "full", "--force")
    assert (run.rc, run.out.strip()) == (0, "ok: deleted package full"), run.err
    assert squall("action", "get", "full/echo").rc == 1


def test_shared_package_of_another_namespace(
    squall: Callable[..., Run], tenant: Tenant, server: Any, tmp_path: Path
) -> None:
    owner, owner_key = server.new_namespace()
    echo = write_action(tmp_path, "echo", "return args")
    as_owner = ("--auth", owner_key)
    assert squall("package", "create", "pub", "--shared", "yes", "-p", "x", "1", *as_owner).rc == 0
    assert squall("package", "create", "priv", *as_owner).rc == 0
    assert squall("action", "create", "pub/echo", str(echo), *as_owner).rc == 0

    # The tenant sees only the shared one, and can bind it by its full name.
    listing = squall("package", "list", owner)
    assert listing.rc == 0, listing.err
    assert listing.out.splitlines() == ["packages", f"/{owner}/pub  shared"]
    assert squall("package", "bind", f"/{owner}/pub", "theirs", "-p", "y", "2").rc == 0
    run = squall("action", "invoke", "theirs/echo", "-r")
    assert run.rc == 0 and run.json() == {"x": 1, "y": 2}, run.err
    run = squall("package", "bind", f"/{owner}/priv", "nope")
    assert run.rc == 1 and "not authorized" in run.err
