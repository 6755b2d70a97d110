"""`/whisk.system/alarms` through the feed protocol as clients speak it: a cron alarm that stops at
maxTriggers, `once` (and deleteAfterFire), bad input with the alarms package's texts, and
schedules that survive a SIGKILL of the controller: no fire twice, none while down made up
except a `once` that fell due meanwhile."""

from __future__ import annotations

import datetime as dt
import signal
import time
from pathlib import Path

import httpx

from conftest import Server, deploy, start_server

ECHO = "def main(args):\n    return args\n"


def feed(c: httpx.Client, ns: str, auth: str, event: str, trigger: str, feed_name: str = "alarm",
         **params) -> httpx.Response:
    body = {"lifecycleEvent": event, "triggerName": f"/{ns}/{trigger}", "authKey": auth, **params}
    return c.post(f"/api/v1/namespaces/whisk.system/actions/alarms/{feed_name}", params={"blocking": "true"}, json=body)


def make(c: httpx.Client, trigger: str, feed_name: str) -> None:
    r = c.put(f"/api/v1/namespaces/_/triggers/{trigger}",
              json={"annotations": [{"key": "feed", "value": f"/whisk.system/alarms/{feed_name}"}]})
    assert r.status_code == 200, r.text
    deploy(c, f"{trigger}_action", ECHO)
    r = c.put(f"/api/v1/namespaces/_/rules/{trigger}_rule", json={"trigger": f"/_/{trigger}", "action": f"/_/{trigger}_action"})
    assert r.status_code == 200, r.text


def fires(c: httpx.Client, trigger: str) -> list[dict]:
    """The trigger's activations (its fires), oldest first (not the feed action's, of a like name)."""
    listed = c.get("/api/v1/namespaces/_/activations", params={"name": trigger, "limit": 200, "docs": "true"}).json()
    return sorted((a for a in listed if {"key": "kind", "value": "trigger"} in a["annotations"]),
                  key=lambda a: a["start"])


def wait_fires(c: httpx.Client, trigger: str, count: int, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(found := fires(c, trigger)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def iso(seconds_from_now: float) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds_from_now)).isoformat()


def test_a_cron_alarm_every_2s_fires_3_times_then_stops(server: Server) -> None:
    ns, auth = server.new_namespace()
    with server.client(auth) as c:
        make(c, "every2", "alarm")
        r = feed(c, ns, auth, "CREATE", "every2", cron="*/2 * * * * *", maxTriggers=3, trigger_payload={"n": 1})
        assert r.status_code == 200 and r.json()["response"]["result"] == {"status": "success"}, r.text
        found = wait_fires(c, "every2", 3, timeout=15)
        time.sleep(4.5)  # two more slots pass: nothing more fires
        found = fires(c, "every2")
        assert len(found) == 3 and all(f["response"]["result"] == {"n": 1} for f in found)
        starts = [f["start"] / 1000 for f in found]
        assert all(1.5 < b - a < 2.5 for a, b in zip(starts, starts[1:]))  # one per 2 s slot
        read = feed(c, ns, auth, "READ", "every2").json()["response"]["result"]
        assert read["config"]["cron"] == "*/2 * * * * *" and read["fired"] == 3
        assert read["status"]["active"] is False
        assert read["status"]["reason"] == {"kind": "AUTO", "message": "Automatically disabled after reaching max triggers"}
        actions = c.get("/api/v1/namespaces/_/activations", params={"name": "every2_action"}).json()
        assert len(actions) == 3  # each fire ran the rule's action


def test_once_fires_once_and_can_delete_its_trigger(server: Server) -> None:
    ns, auth = server.new_namespace()
    with server.client(auth) as c:
        make(c, "once", "once")
        assert feed(c, ns, auth, "CREATE", "once", "once", date=iso(1.5), trigger_payload="ping").status_code == 200
        make(c, "gone", "once")
        assert feed(c, ns, auth, "CREATE", "gone", "once", date=iso(1.5), deleteAfterFire="true").status_code == 200
        found = wait_fires(c, "once", 1, timeout=10)
        assert len(found) == 1 and found[0]["response"]["result"] == {"payload": "ping"}
        read = feed(c, ns, auth, "READ", "once", "once").json()["response"]["result"]
        assert read["status"]["active"] is False and read["status"]["reason"]["message"] == "Automatically disabled after firing once"
        deadline = time.monotonic() + 10
        while c.get("/api/v1/namespaces/_/triggers/gone").status_code != 404:
            assert time.monotonic() < deadline, "deleteAfterFire did not delete the trigger"
            time.sleep(0.2)
        assert len(fires(c, "gone")) == 1
        assert c.get("/api/v1/namespaces/_/rules/gone_rule").json()["status"] == "inactive"  # rules stay


