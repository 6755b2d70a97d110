"""The OpenWhisk REST API contract as a user of the API sees it (/work/shared/reference/openwhisk-contract.md).

Every test runs against the session's real `squall up` (tests/conftest.py) in a namespace of its own,
so throttles, entities and activations never collide. Status codes and message texts are exact.
"""

from __future__ import annotations

import base64
import io
import json
import re
import time
import zipfile

import httpx
import pytest

from conftest import HELLO, action_path, annotations, assert_error, deploy, invoke
from conftest import wait_ok as wait_for

ACTIVATION_ID = re.compile(r"[0-9a-f]{32}")
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z (stdout|stderr): .*")
MALFORMED = "The request content was malformed:\n"
NOT_FOUND = "The requested resource does not exist."
NAME_ILLEGAL = "The name of the entity contains illegal characters."
DEFAULT_LIMITS = {"timeout": 60000, "memory": 256, "logs": 10, "concurrency": 1}
MB = 1024 * 1024

SLEEPY = '''
import time
def main(args):
    time.sleep(args.get("sleep", 2))
    return {"slept": args.get("sleep", 2)}
'''


# --- GET /api/v1 and authentication -----------------------------------------------------------------


def test_api_info_needs_no_auth(anonymous):
    r = anonymous.get("/api/v1")
    assert r.status_code == 200
    body = r.json()
    assert body["api_version"] == "1.0.0"
    assert body["api_version_path"] == "v1"
    for key in ("description", "build", "buildno"):
        assert isinstance(body[key], str) and body[key]


def test_missing_auth_is_401_with_challenge(anonymous):
    for path in ("/api/v1/namespaces", "/api/v1/namespaces/_/actions", "/api/v1/namespaces/_/activations"):
        r = anonymous.get(path)
        assert_error(r, 401, "The resource requires authentication, which was not supplied with the request.")
        assert re.fullmatch(r'Basic realm=".+"', r.headers["www-authenticate"])


def test_wrong_key_is_401(server, ns):
    user, _, key = ns[1].partition(":")
    wrong = user + ":" + ("x" * 64 if key != "x" * 64 else "y" * 64)
    for auth in (wrong, "00000000-0000-0000-0000-000000000000:" + key):
        with server.client(auth) as c:
            r = c.get("/api/v1/namespaces/_/actions")
            assert_error(r, 401, "The supplied authentication is invalid.")
            assert r.headers["www-authenticate"].startswith("Basic realm=")


def test_underscore_is_own_namespace_and_namespaces_lists_only_caller(server, ns, client):
    name, _ = ns
    deploy(client, "mine")
    by_underscore = client.get("/api/v1/namespaces/_/actions/mine")
    by_name = client.get(f"/api/v1/namespaces/{name}/actions/mine")
    assert by_underscore.status_code == by_name.status_code == 200
    assert by_underscore.json()["namespace"] == by_name.json()["namespace"] == name
    r = client.get("/api/v1/namespaces")
    assert r.status_code == 200
    assert r.json() == [name]


def test_other_namespace_is_403(server, ns, client):
    other, _ = server.new_namespace()
    r = client.get(f"/api/v1/namespaces/{other}/actions")
    assert_error(r, 403, f"The supplied authentication is not authorized to access '{other}'.")
    r = client.get("/api/v1/namespaces/guest/actions")
    assert_error(r, 403, "The supplied authentication is not authorized to access 'guest'.")


def test_admin_reads_other_namespace(server, ns, client):
    name, _ = ns
    deploy(client, "secret")
    r = invoke(client, "secret", {"name": "adm"}, blocking=True)
    assert r.status_code == 200, r.text
    aid = r.json()["activationId"]
    with server.admin() as admin:
        r = admin.get(f"/api/v1/namespaces/{name}/actions/secret")
        assert r.status_code == 200
        assert r.json()["namespace"] == name and r.json()["exec"]["code"] == HELLO
        r = admin.get(f"/api/v1/namespaces/{name}/actions")
        assert [a["name"] for a in r.json()] == ["secret"]
        r = admin.get(f"/api/v1/namespaces/{name}/activations/{aid}")
        assert r.status_code == 200
        assert r.json()["response"]["result"] == {"greeting": "Hello adm"}
        r = admin.get(f"/api/v1/namespaces/{name}/activations")
        assert [a["activationId"] for a in r.json()] == [aid]
        assert name in admin.get("/api/v1/namespaces").json()
        assert_error(admin.get("/api/v1/namespaces/ns_no_such_namespace/actions"), 404, NOT_FOUND)


# --- namespace isolation ----------------------------------------------------------------------------


