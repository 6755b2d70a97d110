"""``squall trigger ...`` and ``squall rule ...``: the feed protocol's requests without a server,
then triggers, rules and the built-in alarm feeds against the real server of the ``server``
fixture (tests/conftest.py), each test in a namespace of its own (the ``tenant`` fixture)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from cli_support import ACTIVATION_ID, Run, Tenant, eventually, write_action
from console.cli.rules import rule_row
from console.cli.triggers import trigger_row

FEED_ID = "f" * 32


def params(doc: dict[str, Any]) -> dict[str, Any]:
    return {p["key"]: p["value"] for p in doc.get("parameters") or ()}


def documents(out: str) -> list[Any]:
    """The JSON documents in a command's output, skipping its ``ok:`` lines."""
    decoder, found, text = json.JSONDecoder(), [], out
    while text.strip():
        text = text.lstrip()
        if text.startswith("ok:"):
            text = text.partition("\n")[2]
            continue
        doc, end = decoder.raw_decode(text)
        found.append(doc)
        text = text[end:]
    return found


# ============================================================================================
# No server needed


def test_rows() -> None:
    fed = {"namespace": "guest", "name": "t", "publish": False,
           "annotations": [{"key": "feed", "value": "/whisk.system/alarms/alarm"}]}
    assert trigger_row(fed) == ["/guest/t", "private", "feed /whisk.system/alarms/alarm"]
    rule = {"namespace": "guest", "name": "r", "publish": False,
            "trigger": {"path": "guest", "name": "t"}, "action": {"path": "guest/pkg", "name": "a"}}
    assert rule_row(rule, "active") == ["/guest/r", "private", "active", "/guest/t -> /guest/pkg/a"]


