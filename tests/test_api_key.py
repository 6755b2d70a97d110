"""The caller's key reaches an action only when it asks for it (`provide-api-key: true`), as in
OpenWhisk; it shows up nowhere else."""

from __future__ import annotations

import threading

from conftest import deploy, invoke

KEYED = '''
import os, time
def main(args):
    time.sleep(args.get("sleep", 0))
    return {"key": os.environ.get("__OW_API_KEY"), "host": os.environ.get("__OW_API_HOST")}
'''


def test_only_actions_that_ask_get_the_api_key(server, client, ns):
    _, auth = ns
    doc = deploy(client, "plain", KEYED).json()
    assert {"key": "provide-api-key", "value": False} in doc["annotations"]  # marked on create
    r = invoke(client, "plain", blocking="true", result="true")
    assert r.status_code == 200 and r.json() == {"key": None, "host": server.apihost}
    r = client.put("/api/v1/namespaces/_/actions/plain", params={"overwrite": "true"},
                   json={"annotations": [{"key": "provide-api-key", "value": True}]})
    assert r.status_code == 200
    assert invoke(client, "plain", blocking="true", result="true").json()["key"] == auth
    deploy(client, "asks", KEYED, annotations=[{"key": "provide-api-key", "value": True}])
    seen: dict = {}
    running = threading.Thread(target=lambda: seen.update(
        invoke(client, "asks", {"sleep": 1.5}, blocking="true", result="true").json()))
    running.start()
    try:
        for _ in range(40):
            status = server.status()
            if any(r["name"] == "asks" for r in status["running"]):
                break
        assert auth.split(":")[1] not in str(status)  # not in the status API while it runs
    finally:
        running.join(30)
    assert seen["key"] == auth
    assert auth.split(":")[1] not in server.log()