def test_namespace_isolation(server):
    victim, victim_auth = server.new_namespace()
    _, intruder_auth = server.new_namespace()
    with server.client(victim_auth) as v:
        deploy(v, "private", 'def main(args):\n    print("TOPSECRET-LOG")\n    return {"s": "TOPSECRET"}\n',
               parameters=[{"key": "pw", "value": "TOPSECRET-PARAM"}])
        r = invoke(v, "private", blocking=True)
        assert r.status_code == 200, r.text
        aid = r.json()["activationId"]
    denied = f"The supplied authentication is not authorized to access '{victim}'."
    base = f"/api/v1/namespaces/{victim}"
    with server.client(intruder_auth) as c:
        for method, path in [
            ("GET", f"{base}/actions/private"),
            ("GET", f"{base}/actions/private?code=false"),
            ("GET", f"{base}/actions"),
            ("GET", f"{base}/activations"),
            ("GET", f"{base}/activations?docs=true"),
            ("GET", f"{base}/activations?count=true"),
            ("GET", f"{base}/activations/{aid}"),
            ("GET", f"{base}/activations/{aid}/result"),
            ("GET", f"{base}/activations/{aid}/logs"),
            ("GET", f"{base}/limits"),
            ("POST", f"{base}/actions/private?blocking=true"),
            ("PUT", f"{base}/actions/private?overwrite=true"),
            ("DELETE", f"{base}/actions/private"),
        ]:
            body = {"exec": {"kind": "python:3", "code": HELLO}} if method == "PUT" else None
            r = c.request(method, path, json=body)
            assert_error(r, 403, denied)
            assert "TOPSECRET" not in r.text and "x-openwhisk-activation-id" not in r.headers
        # the own namespace does not resolve the victim's entities either
        assert_error(c.get(f"/api/v1/namespaces/_/activations/{aid}"), 404, NOT_FOUND)
        assert_error(c.get(f"/api/v1/namespaces/_/activations/{aid}/result"), 404, NOT_FOUND)
        assert_error(c.get(f"/api/v1/namespaces/_/activations/{aid}/logs"), 404, NOT_FOUND)
        assert_error(c.get("/api/v1/namespaces/_/actions/private"), 404, NOT_FOUND)
        assert c.get("/api/v1/namespaces/_/actions").json() == []
        assert c.get("/api/v1/namespaces/_/activations").json() == []
    with server.client(victim_auth) as v:  # nothing the intruder tried changed anything
        r = v.get("/api/v1/namespaces/_/actions/private")
        assert r.status_code == 200 and r.json()["version"] == "0.0.1"
        assert v.get("/api/v1/namespaces/_/activations?count=true").json() == {"activations": 1}


# --- actions ----------------------------------------------------------------------------------------


def test_create_action_document(ns, client):
    name, _ = ns
    r = deploy(client, "hello")
    doc = r.json()
    assert doc["namespace"] == name and doc["name"] == "hello"
    assert doc["version"] == "0.0.1"
    assert doc["publish"] is False
    assert doc["exec"] == {"kind": "python:3", "code": HELLO, "binary": False, "main": "main"}
    assert doc["limits"] == DEFAULT_LIMITS
    assert doc["parameters"] == []
    assert {"key": "exec", "value": "python:3"} in doc["annotations"]
    assert isinstance(doc["updated"], int) and doc["updated"] > 1_600_000_000_000
    r = client.get(action_path("hello"))
    assert r.status_code == 200 and r.json() == doc


def test_put_existing_needs_overwrite(client):
    deploy(client, "a1")
    r = client.put(action_path("a1"), json={"exec": {"kind": "python:3", "code": HELLO}})
    assert_error(r, 409, "resource already exists")
    r = client.put(action_path("a1") + "?overwrite=false", json={"exec": {"kind": "python:3", "code": HELLO}})
    assert_error(r, 409, "resource already exists")
    code2 = HELLO.replace("Hello", "Howdy")
    r = client.put(action_path("a1") + "?overwrite=true", json={"exec": {"kind": "python:3", "code": code2}})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == "0.0.2" and r.json()["exec"]["code"] == code2
    # the next invoke runs the new code
    r = invoke(client, "a1", {"name": "you"}, blocking=True)
    assert r.status_code == 200, r.text
    assert r.json()["response"]["result"] == {"greeting": "Howdy you"} and r.json()["version"] == "0.0.2"
    r = client.put(action_path("a1") + "?overwrite=true", json={"limits": {"memory": 128}})
    assert r.json()["version"] == "0.0.3"
    assert client.get(action_path("a1")).json()["version"] == "0.0.3"


def test_update_merges(client):
    deploy(client, "m", parameters=[{"key": "name", "value": "param"}], limits={"timeout": 5000},
           annotations=[{"key": "note", "value": "kept"}])
    # update without exec keeps the code, parameters, annotations
    r = client.put(action_path("m") + "?overwrite=true", json={"limits": {"memory": 128}})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["exec"]["code"] == HELLO and doc["exec"]["kind"] == "python:3"
    assert doc["parameters"] == [{"key": "name", "value": "param"}]
    assert doc["limits"] == {**DEFAULT_LIMITS, "timeout": 5000, "memory": 128}
    assert {"key": "note", "value": "kept"} in doc["annotations"]
    assert {"key": "exec", "value": "python:3"} in doc["annotations"]
    # update with only parameters keeps the limits
    r = client.put(action_path("m") + "?overwrite=true", json={"parameters": [{"key": "x", "value": 1}]})
    assert r.json()["parameters"] == [{"key": "x", "value": 1}]
    assert r.json()["limits"] == {**DEFAULT_LIMITS, "timeout": 5000, "memory": 128}
    assert r.json()["exec"]["code"] == HELLO
    # a new action without exec is malformed
    r = client.put(action_path("noexec"), json={"limits": {"memory": 128}})
    assert_error(r, 400, MALFORMED + "exec undefined")