class TestFeedRequests:
    """What the CLI sends to run the feed protocol, and how it reacts to a refusal."""

    @pytest.fixture
    def api(self, mock_api: Callable[..., None]) -> tuple[list[httpx.Request], dict[str, Any]]:
        seen: list[httpx.Request] = []
        feed_answer: dict[str, Any] = {"status": 200, "result": {"status": "success"}}
        trigger = {"namespace": "guest", "name": "t", "parameters": [],
                   "annotations": [{"key": "feed", "value": "/whisk.system/alarms/alarm"}]}

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            if "/actions/" in request.url.path:
                body = {"activationId": FEED_ID, "response": {"result": feed_answer["result"]}}
                return httpx.Response(feed_answer["status"], json=body)
            return httpx.Response(200, json=trigger)

        mock_api(handler)
        return seen, feed_answer

    def test_create_puts_the_feed_annotation_and_invokes_the_feed(
        self, api: tuple[list[httpx.Request], dict[str, Any]], run_cli: Callable[..., Run]
    ) -> None:
        seen, _ = api
        run = run_cli("trigger", "create", "t", "--feed", "/whisk.system/alarms/alarm",
                      "-p", "cron", "*/5 * * * *", "-a", "description", "every 5")
        assert run.rc == 0, run.err
        assert run.out.splitlines() == [
            f"ok: invoked /whisk.system/alarms/alarm with id {FEED_ID}", "ok: created trigger t"
        ]
        put, invoke = seen
        assert put.method == "PUT"
        assert put.url.raw_path == b"/api/v1/namespaces/guest/triggers/t?overwrite=false"
        assert json.loads(put.content) == {"annotations": [
            {"key": "description", "value": "every 5"},
            {"key": "feed", "value": "/whisk.system/alarms/alarm"},
        ]}
        assert invoke.method == "POST"
        assert invoke.url.path == "/api/v1/namespaces/whisk.system/actions/alarms/alarm"
        assert invoke.url.params["blocking"] == "true"
        assert json.loads(invoke.content) == {
            "cron": "*/5 * * * *", "lifecycleEvent": "CREATE", "triggerName": "/guest/t",
            "authKey": "u:k",
        }

    def test_a_refused_create_deletes_the_trigger(
        self, api: tuple[list[httpx.Request], dict[str, Any]], run_cli: Callable[..., Run]
    ) -> None:
        seen, feed_answer = api
        feed_answer.update(status=502, result={"error": "cron pattern 'x' is not valid"})
        run = run_cli("trigger", "create", "t", "--feed", "/whisk.system/alarms/alarm",
                      "-p", "cron", "x")
        assert run.rc == 1 and run.out == ""
        assert "error: Unable to create trigger 't': cron pattern 'x' is not valid" in run.err
        put, create, teardown, delete = seen
        assert json.loads(teardown.content)["lifecycleEvent"] == "DELETE"
        assert (delete.method, delete.url.path) == ("DELETE", "/api/v1/namespaces/guest/triggers/t")

    def test_update_of_a_fed_trigger_sends_the_parameters_to_the_feed(
        self, api: tuple[list[httpx.Request], dict[str, Any]], run_cli: Callable[..., Run]
    ) -> None:
        seen, _ = api
        run = run_cli("trigger", "update", "t", "-p", "cron", "0 * * * *")
        assert run.rc == 0, run.err
        get, invoke = seen  # nothing of the trigger itself changes, so no PUT
        assert get.method == "GET"
        body = json.loads(invoke.content)
        assert body["lifecycleEvent"] == "UPDATE" and body["cron"] == "0 * * * *"

    def test_delete_warns_when_the_feed_refuses(
        self, api: tuple[list[httpx.Request], dict[str, Any]], run_cli: Callable[..., Run]
    ) -> None:
        seen, feed_answer = api
        feed_answer.update(status=502, result={"error": "gone"})
        run = run_cli("trigger", "delete", "t")
        assert (run.rc, run.out) == (0, "ok: deleted trigger t\n")
        warning = "warning: the feed /whisk.system/alarms/alarm did not delete trigger t: gone"
        assert warning in run.err
        assert [r.method for r in seen] == ["GET", "POST", "DELETE"]

    def test_rule_names_are_qualified(
        self, api: tuple[list[httpx.Request], dict[str, Any]], run_cli: Callable[..., Run]
    ) -> None:
        seen, _ = api
        assert run_cli("rule", "create", "r", "t", "pkg/a").rc == 0
        assert run_cli("rule", "update", "r", "/guest/t", "/whisk.system/utils/echo").rc == 0
        create, update = seen
        assert create.url.raw_path == b"/api/v1/namespaces/guest/rules/r?overwrite=false"
        assert json.loads(create.content) == {"trigger": "/guest/t", "action": "/guest/pkg/a"}
        assert update.url.params["overwrite"] == "true"
        assert json.loads(update.content) == {
            "trigger": "/guest/t", "action": "/whisk.system/utils/echo"
        }
        run = run_cli("rule", "create", "r", "pkg/t", "a")
        assert run.rc == 1 and "'pkg/t' is not a trigger name" in run.err and len(seen) == 2


# ============================================================================================
# Against a real server


