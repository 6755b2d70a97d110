"""The console's Triggers and Rules views and their verbs, driven key by key (Textual's Pilot) against
a real `squall up`, as in test_console.py: each verb is checked on the screen and in the backend."""

from __future__ import annotations

import json
from typing import Any

import httpx
from textual.widgets import Button

from conftest import deploy
from console.events_data import per_bucket
from console.screens import ConfirmScreen, JsonScreen
from test_console import (  # noqa: F401  (the fixtures)
    ECHO, SIZE, backend, cell, clean_home, dialog_text, guest, in_thread, make_app, plain, row_keys, select,
    until,
)

FEED = "/whisk.system/alarms/alarm"


def trigger(c: httpx.Client, name: str, **body: Any) -> None:
    r = c.put(f"/api/v1/namespaces/_/triggers/{name}", params={"overwrite": "true"}, json=body)
    assert r.status_code == 200, r.text


def rule(c: httpx.Client, name: str, trigger_name: str, action: str, status: str = "active") -> None:
    r = c.put(f"/api/v1/namespaces/_/rules/{name}", params={"overwrite": "true"},
              json={"trigger": f"/_/{trigger_name}", "action": f"/_/{action}"})
    assert r.status_code == 200, r.text
    r = c.post(f"/api/v1/namespaces/_/rules/{name}", json={"status": status})
    assert r.status_code == 200, r.text


def rule_status(c: httpx.Client, name: str) -> str:
    return c.get(f"/api/v1/namespaces/_/rules/{name}").json()["status"]


