"""Packages and bindings over the REST API, as OpenWhisk answers: documents, codes and texts,
what other namespaces may see, and how parameters merge (package < binding < action < invocation)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import assert_error, deploy, invoke, wait_ok

NOT_FOUND = "The requested resource does not exist."
ECHO = "def main(args):\n    return args\n"


def pkg_path(name: str, ns: str = "_") -> str:
    return f"/api/v1/namespaces/{ns}/packages/{name}"


def put_package(c: httpx.Client, name: str, body: dict[str, Any] | None = None, ns: str = "_",
                **query: str) -> httpx.Response:
    return c.put(pkg_path(name, ns), params=query, json=body or {})


def kv(**values: Any) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in values.items()]


def test_package_crud_documents_and_versions(client, ns):
    name, _ = ns
    r = put_package(client, "p", {"parameters": kv(a=1), "annotations": kv(note="x")})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert {k: doc[k] for k in ("namespace", "name", "version", "publish", "binding", "parameters",
                                "annotations")} == {
        "namespace": name, "name": "p", "version": "0.0.1", "publish": False, "binding": {},
        "parameters": kv(a=1), "annotations": kv(note="x")}
    assert isinstance(doc["updated"], int)
    assert_error(put_package(client, "p"), 409, "resource already exists")
    r = put_package(client, "p", {"publish": True}, overwrite="true")
    assert r.status_code == 200 and r.json()["version"] == "0.0.2" and r.json()["publish"] is True
    assert r.json()["parameters"] == kv(a=1)  # what the update does not give, it keeps
    r = put_package(client, "p", {"parameters": kv(b=2)}, overwrite="true")
    assert r.json()["parameters"] == kv(b=2)  # what it gives replaces the old wholesale
    deploy(client, "p/a", ECHO)
    got = client.get(pkg_path("p")).json()
    assert [a["name"] for a in got["actions"]] == ["a"] and got["feeds"] == []
    assert set(got["actions"][0]) == {"name", "version", "annotations"}
    listed = client.get(f"/api/v1/namespaces/_/packages").json()
    assert [(p["name"], p["binding"]) for p in listed] == [("p", False)] and "parameters" not in listed[0]
    assert client.get("/api/v1/namespaces/_/packages?count=true").json() == {"packages": 1}


def test_package_name_default_is_reserved_and_names_are_checked(client):
    assert_error(put_package(client, "default"), 400, "Package name 'default' is reserved.")
    assert_error(put_package(client, "default", overwrite="true"), 400, "Package name 'default' is reserved.")
    assert_error(put_package(client, "bad%2Fname"), 404, NOT_FOUND)
    assert_error(put_package(client, " lead"), 400, "The name of the entity contains illegal characters.")
    assert_error(client.get(pkg_path("nothing")), 404, NOT_FOUND)
    assert_error(client.delete(pkg_path("nothing")), 404, NOT_FOUND)


def test_one_name_space_for_actions_and_packages(client):
    deploy(client, "thing", ECHO)
    in_other = "Resource by this name exists but is not in this collection."
    assert_error(put_package(client, "thing"), 409, in_other)
    assert_error(client.get(pkg_path("thing")), 409, in_other)
    assert put_package(client, "box").status_code == 200
    r = client.put("/api/v1/namespaces/_/actions/box", json={"exec": {"kind": "python:3", "code": ECHO}})
    assert_error(r, 409, in_other)
    assert_error(client.get("/api/v1/namespaces/_/actions/box"), 409, in_other)


def test_actions_in_a_package(client, ns):
    name, _ = ns
    r = client.put("/api/v1/namespaces/_/actions/nopkg/a", json={"exec": {"kind": "python:3", "code": ECHO}})
    assert_error(r, 404, NOT_FOUND)
    put_package(client, "p")
    r = deploy(client, "p/a", ECHO)
    assert r.json()["namespace"] == f"{name}/p" and r.json()["name"] == "a"
    deploy(client, "top", ECHO)
    assert client.get("/api/v1/namespaces/_/actions/p/a").json()["namespace"] == f"{name}/p"
    listed = client.get("/api/v1/namespaces/_/actions").json()
    assert sorted((a["namespace"], a["name"]) for a in listed) == [(name, "top"), (f"{name}/p", "a")]
    assert [a["name"] for a in client.get("/api/v1/namespaces/_/actions/p/").json()] == ["a"]
    assert client.get("/api/v1/namespaces/_/actions?count=true").json() == {"actions": 2}
    r = invoke(client, "p/a", {"x": 1}, blocking="true", result="true")
    assert r.status_code == 200 and r.json() == {"x": 1}
    listed = client.get("/api/v1/namespaces/_/activations", params={"name": "p/a"}).json()
    assert len(listed) == 1
    record = client.get(f"/api/v1/namespaces/_/activations/{listed[0]['activationId']}").json()
    paths = {a["key"]: a["value"] for a in record["annotations"]}
    assert record["name"] == "a" and record["namespace"] == name and paths["path"] == f"{name}/p/a"
    assert "binding" not in paths
    assert client.delete("/api/v1/namespaces/_/actions/p/a").json()["namespace"] == f"{name}/p"
    assert_error(client.get("/api/v1/namespaces/_/actions/p/a"), 404, NOT_FOUND)


def test_delete_of_a_package_with_actions_needs_force(client):
    put_package(client, "full")
    deploy(client, "full/one", ECHO)
    deploy(client, "full/two", ECHO)
    assert_error(client.delete(pkg_path("full")), 409,
                 "Package not empty (contains 2 entities). Set force param or delete package contents.")
    client.delete("/api/v1/namespaces/_/actions/full/two")
    assert_error(client.delete(pkg_path("full")), 409,
                 "Package not empty (contains 1 entity). Set force param or delete package contents.")
    r = client.delete(pkg_path("full"), params={"force": "true"})
    assert r.status_code == 200 and r.json()["name"] == "full"
    assert_error(client.get("/api/v1/namespaces/_/actions/full/one"), 404, NOT_FOUND)
    put_package(client, "full")  # the name is free again, with nothing inside
    assert client.get(pkg_path("full")).json()["actions"] == []


def test_binding_rules_and_texts(server, client, ns):
    name, _ = ns
    deploy(client, "act", ECHO)
    put_package(client, "p")
    cases = [
        ({"namespace": name, "name": "missing"}, 400, "Binding references a package that does not exist."),
        ({"namespace": name, "name": "act"}, 409, "Cannot bind to a resource that is not a package."),
        ({"namespace": "whisk.system", "name": "nothing"}, 403,
         "The supplied authentication is not authorized to access 'whisk.system/nothing'."),
    ]
    for binding, status, text in cases:
        assert_error(put_package(client, "b", {"binding": binding}), status, text)
    r = put_package(client, "b", {"binding": {"namespace": "_", "name": "p"}})
    assert r.status_code == 200, r.text
    assert r.json()["binding"] == {"namespace": name, "name": "p"}
    assert {"key": "binding", "value": {"namespace": name, "name": "p"}} in r.json()["annotations"]
    assert_error(put_package(client, "bb", {"binding": {"namespace": name, "name": "b"}}), 400,
                 "Cannot bind to another package binding.")
    put_package(client, "q")
    assert_error(put_package(client, "p", {"binding": {"namespace": name, "name": "q"}}, overwrite="true"),
                 409, "Resource is a package and cannot be converted into a binding.")
    r = put_package(client, "b", {"binding": {"namespace": name, "name": "q"}}, overwrite="true")
    assert r.status_code == 200 and r.json()["binding"] == {"namespace": name, "name": "q"}  # re-targeted
    put_package(client, "b", {"binding": {"namespace": name, "name": "p"}}, overwrite="true")
    r = put_package(client, "b", {"binding": {}, "publish": False}, overwrite="true")
    assert r.json()["binding"] == {"namespace": name, "name": "p"}  # an empty binding changes nothing
    r = client.put("/api/v1/namespaces/_/actions/b/x", json={"exec": {"kind": "python:3", "code": ECHO}})
    assert_error(r, 400, "Operation not permitted on package binding.")
    other, other_auth = server.new_namespace()
    with server.client(other_auth) as o:
        put_package(o, "private")
        assert_error(put_package(client, "b2", {"binding": {"namespace": other, "name": "private"}}), 403,
                     f"The supplied authentication is not authorized to access '{other}/private'.")
    listed = {p["name"]: p["binding"] for p in client.get("/api/v1/namespaces/_/packages").json()}
    assert listed == {"p": False, "q": False, "b": {"namespace": name, "name": "p"}}


def test_parameters_merge_package_binding_action_invocation(client, ns):
    name, _ = ns
    put_package(client, "p", {"parameters": kv(a="package", b="package", c="package", d="package")})
    deploy(client, "p/echo", ECHO, parameters=kv(c="action", d="action"))
    put_package(client, "bind", {"binding": {"namespace": name, "name": "p"},
                                 "parameters": kv(b="binding", c="binding", d="binding")})
    r = invoke(client, "bind/echo", {"d": "invocation"}, blocking="true", result="true")
    assert r.json() == {"a": "package", "b": "binding", "c": "action", "d": "invocation"}
    r = invoke(client, "p/echo", {}, blocking="true", result="true")
    assert r.json() == {"a": "package", "b": "package", "c": "action", "d": "action"}
    got = client.get("/api/v1/namespaces/_/actions/bind/echo").json()
    assert got["namespace"] == f"{name}/p"  # the real package, not the binding
    assert {p["key"]: p["value"] for p in got["parameters"]} == {"a": "package", "b": "binding", "c": "action",
                                                                 "d": "action"}
    doc = client.get(pkg_path("bind")).json()
    assert doc["binding"] == {"namespace": name, "name": "p"} and [a["name"] for a in doc["actions"]] == ["echo"]
    assert {p["key"]: p["value"] for p in doc["parameters"]} == {"a": "package", "b": "binding", "c": "binding",
                                                                "d": "binding"}
    assert [a["name"] for a in client.get("/api/v1/namespaces/_/actions/bind/").json()] == ["echo"]
    aid = invoke(client, "bind/echo", {}, blocking="true").json()["activationId"]
    record = client.get(f"/api/v1/namespaces/_/activations/{aid}").json()
    notes = {a["key"]: a["value"] for a in record["annotations"]}
    assert notes["path"] == f"{name}/p/echo" and notes["binding"] == f"{name}/bind"
    by_binding = client.get("/api/v1/namespaces/_/activations", params={"name": "bind/echo"}).json()
    assert aid in [a["activationId"] for a in by_binding]


def test_final_parameters_cannot_be_overridden(client, ns):
    name, _ = ns
    text = "Request defines parameters that are not allowed (e.g., reserved properties)."
    put_package(client, "p", {"parameters": kv(fromPackage="p")})
    deploy(client, "p/locked", ECHO, parameters=kv(fixed="f", open=None),
           annotations=[{"key": "final", "value": True}])
    for params in ({"fixed": "x"}, {"fromPackage": "x"}):
        assert_error(invoke(client, "p/locked", params, blocking="true"), 400, text)
    r = invoke(client, "p/locked", {"open": "given", "other": 1}, blocking="true", result="true")
    assert r.status_code == 200 and r.json() == {"fromPackage": "p", "fixed": "f", "open": "given", "other": 1}
    put_package(client, "b", {"binding": {"namespace": name, "name": "p"}, "parameters": kv(fromBinding="b")})
    assert_error(invoke(client, "b/locked", {"fromBinding": "x"}, blocking="true"), 400, text)
    deploy(client, "p/loose", ECHO, parameters=kv(fixed="f"), annotations=[{"key": "final", "value": "true"}])
    r = invoke(client, "p/loose", {"fixed": "x"}, blocking="true", result="true")
    assert r.json()["fixed"] == "x"  # only the boolean true makes parameters final, as in OpenWhisk
    put_package(client, "sealed", {"parameters": kv(key="k"), "annotations": [{"key": "final", "value": True}]})
    deploy(client, "sealed/a", ECHO)
    assert_error(invoke(client, "sealed/a", {"key": "x"}, blocking="true"), 400, text)


def test_published_packages_are_shared_and_nothing_else(server, client, ns):
    owner, owner_auth = ns
    put_package(client, "public", {"publish": True, "parameters": kv(origin="public")})
    put_package(client, "private")
    deploy(client, "public/echo", ECHO)
    deploy(client, "private/echo", ECHO)
    deploy(client, "loose", ECHO)
    put_package(client, "bind", {"binding": {"namespace": owner, "name": "public"}})
    guest, guest_auth = server.new_namespace()
    denied = "The supplied authentication is not authorized to access '{}'."
    with server.client(guest_auth) as g:
        base = f"/api/v1/namespaces/{owner}"
        assert [p["name"] for p in g.get(f"{base}/packages").json()] == ["public"]
        assert g.get(f"{base}/packages/public").status_code == 200
        assert [a["name"] for a in g.get(f"{base}/actions/public/").json()] == ["echo"]
        assert g.get(f"{base}/actions/public/echo").status_code == 200
        r = g.post(f"{base}/actions/public/echo?blocking=true&result=true", json={"who": "guest"})
        assert r.status_code == 200 and r.json() == {"origin": "public", "who": "guest"}
        aid = r.headers["x-openwhisk-activation-id"]
        record = wait_ok(lambda: g.get(f"/api/v1/namespaces/_/activations/{aid}")).json()
        assert record["namespace"] == guest and record["subject"] == guest  # the caller's record
        with server.client(owner_auth) as o:
            assert_error(o.get(f"/api/v1/namespaces/_/activations/{aid}"), 404, NOT_FOUND)
        for method, path, resource in [
            ("GET", f"{base}/packages/private", f"{owner}/private"),
            ("GET", f"{base}/actions/private/echo", f"{owner}/private"),
            ("POST", f"{base}/actions/private/echo", f"{owner}/private"),
            ("GET", f"{base}/actions/private/", f"{owner}/private"),
            ("GET", f"{base}/packages/bind", f"{owner}/bind"),
            ("POST", f"{base}/actions/bind/echo", f"{owner}/bind"),
            ("PUT", f"{base}/packages/public", f"{owner}/public"),
            ("DELETE", f"{base}/packages/public", f"{owner}/public"),
            ("PUT", f"{base}/actions/public/echo", f"{owner}/public/echo"),
            ("DELETE", f"{base}/actions/public/echo", f"{owner}/public/echo"),
            ("GET", f"{base}/packages/nothing", f"{owner}/nothing"),
            ("GET", f"{base}/actions/loose", owner),
            ("POST", f"{base}/actions/loose", owner),
        ]:
            body = {"exec": {"kind": "python:3", "code": ECHO}} if method == "PUT" else None
            assert_error(g.request(method, path, json=body), 403, denied.format(resource))
        # a binding of one's own to the shared package works, with its parameters over the package's
        r = put_package(g, "mine", {"binding": {"namespace": owner, "name": "public"},
                                    "parameters": kv(origin="binding")})
        assert r.status_code == 200, r.text
        r = invoke(g, "mine/echo", {}, blocking="true", result="true")
        assert r.status_code == 200 and r.json() == {"origin": "binding"}
        # unpublished again: the binding no longer reaches it
        r = put_package(client, "public", {"publish": False}, overwrite="true")
        assert r.status_code == 200
        assert_error(invoke(g, "mine/echo", {}, blocking="true"), 403, denied.format(f"{owner}/public"))
        assert g.get(f"{base}/packages").json() == []


@pytest.mark.parametrize("path", ["/api/v1/namespaces/_/packages/p/x", "/api/v1/namespaces/_/actions/a/b/c"])
def test_no_deeper_paths(client, path):
    assert_error(client.get(path), 404, NOT_FOUND)
