"""The public whisk.system/utils package, the runtime manifest clients discover, and the namespace
document: what an OpenWhisk user finds on a fresh Squall."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from conftest import assert_error, running

UTILS = "/api/v1/namespaces/whisk.system/actions/utils"


def run(c: httpx.Client, action: str, params: dict) -> httpx.Response:
    return c.post(f"{UTILS}/{action}", params={"blocking": "true", "result": "true"}, json=params)


@pytest.mark.parametrize("action, params, result", [
    ("echo", {"payload": "Five fuzzy felines", "n": 1}, {"payload": "Five fuzzy felines", "n": 1}),
    ("sort", {"lines": [10, 9, 1, "b", "A", "a"]}, {"lines": [1, 10, 9, "A", "a", "b"], "length": 6}),
    ("sort", {}, {"lines": [], "length": 0}),
    ("cat", {"lines": [4, 2, None, "x"]}, {"lines": [4, 2, None, "x"], "payload": "4\n2\n\nx"}),
    ("head", {"lines": [4, 2, 3], "num": 2}, {"lines": [4, 2], "num": 2}),
    ("head", {"lines": [4, 2, 3]}, {"lines": [4], "num": 1}),
    ("head", {"lines": [4, 2, 3], "num": -1}, {"lines": [4, 2], "num": -1}),
    ("split", {"payload": "one,two,three", "separator": ","},
     {"lines": ["one", "two", "three"], "payload": "one,two,three"}),
    ("split", {"payload": "a\r\nb\nc"}, {"lines": ["a", "b", "c"], "payload": "a\r\nb\nc"}),
    ("smash", {"a": 1, "b": {"c": 2}, "$fieldName": "p"}, {"p": {"a": 1, "b": {"c": 2}}}),
])
def test_utils_behave_as_openwhisks(client, action, params, result):
    r = run(client, action, params)
    assert r.status_code == 200, r.text
    assert r.json() == result


def test_utils_failures_and_the_rest(client, ns):
    r = run(client, "smash", {"a": 1})
    assert r.status_code == 502 and r.json() == {"error": "Expected an argument '$fieldName' of type 'string'."}
    r = client.post(f"{UTILS}/split?blocking=true", json={})
    assert r.status_code == 502 and "error" in r.json()["response"]["result"]  # no payload: it throws
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", run(client, "date", {}).json()["date"])
    assert run(client, "namespace", {}).json() == {"namespace": ns[0]}  # the caller's, not whisk.system
    package = client.get("/api/v1/namespaces/whisk.system/packages/utils").json()
    assert package["publish"] is True
    assert {"key": "description", "value": "Building blocks that format and assemble data"} in package["annotations"]
    assert sorted(a["name"] for a in package["actions"]) == [
        "cat", "date", "echo", "head", "namespace", "smash", "sort", "split"]
    sort = next(a for a in package["actions"] if a["name"] == "sort")
    notes = {a["key"]: a["value"] for a in sort["annotations"]}
    assert notes["description"] == "Sorts an array" and notes["sampleOutput"] == {"lines": [2, 3, 4], "length": 3}
    assert_error(client.put(f"{UTILS}/mine", json={"exec": {"kind": "python:3", "code": "x"}}), 403,
                 "The supplied authentication is not authorized to access 'whisk.system/utils/mine'.")


def test_system_packages_are_seeded_and_kept_current(tmp_path: Path):
    home = tmp_path / "home"
    with running(home) as srv:
        with srv.admin() as admin:
            echo = admin.get(f"{UTILS}/echo").json()
            assert echo["version"] == "0.0.1" and echo["publish"] is True
            r = admin.put(f"{UTILS}/echo?overwrite=true",
                          json={"exec": {"kind": "python:3", "code": "def main(a):\n    return {'old': 1}\n"}})
            assert r.status_code == 200 and r.json()["version"] == "0.0.2"
            admin.delete(f"{UTILS}/sort")
    with running(home) as srv:  # the next start puts back what this release ships
        with srv.admin() as admin:
            echo = admin.get(f"{UTILS}/echo").json()
            assert echo["version"] == "0.0.3" and "return args" in echo["exec"]["code"]
            assert admin.get(f"{UTILS}/sort").status_code == 200
            assert admin.post(f"{UTILS}/echo?blocking=true&result=true", json={"k": "v"}).json() == {"k": "v"}
    with running(home) as srv:  # and leaves alone what is current
        with srv.admin() as admin:
            assert admin.get(f"{UTILS}/echo").json()["version"] == "0.0.3"


def test_kinds_defaults_and_the_runtime_manifest(server, client, anonymous):
    r = client.put("/api/v1/namespaces/_/actions/k", json={"exec": {"kind": "python:default", "code": "x=1"}})
    assert r.status_code == 200 and r.json()["exec"]["kind"] == "python:3"
    assert {"key": "exec", "value": "python:3"} in r.json()["annotations"]
    assert_error(client.put("/api/v1/namespaces/_/actions/k2", json={"exec": {"kind": "python:2", "code": "x"}}),
                 400, "The 'python:2' runtime is no longer supported. You may read and delete but not update "
                      "or invoke this action.")
    r = client.put("/api/v1/namespaces/_/actions/k3", json={"exec": {"kind": "cobol:default", "code": "x"}})
    assert r.status_code == 400 and "kind 'cobol:default' not in" in r.json()["error"]
    for path in ("/api/v1", "/"):
        runtimes = anonymous.get(path).json()["runtimes"]
        python = {k["kind"]: k for k in runtimes["python"]}
        assert python["python:3"]["default"] is True and python["python:3"]["deprecated"] is False
        assert python["python:2"]["deprecated"] is True
        assert set(python["python:3"]) == {"kind", "image", "deprecated", "default", "attached", "requireMain"}
    assert anonymous.get("/").json()["limits"]["sequence_length"] == 50


def test_the_namespace_document(server, client, ns):
    name, _ = ns
    client.put("/api/v1/namespaces/_/packages/p", json={})
    client.put("/api/v1/namespaces/_/actions/a", json={"exec": {"kind": "python:3", "code": "x=1"}})
    client.put("/api/v1/namespaces/_/actions/p/b", json={"exec": {"kind": "python:3", "code": "x=1"}})
    for path in ("/api/v1/namespaces/_", f"/api/v1/namespaces/{name}"):
        doc = client.get(path).json()
        assert set(doc) == {"actions", "packages", "triggers", "rules"}
        assert sorted((a["namespace"], a["name"]) for a in doc["actions"]) == [(name, "a"), (f"{name}/p", "b")]
        assert [(p["name"], p["binding"]) for p in doc["packages"]] == [("p", False)]
        assert all("code" not in a["exec"] for a in doc["actions"])
    assert_error(client.get("/api/v1/namespaces/whisk.system"), 403,
                 "The supplied authentication is not authorized to access 'whisk.system'.")