def test_get_code_false_and_missing(client):
    deploy(client, "c")
    r = client.get(action_path("c") + "?code=false")
    assert r.status_code == 200
    assert "code" not in r.json()["exec"]
    assert r.json()["exec"]["kind"] == "python:3"
    assert client.get(action_path("c") + "?code=true").json()["exec"]["code"] == HELLO
    assert_error(client.get(action_path("nope")), 404, NOT_FOUND)
    assert_error(client.delete(action_path("nope")), 404, NOT_FOUND)


def test_delete_returns_doc(client):
    created = deploy(client, "d").json()
    r = client.delete(action_path("d"))
    assert r.status_code == 200
    assert r.json() == created
    assert_error(client.get(action_path("d")), 404, NOT_FOUND)
    assert_error(client.delete(action_path("d")), 404, NOT_FOUND)
    assert_error(invoke(client, "d"), 404, NOT_FOUND)
    # the name is free again
    assert deploy(client, "d").json()["version"] == "0.0.1"


def test_list_actions(client):
    assert client.get("/api/v1/namespaces/_/actions").json() == []
    names = [f"l{i}" for i in range(5)]
    for n in names:
        deploy(client, n)
        time.sleep(0.002)  # distinct `updated` stamps: newest first
    r = client.get("/api/v1/namespaces/_/actions")
    assert r.status_code == 200
    listed = r.json()
    assert [a["name"] for a in listed] == names[::-1]
    assert all("code" not in a["exec"] for a in listed)
    assert [a["name"] for a in client.get("/api/v1/namespaces/_/actions?limit=2").json()] == ["l4", "l3"]
    assert [a["name"] for a in client.get("/api/v1/namespaces/_/actions?limit=2&skip=2").json()] == ["l2", "l1"]
    assert [a["name"] for a in client.get("/api/v1/namespaces/_/actions?skip=4").json()] == ["l0"]
    assert client.get("/api/v1/namespaces/_/actions?skip=5").json() == []
    assert len(client.get("/api/v1/namespaces/_/actions?limit=0").json()) == 5
    assert len(client.get("/api/v1/namespaces/_/actions?limit=200").json()) == 5
    assert_error(client.get("/api/v1/namespaces/_/actions?limit=201"), 400,
                 "The value '201' is not in the range of 0 to 200 for actions.")
    assert_error(client.get("/api/v1/namespaces/_/actions?limit=-1"), 400,
                 "The value '-1' is not in the range of 0 to 200 for actions.")
    assert_error(client.get("/api/v1/namespaces/_/actions?skip=-1"), 400,
                 "The value '-1' is not greater than or equal to 0 for actions.")
    assert_error(client.get("/api/v1/namespaces/_/actions?limit=ten"), 400,
                 "The value 'ten' is not an integer for actions.")


def test_custom_main_and_parameters(client):
    code = 'def greet(args):\n    return {"args": args}\n'
    r = deploy(client, "p", code, parameters=[{"key": "a", "value": "default"}, {"key": "b", "value": 2}])
    r = client.put(action_path("p") + "?overwrite=true",
                   json={"exec": {"kind": "python:3", "code": code, "main": "greet"}})
    assert r.json()["exec"]["main"] == "greet"
    assert r.json()["parameters"] == [{"key": "a", "value": "default"}, {"key": "b", "value": 2}]
    r = invoke(client, "p", {"a": "invoked", "c": [1]}, blocking=True, result=True)
    assert r.status_code == 200, r.text
    assert r.json() == {"args": {"a": "invoked", "b": 2, "c": [1]}}
    r = invoke(client, "p", blocking=True, result=True)
    assert r.json() == {"args": {"a": "default", "b": 2}}


def test_binary_zip_action(client):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("__main__.py", "from helper import shout\ndef main(args):\n"
                                  "    return {\"out\": shout(args.get(\"w\", \"zip\"))}\n")
        z.writestr("helper.py", "def shout(s):\n    return s.upper() + '!'\n")
    code = base64.b64encode(buf.getvalue()).decode()
    r = client.put(action_path("zipped"), json={"exec": {"kind": "python:3", "code": code, "binary": True}})
    assert r.status_code == 200, r.text
    assert r.json()["exec"]["binary"] is True
    r = invoke(client, "zipped", {"w": "hey"}, blocking=True, result=True)
    assert r.status_code == 200, r.text
    assert r.json() == {"out": "HEY!"}


def test_bad_exec(client):
    r = client.put(action_path("k"), json={"exec": {"kind": "cobol:85", "code": HELLO}})
    assert_error(r, 400, MALFORMED + "kind 'cobol:85' not in Set(java:17, nodejs:18, python:3, python:3.11)")
    r = client.put(action_path("k"), json={"exec": {"kind": "python:3", "code": "!!not base64!!",
                                                    "binary": True}})
    assert_error(r, 400, MALFORMED + "exec.code is not valid base64 for a binary action")
    r = client.put(action_path("k"), content=b"{not json", headers={"content-type": "application/json"})
    assert_error(r, 400, MALFORMED + "the body is not valid JSON")
    assert_error(client.get(action_path("k")), 404, NOT_FOUND)
    # `python` is an alias of the default python kind
    r = client.put(action_path("k"), json={"exec": {"kind": "python", "code": HELLO}})
    assert r.status_code == 200 and r.json()["exec"]["kind"] == "python:3"


# --- names ------------------------------------------------------------------------------------------

