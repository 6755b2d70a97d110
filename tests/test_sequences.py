"""Sequences over the REST API: create-time checks with OpenWhisk's texts, each component's result as
the next one's parameters, the first failure ending it, and the records it leaves."""

from __future__ import annotations

import time
from typing import Any

import httpx

from conftest import assert_error, deploy, invoke, wait_ok

INC = "def main(args):\n    return {'n': args.get('n', 0) + args.get('step', 1), 'seen': sorted(args)}\n"
FAIL = "def main(args):\n    return {'error': 'boom at ' + str(args.get('n'))}\n"
CRASH = "def main(args):\n    raise SystemExit(3)\n"
SLEEP = "import time\ndef main(args):\n    time.sleep(args.get('sleep', 1))\n    return args\n"


def sequence(c: httpx.Client, name: str, components: list[str], **query: str) -> httpx.Response:
    return c.put(f"/api/v1/namespaces/_/actions/{name}", params=query,
                 json={"exec": {"kind": "sequence", "components": components}})


def record(c: httpx.Client, activation_id: str) -> dict[str, Any]:
    return wait_ok(lambda: c.get(f"/api/v1/namespaces/_/activations/{activation_id}"), 30).json()


def notes(doc: dict[str, Any]) -> dict[str, Any]:
    return {a["key"]: a["value"] for a in doc["annotations"]}


def test_create_checks_and_texts(server, client, ns):
    name, _ = ns
    deploy(client, "inc", INC)
    assert_error(sequence(client, "s", []), 400, "No component specified for the sequence.")
    assert_error(sequence(client, "s", [f"/{name}/inc"] * 51), 400, "Too many actions in the sequence.")
    assert_error(sequence(client, "s", [f"/{name}/missing"]), 400, "Sequence component does not exist.")
    assert_error(sequence(client, "s", ["inc"]), 400, "The request content was malformed:\nrequirement failed: "
                 "The fully qualified name of the entity must contain at least the namespace and the name of "
                 "the entity.")
    r = sequence(client, "s", ["/_/inc", f"/{name}/inc"])
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["exec"] == {"kind": "sequence", "components": [f"/{name}/inc", f"/{name}/inc"]}
    assert doc["parameters"] == [{"key": "_actions", "value": [f"/{name}/inc", f"/{name}/inc"]}]
    assert {"key": "exec", "value": "sequence"} in doc["annotations"]
    r = client.put("/api/v1/namespaces/_/actions/s", params={"overwrite": "true"},
                   json={"parameters": [{"key": "ignored", "value": 1}], "limits": {"timeout": 5000}})
    assert r.status_code == 200, r.text  # an update without exec keeps the components
    assert r.json()["exec"] == doc["exec"] and r.json()["parameters"] == doc["parameters"]
    assert r.json()["version"] == "0.0.2" and r.json()["limits"]["timeout"] == 5000
    assert_error(sequence(client, "s", [f"/{name}/s"], overwrite="true"), 400, "Sequence may not refer to itself.")
    assert sequence(client, "outer", [f"/{name}/s", f"/{name}/inc"]).status_code == 200
    assert_error(sequence(client, "s", [f"/{name}/outer"], overwrite="true"), 400,
                 "Sequence may not refer to itself.")
    assert sequence(client, "fifty", [f"/{name}/inc"] * 50).status_code == 200
    assert_error(sequence(client, "toolong", [f"/{name}/fifty", f"/{name}/inc"]), 400,
                 "Too many actions in the sequence.")  # nested sequences count their actions
    other, other_auth = server.new_namespace()
    with server.client(other_auth) as o:
        deploy(o, "secret", INC)
    assert_error(sequence(client, "theirs", [f"/{other}/secret"]), 403,
                 f"The supplied authentication is not authorized to access '{other}/secret'.")