def test_trigger_and_rule_lifecycle(
    squall: Callable[..., Run], tenant: Tenant, tmp_path: Path
) -> None:
    ns = tenant.namespace
    echo = write_action(tmp_path, "echo", "return {'got': args}")
    assert squall("action", "create", "echo", str(echo)).rc == 0
    run = squall("trigger", "create", "t", "-p", "base", "1")
    assert (run.rc, run.out.strip()) == (0, "ok: created trigger t"), run.err
    assert squall("trigger", "create", "t").rc == 1
    run = squall("trigger", "update", "t", "-a", "description", "demo")
    assert (run.rc, run.out.strip()) == (0, "ok: updated trigger t"), run.err
    doc = squall("trigger", "get", "t").json()
    assert doc["namespace"] == ns and doc["version"] == "0.0.2" and params(doc) == {"base": 1}
    assert squall("trigger", "list").out.splitlines() == ["triggers", f"/{ns}/t  private"]

    run = squall("trigger", "fire", "t")
    assert (run.rc, run.out.strip()) == (0, f"ok: triggered /{ns}/t"), run.err
    assert "no active rule" in run.err

    run = squall("rule", "create", "r", "t", "echo")
    assert (run.rc, run.out.strip()) == (0, "ok: created rule r"), run.err
    rule = squall("rule", "get", "r").json()
    assert rule["status"] == "active"
    assert rule["trigger"] == {"name": "t", "path": ns}
    assert rule["action"] == {"name": "echo", "path": ns}
    assert squall("rule", "list").out.splitlines() == [
        "rules", f"/{ns}/r  private  active  /{ns}/t -> /{ns}/echo"
    ]

    run = squall("trigger", "fire", "t", "-p", "x", "2")
    assert run.rc == 0, run.err
    assert run.out.startswith(f"ok: triggered /{ns}/t with id ")
    fired = ACTIVATION_ID.search(run.out)
    assert fired, run.out

    def echo_ran() -> Any:
        listing = squall("activation", "list", "echo")
        return ACTIVATION_ID.search(listing.out.partition("\n")[2])

    ran = eventually(echo_ran, timeout=60)
    assert ran, "the rule never invoked echo"
    result = squall("activation", "result", ran.group(0)).json()
    assert result == {"got": {"base": 1, "x": 2}}

    run = squall("rule", "disable", "r")
    assert (run.rc, run.out.strip()) == (0, "ok: disabled rule r"), run.err
    assert squall("rule", "get", "r").json()["status"] == "inactive"
    assert squall("trigger", "fire", "t").out.strip() == f"ok: triggered /{ns}/t"
    run = squall("rule", "enable", "r")
    assert (run.rc, run.out.strip()) == (0, "ok: enabled rule r"), run.err
    assert squall("rule", "get", "r").json()["status"] == "active"

    assert squall("rule", "delete", "r").out.strip() == "ok: deleted rule r"
    assert squall("rule", "get", "r").rc == 1
    assert squall("trigger", "delete", "t").out.strip() == "ok: deleted trigger t"
    run = squall("trigger", "get", "t")
    assert run.rc == 1 and "error:" in run.err
    assert squall("trigger", "list").out.splitlines() == ["triggers"]


def test_trigger_with_a_once_alarm_feed(squall: Callable[..., Run], tenant: Tenant) -> None:
    when = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(microsecond=0)
    date = when.isoformat().replace("+00:00", "Z")
    run = squall("trigger", "create", "wake", "--feed", "/whisk.system/alarms/once",
                 "-p", "date", date)
    assert run.rc == 0, run.err
    assert run.out.splitlines()[-1] == "ok: created trigger wake"
    assert run.out.startswith("ok: invoked /whisk.system/alarms/once with id ")

    run = squall("trigger", "get", "wake")
    assert run.rc == 0, run.err
    trigger, feed = documents(run.out)
    assert {"key": "feed", "value": "/whisk.system/alarms/once"} in trigger["annotations"]
    assert trigger["parameters"] == []  # the parameters went to the feed
    config = feed["config"]
    assert config["name"] == "wake" and config["namespace"] == tenant.namespace
    assert datetime.fromisoformat(config["date"].replace("Z", "+00:00")) == when
    assert squall("trigger", "get", "wake", "--no-feed").json() == trigger
    assert squall("trigger", "list").out.splitlines() == [
        "triggers", f"/{tenant.namespace}/wake  private  feed /whisk.system/alarms/once"
    ]

    run = squall("trigger", "delete", "wake")
    assert (run.rc, run.out.strip(), run.err) == (0, "ok: deleted trigger wake", "")
    assert squall("trigger", "get", "wake").rc == 1


def test_a_refused_feed_leaves_no_trigger(squall: Callable[..., Run], tenant: Tenant) -> None:
    run = squall("trigger", "create", "bad", "--feed", "/whisk.system/alarms/alarm",
                 "-p", "cron", "bad")
    assert run.rc == 1 and run.out == ""
    assert "Unable to create trigger 'bad': cron pattern 'bad' is not valid" in run.err
    assert squall("trigger", "get", "bad").rc == 1
    assert squall("trigger", "list").out.splitlines() == ["triggers"]