def notices(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_a_trigger_shows_its_feed_and_both_rules_with_their_status(make_app, guest: httpx.Client) -> None:
    deploy(guest, "con-ev-echo", ECHO)
    trigger(guest, "con-ev-feed", annotations=[{"key": "feed", "value": FEED}])
    rule(guest, "con-ev-on", "con-ev-feed", "con-ev-echo")
    rule(guest, "con-ev-off", "con-ev-feed", "con-ev-echo", status="inactive")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        assert app.view == "triggers"
        await until(pilot, lambda: "con-ev-feed" in row_keys(app, "triggers"), "the trigger's row")
        assert cell(app, "triggers", "con-ev-feed", "feed") == FEED
        assert cell(app, "triggers", "con-ev-feed", "rules") == "con-ev-off ✗ con-ev-on ✓"
        assert cell(app, "triggers", "con-ev-feed", "fires 1 min") == "0"
        keys = plain(app.query_one("#keys"))
        assert "t Fire" in keys and "Enable" not in keys and "Kill" not in keys
        # d: the trigger's document, its rules in it.
        await select(pilot, "triggers", "con-ev-feed")
        await pilot.press("d")
        assert isinstance(app.screen, JsonScreen)
        doc = json.loads(plain(app.screen.query_one("VerticalScroll Static")))
        assert set(doc["rules"]) == {"guest/con-ev-on", "guest/con-ev-off"}
        await pilot.press("escape")

        await pilot.press("7")
        assert app.view == "rules"
        await until(pilot, lambda: {"con-ev-on", "con-ev-off"} <= set(row_keys(app, "rules")), "the rules' rows")
        for name, status in (("con-ev-on", "active"), ("con-ev-off", "inactive")):
            assert cell(app, "rules", name, "trigger") == "con-ev-feed"
            assert cell(app, "rules", name, "action") == "con-ev-echo"
            assert cell(app, "rules", name, "status") == status
        keys = plain(app.query_one("#keys"))
        assert "e Enable" in keys and "s Disable" in keys and "Fire" not in keys


async def test_firing_from_the_keyboard_counts_the_fire_and_links_the_rules_activation(
        make_app, guest: httpx.Client) -> None:
    deploy(guest, "con-ev-greet", ECHO)
    trigger(guest, "con-ev-fired")
    rule(guest, "con-ev-greets", "con-ev-fired", "con-ev-greet")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await select(pilot, "triggers", "con-ev-fired")
        before = int(cell(app, "triggers", "con-ev-fired", "fires 1 min"))
        await pilot.press("t")
        notice = await until(pilot, lambda: next((n for n in notices(app) if n.startswith("fired con-ev-fired")), None),
                             "the fire's notice")
        fire_id = notice.split("activation")[-1].strip()
        await until(pilot, lambda: int(cell(app, "triggers", "con-ev-fired", "fires 1 min")) == before + 1,
                    "the fire count to go up")
        spark = cell(app, "triggers", "con-ev-fired", "per 5 s, last minute")
        assert len(spark) == 12 and spark[-1] == "█"  # the newest 5 s hold the most fires

        # The fire is an activation record; the rule's action activation names it.
        r = guest.get(f"/api/v1/namespaces/_/activations/{fire_id}")
        assert r.status_code == 200, r.text
        action_id = json.loads(r.json()["logs"][0])["activationId"]
        await pilot.press("3")
        await until(pilot, lambda: {fire_id, action_id} <= set(row_keys(app, "activations")), "both records")
        assert cell(app, "activations", fire_id, "action") == "con-ev-fired"
        assert cell(app, "activations", fire_id, "start") == "trigger"
        assert cell(app, "activations", action_id, "action") == "con-ev-greet  ← trigger con-ev-fired"
        await until(pilot, lambda: cell(app, "activations", action_id, "status") == "success", "its record")
        assert cell(app, "activations", action_id, "action") == "con-ev-greet  ← trigger con-ev-fired"


async def test_firing_a_trigger_without_an_active_rule_says_nothing_ran(make_app, guest: httpx.Client) -> None:
    trigger(guest, "con-ev-idle")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await select(pilot, "triggers", "con-ev-idle")
        assert cell(app, "triggers", "con-ev-idle", "rules") == "no rule"
        await pilot.press("t")
        await until(pilot, lambda: any("con-ev-idle has no active rule" in n for n in notices(app)), "the notice")
        await pilot.pause(0.7)
        assert cell(app, "triggers", "con-ev-idle", "fires 1 min") == "0"  # nothing was recorded


async def test_disabling_a_rule_asks_first_then_it_shows_inactive_and_e_enables_it(
        make_app, guest: httpx.Client) -> None:
    deploy(guest, "con-ev-target", ECHO)
    trigger(guest, "con-ev-switch")
    rule(guest, "con-ev-toggled", "con-ev-switch", "con-ev-target")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("7")
        await select(pilot, "rules", "con-ev-toggled")
        assert cell(app, "rules", "con-ev-toggled", "status") == "active"

        # s asks, naming the rule, its action and its trigger; Cancel has the focus, so enter backs out.
        await pilot.press("s")
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        said = dialog_text(dialog)
        assert "con-ev-toggled" in said and "/guest/con-ev-target" in said and "con-ev-switch" in said
        assert app.focused is dialog.query_one("#cancel", Button)
        await pilot.press("enter")
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.pause(0.7)
        assert await in_thread(lambda: rule_status(guest, "con-ev-toggled")) == "active"
        assert cell(app, "rules", "con-ev-toggled", "status") == "active"

        # s again, tab to Disable, confirm: the rule shows inactive, here and on its trigger.
        await pilot.press("s")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("tab", "enter")
        assert not isinstance(app.screen, ConfirmScreen)
        await until(pilot, lambda: cell(app, "rules", "con-ev-toggled", "status") == "inactive", "the rule inactive")
        assert await in_thread(lambda: rule_status(guest, "con-ev-toggled")) == "inactive"
        await pilot.press("6")
        await until(pilot, lambda: cell(app, "triggers", "con-ev-switch", "rules") == "con-ev-toggled ✗",
                    "the trigger's rule inactive")

        # e enables it again, without asking.
        await pilot.press("7")
        await select(pilot, "rules", "con-ev-toggled")
        await pilot.press("e")
        assert not isinstance(app.screen, ConfirmScreen)
        await until(pilot, lambda: cell(app, "rules", "con-ev-toggled", "status") == "active", "the rule active")
        assert await in_thread(lambda: rule_status(guest, "con-ev-toggled")) == "active"


def test_fires_are_counted_per_5_s_oldest_first() -> None:
    now = 1_000.0
    fires = [{"start": int((now - back) * 1000)} for back in (0.5, 1, 7, 59, 61)]
    assert per_bucket(fires, now) == [1] + [0] * 9 + [1, 2]  # 61 s ago is outside the minute
