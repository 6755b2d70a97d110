"""What survives a restart, a crash and a graceful stop: nothing accepted is ever lost."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import threading
import time
from typing import Any

from backend.runtimes import run_dir
from conftest import Server, deploy, read_props


def test_keys_entities_and_activations_survive_a_restart(fresh_server: Server) -> None:
    props = read_props(fresh_server.home / "wskprops")
    admin_props = read_props(fresh_server.home / "admin.wskprops")
    assert props["APIHOST"] == fresh_server.apihost and props["NAMESPACE"] == "guest"
    uid, _, key = props["AUTH"].partition(":")
    assert len(key) == 64 and len(uid) == 36
    assert admin_props["NAMESPACE"] == "whisk.system"
    with fresh_server.client() as c:
        deploy(c, "hello", parameters=[{"key": "name", "value": "kept"}])
        record = c.post("/api/v1/namespaces/_/actions/hello?blocking=true").json()
    assert fresh_server.stop() == 0
    fresh_server.start()
    assert read_props(fresh_server.home / "wskprops")["AUTH"] == props["AUTH"]
    assert read_props(fresh_server.home / "admin.wskprops")["AUTH"] == admin_props["AUTH"]
    with fresh_server.client() as c:
        assert c.get("/api/v1/namespaces/_/actions/hello").json()["parameters"] == [{"key": "name", "value": "kept"}]
        again = c.get(f"/api/v1/namespaces/_/activations/{record['activationId']}").json()
        assert again == record
        assert c.post("/api/v1/namespaces/_/actions/hello?blocking=true&result=true").json() == {
            "greeting": "Hello kept"}


def test_every_accepted_activation_resolves_after_a_crash(fresh_server: Server) -> None:
    with fresh_server.client() as c:
        deploy(c, "slow", "import time\ndef main(args):\n    time.sleep(60)\n    return {}\n")
        ids = [c.post("/api/v1/namespaces/_/actions/slow").json()["activationId"] for _ in range(3)]
    time.sleep(0.5)
    assert fresh_server.stop(signal.SIGKILL) == -signal.SIGKILL
    time.sleep(0.3)
    leftovers = subprocess.run(["pgrep", "-f", str(run_dir(fresh_server.home))], capture_output=True)
    assert leftovers.stdout == b"", "action processes outlived the killed backend"
    fresh_server.start()
    with fresh_server.client() as c:
        for activation_id in ids:
            r = c.get(f"/api/v1/namespaces/_/activations/{activation_id}")
            assert r.status_code == 200
            response = r.json()["response"]
            assert response["status"] == "whisk internal error"
            assert "Squall stopped before it completed" in response["result"]["error"]


def test_an_id_a_blocking_caller_got_before_the_result_resolves_after_a_crash(fresh_server: Server) -> None:
    """A blocking caller's pending record may wait to be written with the final one, but not once
    the caller holds the id: the 202 of a blocking wait that ran out hands it out recorded."""
    with fresh_server.client() as c:
        deploy(c, "slow", "import time\ndef main(args):\n    time.sleep(60)\n    return {}\n")
        r = c.post("/api/v1/namespaces/_/actions/slow?blocking=true&timeout=1")
        assert r.status_code == 202
        activation_id = r.json()["activationId"]
    assert fresh_server.stop(signal.SIGKILL) == -signal.SIGKILL  # at once: no grace, no drain
    fresh_server.start()
    with fresh_server.client() as c:
        r = c.get(f"/api/v1/namespaces/_/activations/{activation_id}")
        assert r.status_code == 200
        assert r.json()["response"]["status"] == "whisk internal error"


def test_sigterm_lets_running_activations_finish(fresh_server: Server) -> None:
    with fresh_server.client() as c:
        deploy(c, "second", "import time\ndef main(args):\n    time.sleep(1)\n    return {'done': True}\n")
        activation_id = c.post("/api/v1/namespaces/_/actions/second").json()["activationId"]
    time.sleep(0.3)
    assert fresh_server.stop(signal.SIGTERM) == 0
    containers = run_dir(fresh_server.home)
    assert not containers.exists() or not any(containers.rglob("*.sock")), "containers left behind"
    fresh_server.start()
    with fresh_server.client() as c:
        record = c.get(f"/api/v1/namespaces/_/activations/{activation_id}").json()
    assert record["response"] == {"status": "success", "statusCode": 0, "success": True, "result": {"done": True}}


def test_an_answer_while_the_store_is_locked_resolves_by_id_and_is_committed_after(fresh_server: Server) -> None:
    """A blocking caller is answered as soon as the completion is queued: while another process
    holds the database's write lock the answer still comes, its id resolves, and the record is
    on disk once the lock is let go."""
    with fresh_server.client() as c:
        deploy(c, "nap", "import time\ndef main(args):\n    time.sleep(1)\n    return {'slept': 1}\n")
        c.post("/api/v1/namespaces/_/actions/nap?blocking=true")  # warm: the lock below stops no start
        answer: dict[str, Any] = {}

        def call() -> None:
            answer["r"] = c.post("/api/v1/namespaces/_/actions/nap?blocking=true")
            answer["at"] = time.monotonic()

        caller = threading.Thread(target=call)
        caller.start()
        time.sleep(0.5)  # its pending record is committed by now; the action sleeps on
        other = sqlite3.connect(fresh_server.home / "squall.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer: the completion's commit must wait
        try:
            caller.join(4)
            released = time.monotonic()
            assert "at" in answer and answer["at"] < released, "the answer waited for the lock"
            record = answer["r"].json()
            assert record["response"]["result"] == {"slept": 1}
            got = c.get(f"/api/v1/namespaces/_/activations/{record['activationId']}")
            assert got.status_code == 200 and got.json() == record
        finally:
            other.execute("COMMIT")
            other.close()
            caller.join(10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with sqlite3.connect(fresh_server.home / "squall.db") as db:
                row = db.execute("SELECT status FROM activations WHERE id = ?", (record["activationId"],)).fetchone()
            if row == ("success",):
                break
            time.sleep(0.05)
        assert row == ("success",)