def test_results_flow_and_records(client, ns):
    name, _ = ns
    deploy(client, "inc", INC)
    deploy(client, "inc10", INC, parameters=[{"key": "step", "value": 10}])
    sequence(client, "s", [f"/{name}/inc", f"/{name}/inc10", f"/{name}/inc"])
    r = invoke(client, "s", {"n": 1}, blocking="true")
    assert r.status_code == 200, r.text
    seq = r.json()
    assert seq["response"]["result"]["n"] == 13 and seq["response"]["success"] is True
    assert seq["response"]["result"]["seen"] == ["n", "seen"]  # the previous result is all it gets
    assert len(seq["logs"]) == 3 and seq["name"] == "s" and seq["namespace"] == name
    assert notes(seq)["topmost"] is True and notes(seq)["kind"] == "sequence"
    assert notes(seq)["path"] == f"{name}/s" and "causedBy" not in notes(seq) and "cause" not in seq
    components = [record(client, aid) for aid in seq["logs"]]
    assert [c["name"] for c in components] == ["inc", "inc10", "inc"]
    assert [c["response"]["result"]["n"] for c in components] == [2, 12, 13]
    for c in components:
        assert c["cause"] == seq["activationId"] and notes(c)["causedBy"] == "sequence"
    assert seq["duration"] == sum(c["duration"] for c in components)
    assert invoke(client, "s", {"n": 1}, blocking="true", result="true").json()["n"] == 13
    r = invoke(client, "s", {"n": 5})
    assert r.status_code == 202
    assert record(client, r.json()["activationId"])["response"]["result"]["n"] == 17


def test_first_failure_ends_the_sequence(client, ns):
    name, _ = ns
    deploy(client, "inc", INC)
    deploy(client, "fail", FAIL)
    deploy(client, "crash", CRASH)
    sequence(client, "s", [f"/{name}/inc", f"/{name}/fail", f"/{name}/inc"])
    r = invoke(client, "s", {"n": 1}, blocking="true")
    assert r.status_code == 502
    seq = r.json()
    assert seq["response"]["status"] == "application error"
    assert seq["response"]["result"] == {"error": "boom at 2"}
    assert len(seq["logs"]) == 2
    sequence(client, "c", [f"/{name}/crash", f"/{name}/inc"])
    r = invoke(client, "c", {}, blocking="true")
    assert r.status_code == 502 and r.json()["response"]["status"] == "action developer error"
    assert r.json()["response"]["result"] == {
        "error": "The action did not produce a valid response and exited unexpectedly."}
    assert len(r.json()["logs"]) == 1
    deploy(client, "doomed", INC)
    sequence(client, "gone", [f"/{name}/inc", f"/{name}/doomed"])
    client.delete("/api/v1/namespaces/_/actions/doomed")
    r = invoke(client, "gone", {}, blocking="true")
    assert r.status_code == 502 and r.json()["response"]["result"] == {"error": "Sequence component does not exist."}
    assert len(r.json()["logs"]) == 1


def test_sequences_of_sequences_and_components_in_packages(server, client, ns):
    name, _ = ns
    client.put("/api/v1/namespaces/_/packages/p", json={"parameters": [{"key": "step", "value": 100}]})
    client.put("/api/v1/namespaces/_/packages/b", json={"binding": {"namespace": name, "name": "p"},
                                                       "parameters": [{"key": "step", "value": 1000}]})
    deploy(client, "p/inc", INC)
    deploy(client, "inc", INC)
    sequence(client, "inner", [f"/{name}/p/inc", f"/{name}/b/inc"])
    sequence(client, "outer", [f"/{name}/inc", f"/{name}/inner", "/whisk.system/utils/echo"])
    r = invoke(client, "outer", {"n": 0}, blocking="true")
    assert r.status_code == 200, r.text
    outer = r.json()
    assert outer["response"]["result"]["n"] == 1 + 100 + 1000
    assert len(outer["logs"]) == 3  # the inner sequence is one entry
    first, inner, echo = (record(client, aid) for aid in outer["logs"])
    assert notes(inner)["kind"] == "sequence" and notes(inner)["topmost"] is False
    assert notes(inner)["causedBy"] == "sequence" and inner["cause"] == outer["activationId"]
    assert len(inner["logs"]) == 2
    via_binding = record(client, inner["logs"][1])
    assert via_binding["cause"] == inner["activationId"] and notes(via_binding)["binding"] == f"{name}/b"
    assert notes(echo)["path"] == "whisk.system/utils/echo" and echo["namespace"] == name


def test_a_slow_sequence_answers_202_then_completes(client, ns):
    name, _ = ns
    deploy(client, "sleep", SLEEP)
    sequence(client, "slow", [f"/{name}/sleep", f"/{name}/sleep"])
    started = time.monotonic()
    r = invoke(client, "slow", {"sleep": 1}, blocking="true", timeout="500")
    assert r.status_code == 202 and time.monotonic() - started < 1.5
    aid = r.json()["activationId"]
    assert r.headers["x-openwhisk-activation-id"] == aid
    done = record(client, aid)
    assert done["response"]["result"] == {"sleep": 1} and len(done["logs"]) == 2
