"""The operators' system API: status, cancelling activations, removing containers, metrics."""

from __future__ import annotations

import time

from conftest import Server, deploy
from test_activation_failures import containers_of, wait_for


def test_system_api_needs_the_admin_key(server: Server) -> None:
    _, auth = server.new_namespace()
    with server.client(auth) as c:
        for method, path in [("GET", "/api/v1/system/status"), ("GET", "/metrics"),
                             ("DELETE", "/api/v1/system/activations/" + "a" * 32),
                             ("DELETE", "/api/v1/system/containers/abc"),
                             ("PUT", "/api/v1/system/namespaces/someone")]:
            r = c.request(method, path)
            assert r.status_code == 403, (method, path, r.text)
            assert r.json()["error"] == "The supplied authentication is not authorized to access this resource."


def test_status_shows_invokers_containers_and_rates(server: Server) -> None:
    ns, auth = server.new_namespace()
    with server.client(auth) as c:
        deploy(c, "hello")
        for _ in range(3):
            assert c.post("/api/v1/namespaces/_/actions/hello?blocking=true").status_code == 200
    mine = wait_for(lambda: containers_of(server, f"{ns}/hello"))
    assert mine and mine[0]["state"] == "warm" and mine[0]["memory"] == 256 and mine[0]["age"] >= 0
    with server.admin() as admin:
        status = admin.get("/api/v1/system/status").json()
    from backend.docker_runtime import DockerRuntime

    expected = "docker" if DockerRuntime.unavailable_reason() is None else "process"
    assert status["runtime"] == expected and status["bus"] == "memory"  # what --runtime auto picked
    assert all(inv["runtime"] == expected for inv in status["invokers"])
    assert [inv["id"] for inv in status["invokers"]] == [0, 1]
    for inv in status["invokers"]:
        assert inv["state"] == "healthy"
        assert inv["userMemory"] == 2048
        assert inv["queueDepth"] == 0
        assert 0 <= inv["usedMemory"] <= inv["userMemory"]
    assert status["activationsPerSecond"] > 0
    assert isinstance(status["inflight"], dict)


def test_cancel_a_running_activation(server: Server) -> None:
    ns, auth = server.new_namespace()
    with server.client(auth) as c:
        deploy(c, "sleepy", "import time\ndef main(args):\n    time.sleep(30)\n    return {}\n")
        activation_id = c.post("/api/v1/namespaces/_/actions/sleepy").json()["activationId"]
        busy = wait_for(lambda: [x for x in containers_of(server, f"{ns}/sleepy") if x["state"] == "busy"]
                        or [x for x in server.containers() if x.get("activationId") == activation_id])
        assert busy
        with server.admin() as admin:
            r = admin.delete(f"/api/v1/system/activations/{activation_id}")
            assert r.status_code == 200, r.text
            assert admin.get(f"/api/v1/namespaces/{ns}/activations").status_code == 200
        record = c.get(f"/api/v1/namespaces/_/activations/{activation_id}").json()
        assert record["response"]["status"] == "action developer error"
        assert record["response"]["result"] == {"error": "The activation was cancelled by an operator."}
        assert record["duration"] < 30_000
    assert wait_for(lambda: not any(x.get("activationId") == activation_id for x in server.containers()))


def test_cancel_unknown_activation_is_404(server: Server) -> None:
    with server.admin() as admin:
        r = admin.delete("/api/v1/system/activations/" + "b" * 32)
        assert r.status_code == 404
        assert r.json()["error"] == "The requested resource does not exist."


def test_remove_a_warm_container(server: Server) -> None:
    ns, auth = server.new_namespace()
    with server.client(auth) as c:
        deploy(c, "hello")
        assert c.post("/api/v1/namespaces/_/actions/hello?blocking=true").status_code == 200
    container = wait_for(lambda: containers_of(server, f"{ns}/hello"))[0]
    with server.admin() as admin:
        r = admin.delete(f"/api/v1/system/containers/{container['id']}")
        assert r.status_code == 200, r.text
        assert admin.delete("/api/v1/system/containers/nosuchcontainer").status_code == 404
    assert wait_for(lambda: not any(x["id"] == container["id"] for x in server.containers()))


def test_metrics_in_prometheus_format(server: Server) -> None:
    _, auth = server.new_namespace()
    with server.client(auth) as c:
        deploy(c, "fails", "def main(args):\n    return {'error': 'no'}\n")
        c.post("/api/v1/namespaces/_/actions/fails?blocking=true")
    time.sleep(0.1)
    with server.admin() as admin:
        r = admin.get("/metrics")
    assert r.status_code == 200
    text = r.text
    assert 'squall_invocations_total{status="application error"}' in text
    assert "squall_activation_duration_seconds_bucket" in text
    assert 'squall_queue_depth{topic="invoker0"} 0.0' in text
    assert "squall_containers{" in text
