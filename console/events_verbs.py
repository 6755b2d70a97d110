"""The verbs of the Triggers and Rules views: fire the selected trigger (`t`, as k9s triggers a
cron job), enable (`e`) or disable (`s`, as k9s suspends one) the selected rule. Disabling asks
first, naming the rule, its trigger and its action; Cancel has the focus.

Each call runs in a worker, its outcome is reported, and a poll follows at once (DataChanged).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from textual import work
from textual.binding import Binding

from .client import ApiError
from .events_data import ACTIVE, INACTIVE, fire_trigger, set_rule_status
from .screens import ConfirmScreen, DataChanged
from .selection import ConsoleState

EVENT_BINDINGS = [
    Binding("6", "show('triggers')", "Triggers", id="view.triggers", show=False),
    Binding("7", "show('rules')", "Rules", id="view.rules", show=False),
    Binding("t", "fire", "Fire", id="fire"),
    Binding("e", "enable_rule", "Enable", id="enable_rule"),
    Binding("s", "disable_rule", "Disable", id="disable_rule"),
]
#: Each verb's view: elsewhere it is neither shown nor run.
VERB_VIEW = {"fire": "triggers", "enable_rule": "rules", "disable_rule": "rules"}


class EventVerbs(ConsoleState):
    """Fire, enable and disable, on the row selected."""

    def action_fire(self) -> None:
        name = self._selected("triggers")
        if name is None:
            self.notify("select a trigger in the Triggers view to fire it", severity="warning")
            return
        self._fire(name)

    @work(group="verbs")
    async def _fire(self, name: str) -> None:
        try:
            fire_id = await fire_trigger(self.client, name)
        except ApiError as ex:
            self.notify(str(ex), title=f"could not fire {name}", severity="error")
            return
        if fire_id is None:
            self.notify(f"{name} has no active rule: nothing ran, nothing was recorded", title="fire",
                        severity="warning")
        else:
            self.notify(f"fired {name}: activation {fire_id}", title="fire")
        self.post_message(DataChanged())

    def _selected_rule(self, doing: str) -> dict[str, Any] | None:
        key, rows = self._selected("rules"), self.rows.get("rules")
        entry = rows.entries.get(key) if rows is not None and key is not None else None
        if entry is None:
            self.notify(f"select a rule in the Rules view to {doing} it", severity="warning")
        return entry

    def action_enable_rule(self) -> None:
        if (rule := self._selected_rule("enable")) is not None:
            self._set_status(str(rule["name"]), ACTIVE)

    def action_disable_rule(self) -> None:
        rule = self._selected_rule("disable")
        if rule is None:
            return
        name, trigger, action = str(rule["name"]), rule.get("trigger") or {}, rule.get("action") or {}
        detail = (f"Rule [b]{name}[/b] will stop running [b]/{action.get('path')}/{action.get('name')}[/b] "
                  f"when [b]{trigger.get('name')}[/b] fires (the trigger's other rules still run). "
                  "Enable it again with e.")
        self.push_screen(ConfirmScreen("Disable rule?", detail, "Disable"), partial(self._confirmed_disable, name))

    def _confirmed_disable(self, name: str, yes: bool | None) -> None:
        if yes:
            self._set_status(name, INACTIVE)

    @work(group="verbs")
    async def _set_status(self, name: str, status: str) -> None:
        verb = "enable" if status == ACTIVE else "disable"
        try:
            await set_rule_status(self.client, name, status)
        except ApiError as ex:
            self.notify(str(ex), title=f"could not {verb} rule {name}", severity="error")
            return
        self.notify(f"rule {name} is {status}", title=verb)
        self.post_message(DataChanged())
