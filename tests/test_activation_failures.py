"""OpenWhisk's failure semantics, seen through the API: exact texts, statuses, container fate."""

from __future__ import annotations

import time

import httpx

from conftest import Server, deploy


def invoke(c: httpx.Client, name: str, params: dict | None = None) -> httpx.Response:
    return c.post(f"/api/v1/namespaces/_/actions/{name}?blocking=true", json=params or {})


def containers_of(server: Server, action_path: str) -> list[dict]:
    return [c for c in server.containers() if (c["action"] or "").startswith(action_path + "@")]


def wait_for(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def test_timeout_is_a_developer_error_and_the_container_is_destroyed(server: Server) -> None:
    ns, auth = server.new_namespace()
    with server.client(auth) as c:
        deploy(c, "slow", "import time\ndef main(args):\n    print('starting')\n    time.sleep(5)\n    return {}\n",
               limits={"timeout": 300})
        r = invoke(c, "slow")
        assert r.status_code == 502
        record = r.json()
        assert record["response"]["status"] == "action developer error"
        assert record["response"]["result"] == {"error": "The action exceeded its time limits of 300 milliseconds."}
        assert {"key": "timeout", "value": True} in record["annotations"]
        assert any("stdout: starting" in line for line in record["logs"])
    assert wait_for(lambda: not containers_of(server, f"{ns}/slow"))


def test_init_timeout_says_during_initialization(server: Server) -> None:
    _, auth = server.new_namespace()
    with server.client(auth) as c:
        deploy(c, "slowinit", "import time\ntime.sleep(5)\ndef main(args):\n    return {}\n", limits={"timeout": 300})
        r = invoke(c, "slowinit")
        assert r.status_code == 502
        assert r.json()["response"]["result"] == {
            "error": "The action exceeded its time limits of 300 milliseconds during initialization."}


def test_crash_gives_the_exact_message(server: Server) -> None:
    _, auth = server.new_namespace()
    with server.client(auth) as c:
        deploy(c, "crash", "import os\ndef main(args):\n    os._exit(1)\n")
        r = invoke(c, "crash")
        assert r.status_code == 502
        assert r.json()["response"] == {
            "status": "action developer error", "statusCode": 2, "success": False,
            "result": {"error": "The action did not produce a valid response and exited unexpectedly."}}


def test_out_of_memory_gives_the_exact_message_and_the_invoker_stays_healthy(server: Server) -> None:
    _, auth = server.new_namespace()
    with server.client(auth) as c:
        deploy(c, "hog", "def main(args):\n    b = bytearray(1024 * 1024 * 1024)\n    return {'n': len(b)}\n",
               limits={"memory": 128})
        r = invoke(c, "hog")
        assert r.status_code == 502
        assert r.json()["response"]["result"] == {"error": "The action exhausted its memory and was aborted."}
        deploy(c, "hello")
        assert invoke(c, "hello", {"name": "again"}).json()["response"]["result"] == {"greeting": "Hello again"}


def test_result_over_one_megabyte_is_an_application_error(server: Server) -> None:
    _, auth = server.new_namespace()
    with server.client(auth) as c:
        deploy(c, "big", "def main(args):\n    return {'x': 'y' * (2 * 1024 * 1024)}\n")
        r = invoke(c, "big")
        assert r.status_code == 502
        response = r.json()["response"]
        assert response["status"] == "application error"
        assert response["result"]["error"].startswith(
            "The action produced a response that exceeded the allowed length: ")
        assert response["result"]["error"].endswith(" > 1048576 bytes.")


def test_application_error_keeps_the_container_warm_and_developer_error_destroys_it(server: Server) -> None:
    ns, auth = server.new_namespace()
    code = ("def main(args):\n    if args.get('mode') == 'fail':\n        return {'error': 'nope'}\n"
            "    if args.get('mode') == 'bad':\n        return 7\n    return {'ok': True}\n")
    with server.client(auth) as c:
        deploy(c, "flaky", code)
        assert invoke(c, "flaky").status_code == 200
        first = wait_for(lambda: containers_of(server, f"{ns}/flaky"))
        r = invoke(c, "flaky", {"mode": "fail"})
        assert r.status_code == 502
        assert r.json()["response"]["status"] == "application error"
        assert r.json()["response"]["result"] == {"error": "nope"}
        assert [x["id"] for x in wait_for(lambda: containers_of(server, f"{ns}/flaky"))] == [first[0]["id"]]
        r = invoke(c, "flaky", {"mode": "bad"})
        assert r.json()["response"]["result"] == {"error": "The action did not return a dictionary or array."}
        assert wait_for(lambda: not any(x["id"] == first[0]["id"] for x in containers_of(server, f"{ns}/flaky")))


def test_second_invocation_reuses_the_warm_container(server: Server) -> None:
    ns, auth = server.new_namespace()
    with server.client(auth) as c:
        deploy(c, "warm")
        first = invoke(c, "warm").json()
        second = invoke(c, "warm").json()
        keys = lambda rec: {a["key"] for a in rec["annotations"]}  # noqa: E731
        assert "initTime" in keys(first)
        assert "initTime" not in keys(second)
    assert len(wait_for(lambda: containers_of(server, f"{ns}/warm"))) == 1


def test_an_update_runs_the_new_code_in_a_new_container(server: Server) -> None:
    _, auth = server.new_namespace()
    with server.client(auth) as c:
        deploy(c, "v", "def main(args):\n    return {'v': 1}\n")
        assert invoke(c, "v").json()["response"]["result"] == {"v": 1}
        r = c.put("/api/v1/namespaces/_/actions/v?overwrite=true",
                  json={"exec": {"kind": "python:3", "code": "def main(args):\n    return {'v': 2}\n"}})
        assert r.json()["version"] == "0.0.2"
        record = invoke(c, "v").json()
        assert record["response"]["result"] == {"v": 2}
        assert record["version"] == "0.0.2"


def test_log_limit_truncates_with_the_exact_line(server: Server) -> None:
    _, auth = server.new_namespace()
    with server.client(auth) as c:
        deploy(c, "chatty", "def main(args):\n    print('a line')\n    return {}\n", limits={"logs": 0})
        logs = invoke(c, "chatty").json()["logs"]
        assert logs == ["Logs were truncated because the total bytes size exceeds the limit of 0 bytes."]