def test_bad_alarm_parameters_are_refused_with_the_packages_texts(server: Server) -> None:
    ns, auth = server.new_namespace()
    with server.client(auth) as c:
        c.put("/api/v1/namespaces/_/triggers/t", json={})
        cases = [
            ("alarm", {}, "alarms trigger feed is missing the cron parameter"),
            ("alarm", {"cron": "61 * * * *"}, "cron pattern '61 * * * *' is not valid"),
            ("alarm", {"cron": "* * * * *", "timezone": "Mars/Olympus"}, "Invalid timezone."),
            ("alarm", {"cron": "* * * * *", "stopDate": "yesterday"}, "stopDate parameter 'yesterday' is not a valid Date"),
            ("alarm", {"cron": "* * * * *", "maxTriggers": 2, "stopDate": iso(600)},
             "maxTriggers is not allowed when the stopDate parameter is specified"),
            ("interval", {}, "interval trigger feed is missing the minutes parameter"),
            ("interval", {"minutes": "x"}, "the minutes parameter must be an integer"),
            ("interval", {"minutes": 0}, "the minutes parameter must be an integer greater than zero"),
            ("once", {}, "alarms once trigger feed is missing the date parameter"),
            ("once", {"date": "2001-01-01T00:00:00Z"}, "date parameter '2001-01-01T00:00:00Z' must be in the future"),
            ("once", {"date": iso(60), "deleteAfterFire": "maybe"}, "deleteAfterFire parameter must be one of [false, true, rules]."),
        ]
        for name, params, text in cases:
            r = feed(c, ns, auth, "CREATE", "t", name, **params)
            assert r.status_code == 502 and r.json()["response"]["result"] == {"error": text}, (name, params, r.text)
        r = feed(c, ns, "nobody:secret", "CREATE", "t", cron="* * * * *")
        assert r.json()["response"]["result"] == {"error": "Trigger authentication request failed."}
        assert c.get("/api/v1/namespaces/_/activations", params={"name": "t"}).json() == []  # nothing fired


def test_schedules_survive_a_sigkill_and_no_fire_happens_twice(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "home")
    try:
        ns, auth = srv.new_namespace()
        with srv.client(auth) as c:
            make(c, "tick", "alarm")
            assert feed(c, ns, auth, "CREATE", "tick", cron="* * * * * *").status_code == 200
            make(c, "late", "once")
            assert feed(c, ns, auth, "CREATE", "late", "once", date=iso(4)).status_code == 200
            wait_fires(c, "tick", 3, timeout=10)
        srv.stop(signal.SIGKILL, timeout=30)
        down_from = time.time()
        time.sleep(5)  # the `once` falls due while Squall is down; so do five ticks
        srv.start()
        down_to = time.time()
        with srv.client(auth) as c:
            late = wait_fires(c, "late", 1, timeout=10)
            before = len(fires(c, "tick"))
            time.sleep(3)
            ticks = fires(c, "tick")
            assert len(ticks) >= before + 2  # it goes on after the restart
            read = feed(c, ns, auth, "READ", "tick").json()["response"]["result"]
            # every fire the schedule counted is one record, and no second fired twice
            seconds = [int(t["start"] // 1000) for t in ticks]  # the second each fire was due: never early
            assert len(ticks) in (read["fired"], read["fired"] - 1)  # one may be committing right now
            assert len(set(seconds)) == len(seconds), seconds
            # the ticks that fell due while it was down were not made up
            assert not [s for s in seconds if down_from + 1 < s < down_to - 1]
            assert len(late) == 1 and late[0]["start"] / 1000 >= down_to - 1  # fired once, late, at the start
    finally:
        if srv.process is not None:
            srv.stop()