GOOD_NAMES = ["a", "A1", "_x", "9", "a-b", "a b", "a@b", "a.b", "a&b", "a_b-c.d@e&f g", "a-", "a.", "a" * 256]
BAD_NAMES = ["-a", "a ", " a", "@a", ".a", "&a", "ä", "aä", "a%", "a%20b", "a+b", "a:b", "a#b", "a?b", "a\tb",
             "a" * 257]


@pytest.mark.parametrize("name", GOOD_NAMES, ids=lambda n: n if len(n) < 20 else f"len{len(n)}")
def test_good_names(client, name):
    r = client.put(action_path(name), json={"exec": {"kind": "python:3", "code": HELLO}})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == name
    r = client.get(action_path(name) + "?code=false")
    assert r.status_code == 200 and r.json()["name"] == name
    assert [a["name"] for a in client.get("/api/v1/namespaces/_/actions").json()] == [name]
    assert client.delete(action_path(name)).status_code == 200


@pytest.mark.parametrize("name", BAD_NAMES, ids=lambda n: repr(n) if len(n) < 20 else f"len{len(n)}")
def test_bad_names(client, name):
    for method in ("PUT", "GET", "POST", "DELETE"):
        body = {"exec": {"kind": "python:3", "code": HELLO}} if method == "PUT" else {}
        r = client.request(method, action_path(name), json=body)
        assert_error(r, 400, NAME_ILLEGAL)
    assert client.get("/api/v1/namespaces/_/actions").json() == []


def test_slash_in_name(client):
    # A slash separates a package from a name, so "a/b" never names an action: plain or encoded,
    # the request reaches the package route (packages are not supported: 404) or is refused as an
    # illegal name (OpenWhisk decodes %2F into the segment: 400); nothing named "a/b" is created.
    for path in ("/api/v1/namespaces/_/actions/a/b", action_path("a/b")):
        r = client.put(path, json={"exec": {"kind": "python:3", "code": HELLO}})
        if r.status_code == 400:
            assert_error(r, 400, NAME_ILLEGAL)
        else:
            assert_error(r, 404, NOT_FOUND)
    assert client.get("/api/v1/namespaces/_/actions").json() == []
    r = client.put("/api/v1/namespaces/_/actions/-p/b", json={"exec": {"kind": "python:3", "code": HELLO}})
    assert_error(r, 400, NAME_ILLEGAL)
    r = client.put("/api/v1/namespaces/_/actions/p/b%20", json={"exec": {"kind": "python:3", "code": HELLO}})
    assert_error(r, 400, NAME_ILLEGAL)


# --- limits validation ------------------------------------------------------------------------------

BAD_LIMITS = [
    ({"memory": 127}, "requirement failed: memory 127 MB below allowed threshold of 128 MB"),
    ({"memory": 513}, "requirement failed: memory 513 MB exceeds allowed threshold of 512 MB"),
    ({"timeout": 99}, "requirement failed: duration 99 milliseconds below allowed threshold of 100 milliseconds"),
    ({"timeout": 300001},
     "requirement failed: duration 300001 milliseconds exceeds allowed threshold of 300000 milliseconds"),
    ({"logs": 11}, "requirement failed: log size 11 MB exceeds allowed threshold of 10 MB"),
    ({"memory": "256"}, "memory limit must be whole number"),
    ({"memory": 200.5}, "memory limit must be whole number"),
    ({"timeout": "soon"}, "time limit must be whole number"),
    ({"timeout": True}, "time limit must be whole number"),
    ({"logs": [1]}, "log size limit must be whole number"),
    ({"concurrency": 2}, "requirement failed: concurrency 2 exceeds allowed threshold of 1"),
]


@pytest.mark.parametrize("limits,message", BAD_LIMITS, ids=[str(l) for l, _ in BAD_LIMITS])
def test_bad_limits(client, limits, message):
    r = client.put(action_path("lim"), json={"exec": {"kind": "python:3", "code": HELLO}, "limits": limits})
    assert_error(r, 400, MALFORMED + message)
    assert_error(client.get(action_path("lim")), 404, NOT_FOUND)
    # the same on update: the stored action stays as it was
    deploy(client, "lim")
    r = client.put(action_path("lim") + "?overwrite=true", json={"limits": limits})
    assert_error(r, 400, MALFORMED + message)
    doc = client.get(action_path("lim")).json()
    assert doc["limits"] == DEFAULT_LIMITS and doc["version"] == "0.0.1"


def test_boundary_limits_accepted(client):
    for i, limits in enumerate([{"memory": 128, "timeout": 100, "logs": 0},
                                {"memory": 512, "timeout": 300000, "logs": 10, "concurrency": 1}]):
        r = client.put(action_path(f"b{i}"),
                       json={"exec": {"kind": "python:3", "code": HELLO}, "limits": limits})
        assert r.status_code == 200, r.text
        assert r.json()["limits"] == {**DEFAULT_LIMITS, **limits}
    # each limit is optional
    r = client.put(action_path("b2"), json={"exec": {"kind": "python:3", "code": HELLO}, "limits": {"logs": 0}})
    assert r.json()["limits"] == {**DEFAULT_LIMITS, "logs": 0}


# --- request sizes ----------------------------------------------------------------------------------


def test_request_too_large(client):
    # a PUT body over the request cap (48 MB of code plus parameters and metadata) is refused whole
    body = b'{"exec":{"kind":"python:3","code":"' + b"#" * (50 * MB) + b'"}}'
    try:
        r = client.put(action_path("huge"), content=body, headers={"content-type": "application/json"})
    except httpx.TransportError:  # the server may answer and close before reading everything
        pytest.fail("the server closed the connection instead of answering 413")
    allowed = 48 * MB + 1 * MB + 64 * 1024
    assert_error(r, 413, f"Request larger than allowed: {len(body)} > {allowed} bytes.")
    # code just over 48 MB in a body under the request cap is refused by the code limit
    code = "#" * (48 * MB + 1)
    r = client.put(action_path("huge"), json={"exec": {"kind": "python:3", "code": code}})
    assert_error(r, 413, f"Code larger than allowed: {48 * MB + 1} > {48 * MB} bytes.")
    assert_error(client.get(action_path("huge")), 404, NOT_FOUND)
    # parameters over 1 MB
    params = [{"key": "big", "value": "x" * MB}]
    size = len(json.dumps(params, separators=(",", ":")))
    r = client.put(action_path("huge"), json={"exec": {"kind": "python:3", "code": HELLO}, "parameters": params})
    assert_error(r, 413, f"Parameters larger than allowed: {size} > {MB} bytes.")
    assert_error(client.get(action_path("huge")), 404, NOT_FOUND)


def test_invoke_payload_too_large(client):
    deploy(client, "echo", "def main(args):\n    return {'n': len(args.get('s', ''))}\n")
    body = b'{"s":"' + b"x" * MB + b'"}'
    r = client.post(action_path("echo") + "?blocking=true", content=body,
                    headers={"content-type": "application/json"})
    assert_error(r, 413, f"Request larger than allowed: {len(body)} > {MB} bytes.")
    # just under the limit is fine
    body = b'{"s":"' + b"x" * (MB - 100) + b'"}'
    r = client.post(action_path("echo") + "?blocking=true&result=true", content=body,
                    headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json() == {"n": MB - 100}


# --- invoke -----------------------------------------------------------------------------------------


def test_nonblocking_invoke(client, ns):
    deploy(client, "nb")
    r = invoke(client, "nb", {"name": "async"})
    assert r.status_code == 202, r.text
    assert list(r.json()) == ["activationId"]
    aid = r.json()["activationId"]
    assert ACTIVATION_ID.fullmatch(aid)
    assert r.headers["x-openwhisk-activation-id"] == aid
    r = wait_for(lambda: client.get(f"/api/v1/namespaces/_/activations/{aid}"))
    assert r.status_code == 200
    assert r.json()["response"]["result"] == {"greeting": "Hello async"}
    # blocking=false is the same
    r = invoke(client, "nb", blocking=False)
    assert r.status_code == 202 and ACTIVATION_ID.fullmatch(r.json()["activationId"])


def test_blocking_invoke_record(client, ns):
    name, _ = ns
    deploy(client, "hello")
    before = int(time.time() * 1000)
    r = invoke(client, "hello", {"name": "World"}, blocking=True)
    assert r.status_code == 200, r.text
    rec = r.json()
    aid = rec["activationId"]
    assert ACTIVATION_ID.fullmatch(aid) and r.headers["x-openwhisk-activation-id"] == aid
    assert rec["namespace"] == name and rec["subject"] == name and rec["name"] == "hello"
    assert rec["version"] == "0.0.1" and rec["publish"] is False
    assert rec["response"]["status"] == "success" and rec["response"]["success"] is True
    assert rec["response"]["result"] == {"greeting": "Hello World"}
    assert before <= rec["start"] <= rec["end"] and rec["duration"] == rec["end"] - rec["start"]
    assert len(rec["logs"]) == 1 and rec["logs"][0].endswith(" stdout: hello stdout")
    assert LOG_LINE.fullmatch(rec["logs"][0])
    ann = annotations(rec)
    assert ann["path"] == f"{name}/hello"
    assert ann["kind"] == "python:3"
    assert ann["limits"] == DEFAULT_LIMITS
    assert ann["timeout"] is False
    assert isinstance(ann["waitTime"], int) and ann["waitTime"] >= 0
    assert isinstance(ann["initTime"], int) and ann["initTime"] >= 0  # cold start
    # warm: no initTime
    r = invoke(client, "hello", blocking=True)
    assert r.status_code == 200
    ann = annotations(r.json())
    assert "initTime" not in ann and "waitTime" in ann
    # the stored record is the one returned
    stored = client.get(f"/api/v1/namespaces/_/activations/{aid}").json()
    assert stored == rec
    # a new version is a new action: cold again
    client.put(action_path("hello") + "?overwrite=true", json={"limits": {"timeout": 10000}})
    r = invoke(client, "hello", blocking=True)
    assert r.json()["version"] == "0.0.2"
    ann = annotations(r.json())
    assert "initTime" in ann and ann["limits"] == {**DEFAULT_LIMITS, "timeout": 10000}


def test_blocking_result_only(client):
    deploy(client, "hello")
    r = invoke(client, "hello", {"name": "R"}, blocking=True, result=True)
    assert r.status_code == 200
    assert r.json() == {"greeting": "Hello R"}
    assert ACTIVATION_ID.fullmatch(r.headers["x-openwhisk-activation-id"])
    # result=true without blocking is still a non-blocking invoke
    r = invoke(client, "hello", result=True)
    assert r.status_code == 202 and list(r.json()) == ["activationId"]


def test_array_result_is_success(client):
    deploy(client, "arr", "def main(args):\n    return [1, {'two': 2}]\n")
    r = invoke(client, "arr", blocking=True)
    assert r.status_code == 200, r.text
    assert r.json()["response"]["status"] == "success"
    assert r.json()["response"]["result"] == [1, {"two": 2}]


def test_application_error(client):
    deploy(client, "apperr", "def main(args):\n    return {'error': 'bad input', 'detail': 1}\n")
    r = invoke(client, "apperr", blocking=True)
    assert r.status_code == 502, r.text
    rec = r.json()
    assert r.headers["x-openwhisk-activation-id"] == rec["activationId"]
    assert rec["response"]["status"] == "application error"
    assert rec["response"]["success"] is False
    assert rec["response"]["result"] == {"error": "bad input", "detail": 1}
    r = invoke(client, "apperr", blocking=True, result=True)
    assert r.status_code == 502 and r.json() == {"error": "bad input", "detail": 1}


def test_exception_is_application_error(client):
    # Like OpenWhisk's python runtime (actionloop launcher): an exception in main is
    # {"error": str(exception)} with the traceback in the logs, an application error.
    deploy(client, "raiser", "def main(args):\n    raise ValueError('kaboom')\n")
    r = invoke(client, "raiser", blocking=True)
    assert r.status_code == 502, r.text
    rec = r.json()
    assert rec["response"]["status"] == "application error"
    assert rec["response"]["result"] == {"error": "kaboom"}
    assert any("stderr: ValueError: kaboom" in line for line in rec["logs"])
    # the container stays warm after an application error
    r = invoke(client, "raiser", blocking=True)
    assert r.status_code == 502 and "initTime" not in annotations(r.json())


def test_developer_error_not_a_dictionary(client):
    deploy(client, "scalar", "def main(args):\n    return 42\n")
    r = invoke(client, "scalar", blocking=True)
    assert r.status_code == 502, r.text
    rec = r.json()
    assert rec["response"]["status"] == "action developer error"
    assert rec["response"]["success"] is False
    assert rec["response"]["result"] == {"error": "The action did not return a dictionary or array."}
    r = invoke(client, "scalar", blocking=True, result=True)
    assert r.status_code == 502
    assert r.json() == {"error": "The action did not return a dictionary or array."}
    # a developer error destroys the container: the next run is a cold start again
    assert "initTime" in annotations(invoke(client, "scalar", blocking=True).json())


def test_blocking_wait_times_out_into_202(client):
    deploy(client, "slow", SLEEPY)
    t0 = time.monotonic()
    r = invoke(client, "slow", {"sleep": 3}, blocking=True, timeout=500)
    waited = time.monotonic() - t0
    assert r.status_code == 202, r.text
    assert waited < 2.5
    aid = r.json()["activationId"]
    assert list(r.json()) == ["activationId"] and ACTIVATION_ID.fullmatch(aid)
    assert r.headers["x-openwhisk-activation-id"] == aid
    # not there until it completes, then the full record
    assert_error(client.get(f"/api/v1/namespaces/_/activations/{aid}"), 404, NOT_FOUND)
    r = wait_for(lambda: client.get(f"/api/v1/namespaces/_/activations/{aid}"), timeout=10)
    assert r.status_code == 200
    assert r.json()["response"]["result"] == {"slept": 3}
    assert r.json()["duration"] >= 3000 - 50


def test_invoke_errors(client):
    assert_error(invoke(client, "missing", blocking=True), 404, NOT_FOUND)
    assert_error(invoke(client, "missing"), 404, NOT_FOUND)
    deploy(client, "hello")
    r = client.post(action_path("hello") + "?blocking=true", content=b"{bad json",
                    headers={"content-type": "application/json"})
    assert_error(r, 400, MALFORMED + "the body is not valid JSON")
    for wait in ("0", "60001"):
        r = client.post(action_path("hello") + f"?blocking=true&timeout={wait}")
        assert_error(r, 400, "Timeout must be number of milliseconds up to 60000.")
    r = client.post(action_path("hello") + "?blocking=true", json=[1, 2])
    assert_error(r, 400, MALFORMED + "the parameters must be a JSON object")
    # an empty body is no parameters
    r = client.post(action_path("hello") + "?blocking=true&result=true")
    assert r.status_code == 200 and r.json() == {"greeting": "Hello stranger"}


# --- activations ------------------------------------------------------------------------------------


def test_activation_get_result_logs(client, ns):
    name, _ = ns
    deploy(client, "loggy", 'import sys\ndef main(args):\n    print("line one")\n'
                            '    print("line two", file=sys.stderr)\n    return {"ok": True}\n')
    rec = invoke(client, "loggy", blocking=True).json()
    aid = rec["activationId"]
    r = client.get(f"/api/v1/namespaces/_/activations/{aid}")
    assert r.status_code == 200 and r.json() == rec
    assert client.get(f"/api/v1/namespaces/{name}/activations/{aid}").json() == rec
    r = client.get(f"/api/v1/namespaces/_/activations/{aid}/result")
    assert r.status_code == 200
    assert r.json() == {"result": {"ok": True}, "success": True, "status": "success"}
    r = client.get(f"/api/v1/namespaces/_/activations/{aid}/logs")
    assert r.status_code == 200
    logs = r.json()
    assert list(logs) == ["logs"]
    assert all(LOG_LINE.fullmatch(line) for line in logs["logs"]), logs
    assert sorted(line.split(" ", 1)[1] for line in logs["logs"]) == ["stderr: line two", "stdout: line one"]
    # errors
    for suffix in ("", "/result", "/logs"):
        assert_error(client.get(f"/api/v1/namespaces/_/activations/not-an-id{suffix}"), 400,
                     "The activation id is not valid.")
        assert_error(client.get(f"/api/v1/namespaces/_/activations/{aid.upper()}{suffix}"), 400,
                     "The activation id is not valid.")
        assert_error(client.get(f"/api/v1/namespaces/_/activations/{'0' * 32}{suffix}"), 404, NOT_FOUND)
    # failed activation: /result carries the status
    deploy(client, "apperr", "def main(args):\n    return {'error': 'nope'}\n")
    aid = invoke(client, "apperr", blocking=True).json()["activationId"]
    r = client.get(f"/api/v1/namespaces/_/activations/{aid}/result")
    assert r.json() == {"result": {"error": "nope"}, "success": False, "status": "application error"}


def test_list_default_limit_is_30(server):
    # 31 activations in flight at once must not meet the default concurrency throttle (30).
    _, auth = server.new_namespace({"concurrentInvocations": 100})
    with server.client(auth) as client:
        _list_default_limit_is_30(client)


def _list_default_limit_is_30(client):
    for i in range(31):
        client.put(action_path(f"x{i:02}"), json={"exec": {"kind": "python:3", "code": HELLO}})
    assert len(client.get("/api/v1/namespaces/_/actions").json()) == 30
    assert len(client.get("/api/v1/namespaces/_/actions?limit=0").json()) == 31
    ids = [invoke(client, "x00").json()["activationId"] for _ in range(31)]
    assert all(ACTIVATION_ID.fullmatch(i) for i in ids) and len(set(ids)) == 31
    deadline = time.monotonic() + 15
    while client.get("/api/v1/namespaces/_/activations?count=true").json()["activations"] < 31:
        assert time.monotonic() < deadline, "31 activations did not complete in time"
        time.sleep(0.1)
    assert len(client.get("/api/v1/namespaces/_/activations").json()) == 30
    assert len(client.get("/api/v1/namespaces/_/activations?limit=0").json()) == 31
    assert {a["activationId"] for a in client.get("/api/v1/namespaces/_/activations?limit=200").json()} == set(ids)


def test_list_activations(client):
    deploy(client, "one")
    deploy(client, "two")
    t0 = int(time.time() * 1000)
    ids = []
    for n in ("one", "two", "one", "two", "one"):
        r = invoke(client, n, blocking=True)
        assert r.status_code == 200, r.text
        ids.append(r.json()["activationId"])
        time.sleep(0.005)
    starts = {i: client.get(f"/api/v1/namespaces/_/activations/{i}").json()["start"] for i in ids}
    newest_first = ids[::-1]

    r = client.get("/api/v1/namespaces/_/activations")
    assert r.status_code == 200
    listed = r.json()
    assert [a["activationId"] for a in listed] == newest_first
    for a in listed:  # summaries: no logs, no result
        assert "logs" not in a and "result" not in a["response"]
        assert a["response"]["status"] == "success" and a["response"]["success"] is True
    assert [a["activationId"] for a in client.get("/api/v1/namespaces/_/activations?limit=2").json()] == \
        newest_first[:2]
    assert [a["activationId"] for a in
            client.get("/api/v1/namespaces/_/activations?limit=2&skip=2").json()] == newest_first[2:4]
    assert [a["activationId"] for a in client.get("/api/v1/namespaces/_/activations?name=one").json()] == \
        [ids[4], ids[2], ids[0]]
    assert [a["activationId"] for a in client.get("/api/v1/namespaces/_/activations?name=two").json()] == \
        [ids[3], ids[1]]
    assert client.get("/api/v1/namespaces/_/activations?name=three").json() == []
    # since / upto, epoch milliseconds, inclusive
    since, upto = starts[ids[1]], starts[ids[3]]
    got = [a["activationId"] for a in
           client.get(f"/api/v1/namespaces/_/activations?since={since}&upto={upto}").json()]
    assert got == [ids[3], ids[2], ids[1]]
    assert client.get(f"/api/v1/namespaces/_/activations?since={t0 - 60000}").json()[-1]["activationId"] == ids[0]
    assert client.get(f"/api/v1/namespaces/_/activations?upto={t0 - 1}").json() == []
    assert client.get(f"/api/v1/namespaces/_/activations?since={int(time.time() * 1000) + 60000}").json() == []
    # docs=true: full records with logs
    docs = client.get("/api/v1/namespaces/_/activations?docs=true&name=two").json()
    assert [d["activationId"] for d in docs] == [ids[3], ids[1]]
    for d in docs:
        assert d["response"]["result"] == {"greeting": "Hello stranger"}
        assert d["logs"] and d["logs"][0].endswith("stdout: hello stdout")
        assert d == client.get(f"/api/v1/namespaces/_/activations/{d['activationId']}").json()
    # count=true
    assert client.get("/api/v1/namespaces/_/activations?count=true").json() == {"activations": 5}
    assert client.get("/api/v1/namespaces/_/activations?count=true&name=one").json() == {"activations": 3}
    assert client.get(f"/api/v1/namespaces/_/activations?count=true&since={since}&upto={upto}").json() == \
        {"activations": 3}
    # errors
    assert_error(client.get("/api/v1/namespaces/_/activations?docs=true&count=true"), 400,
                 "The parameter 'docs' is not permitted with 'count'.")
    assert_error(client.get("/api/v1/namespaces/_/activations?limit=201"), 400,
                 "The value '201' is not in the range of 0 to 200 for activations.")
    assert_error(client.get("/api/v1/namespaces/_/activations?skip=-1"), 400,
                 "The value '-1' is not greater than or equal to 0 for activations.")


# --- limits and the system API ----------------------------------------------------------------------


def test_namespace_limits(server, ns, client):
    name, _ = ns
    r = client.get("/api/v1/namespaces/_/limits")
    assert r.status_code == 200
    limits = r.json()
    assert limits["invocationsPerMinute"] == 60
    assert limits["concurrentInvocations"] == 30
    assert isinstance(limits["firesPerMinute"], int)
    assert client.get(f"/api/v1/namespaces/{name}/limits").json() == limits
    with server.admin() as admin:
        r = admin.put(f"/api/v1/system/namespaces/{name}/limits",
                      json={"invocationsPerMinute": 7, "concurrentInvocations": 3, "firesPerMinute": 9})
        assert r.status_code == 200, r.text
        assert admin.get(f"/api/v1/namespaces/{name}/limits").json()["invocationsPerMinute"] == 7
    after = client.get("/api/v1/namespaces/_/limits").json()
    assert (after["invocationsPerMinute"], after["concurrentInvocations"], after["firesPerMinute"]) == (7, 3, 9)
    # a partial update keeps the other values
    with server.admin() as admin:
        r = admin.put(f"/api/v1/system/namespaces/{name}/limits", json={"concurrentInvocations": 4})
        assert r.status_code == 200, r.text
    after = client.get("/api/v1/namespaces/_/limits").json()
    assert (after["invocationsPerMinute"], after["concurrentInvocations"], after["firesPerMinute"]) == (7, 4, 9)


def test_system_api_is_admin_only(server, ns, client):
    name, _ = ns
    denied = "The supplied authentication is not authorized to access this resource."
    assert_error(client.put(f"/api/v1/system/namespaces/{name}/limits", json={"invocationsPerMinute": 1000}),
                 403, denied)
    assert_error(client.put("/api/v1/system/namespaces/ns_mine_now"), 403, denied)
    assert_error(client.get("/api/v1/system/status"), 403, denied)
    assert client.get("/api/v1/namespaces/_/limits").json()["invocationsPerMinute"] == 60
    with server.admin() as admin:
        assert_error(admin.put("/api/v1/system/namespaces/ns_does_not_exist_x/limits",
                               json={"invocationsPerMinute": 1}), 404, NOT_FOUND)


# --- throttles --------------------------------------------------------------------------------------


def _clear_of_minute_boundary(margin: float = 2.5) -> None:
    """Sleep past the next minute boundary when it is less than `margin` seconds away."""
    into = time.time() % 60
    if into > 60 - margin:
        time.sleep(60 - into + 0.1)


def test_invocations_per_minute(server):
    _, auth = server.new_namespace({"invocationsPerMinute": 3})
    with server.client(auth) as c:
        deploy(c, "hello")
        _clear_of_minute_boundary()
        for _ in range(3):
            r = invoke(c, "hello")
            assert r.status_code == 202, r.text
        r = invoke(c, "hello")
        assert_error(r, 429, "Too many requests in the last minute (count: 4, allowed: 3).")
        r = invoke(c, "hello", blocking=True)
        assert_error(r, 429, "Too many requests in the last minute (count: 5, allowed: 3).")
        # the throttle is about invocations only
        assert c.get(action_path("hello")).status_code == 200
        assert c.get("/api/v1/namespaces/_/activations?count=true").status_code == 200


def test_concurrent_invocations(server):
    _, auth = server.new_namespace({"concurrentInvocations": 2})
    with server.client(auth) as c:
        deploy(c, "slow", SLEEPY)
        ids = []
        for _ in range(2):
            r = invoke(c, "slow", {"sleep": 2})
            assert r.status_code == 202, r.text
            ids.append(r.json()["activationId"])
        r = invoke(c, "slow", {"sleep": 2})
        assert_error(r, 429, "Too many concurrent requests in flight (count: 2, allowed: 2).")
        r = invoke(c, "slow", {"sleep": 2}, blocking=True)
        assert_error(r, 429, "Too many concurrent requests in flight (count: 2, allowed: 2).")
        for aid in ids:
            r = wait_for(lambda: c.get(f"/api/v1/namespaces/_/activations/{aid}"), timeout=15)
            assert r.status_code == 200 and r.json()["response"]["status"] == "success"
        # once they finish, invokes work again (the slot is freed right after the record is stored)
        deadline = time.monotonic() + 2
        while True:
            r = invoke(c, "slow", {"sleep": 0}, blocking=True, result=True)
            if r.status_code != 429 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert r.status_code == 200, r.text
        assert r.json() == {"slept": 0}
