"""The operator's verbs on the row selected: describe (`d`, enter), raw JSON (`y`), deploy (`n`),
invoke (`i`), kill (`k`), remove a container (`x`), delete an action (`D`), and opening or closing
a package in the Actions view (enter, space, right; left closes it).

Destructive verbs ask first, naming the exact target, and act on what the operator saw; each
outcome is reported. Backend calls run in workers; a verb that changed something asks for a poll
at once (DataChanged), which replaces the pending one.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from textual import on, work

from .client import ApiError
from .screens import (
    ActionScreen, ConfirmScreen, DataChanged, DeployScreen, InvokeScreen, JsonScreen, RecordScreen,
    TypeToConfirmScreen,
)
from .selection import ConsoleState
from .table import LiveTable
from .views import Rows, is_package_key

#: Verbs that change something: hidden in read-only mode.
MUTATING = {"deploy", "invoke", "kill", "remove_container", "delete", "fire", "enable_rule", "disable_rule"}


class Verbs(ConsoleState):
    """The console's verbs on the row selected."""

    # --- packages open and close --------------------------------------------------------------

    @on(LiveTable.FoldToggled)
    def _fold(self, event: LiveTable.FoldToggled) -> None:
        if event.sheet != "actions" or self.snapshot is None:
            return
        name = event.key.removesuffix("/")
        if event.open:
            self.expanded.add(name)
        else:
            self.expanded.discard(name)
        package = next((p for p in self.snapshot.packages if p["name"] == name), None)
        if event.open and package is not None and package.get("binding") and name not in self.snapshot.bound:
            self.post_message(DataChanged())  # what it is bound to comes with the next poll, now
        self.render_sheet("actions")  # a package of the namespace: its actions are in the snapshot

    # --- reading ------------------------------------------------------------------------------

    def action_describe(self) -> None:
        if self.view == "actions" and (key := self._selected("actions")):
            if is_package_key(key):
                self._show_package(key.removesuffix("/"))
            else:
                self.push_screen(ActionScreen(self.client, key))
        elif self.view == "activations" and (aid := self._selected("activations")):
            if aid in self._running_ids():
                self.notify("still running: its record is stored when it completes")
            else:
                self.push_screen(RecordScreen(self.client, aid))
        elif self.view in ("containers", "invokers", "triggers", "rules"):
            self.action_raw()

    action_logs = action_describe

    def action_raw(self) -> None:
        if self.snapshot is None:
            return
        if self.view == "containers" and (c := self._selected_container()):
            self.push_screen(JsonScreen(f"Container {c['id']}", c))
        elif self.view == "invokers" and (key := self._selected("invokers")):
            inv = next(i for i in self.snapshot.status["invokers"] if str(i["id"]) == key)
            self.push_screen(JsonScreen(f"invoker{key}", inv))
        elif self.view == "actions" and (key := self._selected("actions")):
            if is_package_key(key):
                self._show_package(key.removesuffix("/"))
            elif (entry := self.rows.get("actions", Rows()).entries.get(key)) is not None:
                self.push_screen(JsonScreen(f"Action {key}", entry))
        elif self.view == "activations" and (aid := self._selected("activations")):
            self.push_screen(RecordScreen(self.client, aid))
        elif self.view in ("triggers", "rules") and (key := self._selected(self.view)):
            if (entry := self.rows.get(self.view, Rows()).entries.get(key)) is not None:
                self.push_screen(JsonScreen(f"{self.view[:-1].capitalize()} {key}", entry))

    @work(group="verbs")
    async def _show_package(self, name: str) -> None:
        """The package's document: its parameters, binding, and the actions in it."""
        try:
            doc = await self.client.get_package(name)
        except ApiError as ex:
            self.notify(str(ex), title=f"could not read package {name}", severity="error")
            return
        self.push_screen(JsonScreen(f"Package /{self.namespace}/{name}", doc))

    # --- changing -----------------------------------------------------------------------------

    @work(group="verbs")
    async def action_deploy(self) -> None:
        try:  # the kinds this server runs, from its runtime manifest
            runtimes = (await self.client.info()).get("runtimes") or {}
            kinds = [r["kind"] for family in runtimes.values() for r in family if not r.get("deprecated")]
        except ApiError:
            kinds = []
        self.push_screen(DeployScreen(self._selected("actions") or "", kinds=kinds), self._deployed)

    def _deployed(self, form: dict[str, Any] | None) -> None:
        if form is not None:
            self._put_action(form["name"], form["body"])

    @work(group="verbs")
    async def _put_action(self, name: str, body: dict[str, Any]) -> None:
        try:
            doc = await self.client.put_action(name, body, overwrite=True)
        except ApiError as ex:
            self.notify(str(ex), title=f"could not deploy {name}", severity="error")
            return
        self.notify(f"{name} is at version {doc['version']}", title="deployed")
        self.post_message(DataChanged())

    def action_invoke(self) -> None:
        if (name := self._selected_action("invoke")) is not None:
            self.push_screen(InvokeScreen(self.client, name))

    def action_kill(self) -> None:
        target = self._kill_target()
        if target is None:
            self.notify("select a running activation (Activations) or a busy container (Containers)",
                        severity="warning")
            return
        self.push_screen(ConfirmScreen("Kill activation?", f"Activation [b]{target}[/b] will be stopped and "
                                       "its container destroyed.", "Kill"),
                         partial(self._confirmed_kill, target))

    def _confirmed_kill(self, target: str, yes: bool | None) -> None:
        if yes:
            self._call("kill", target, self.client.cancel_activation(target), f"killed activation {target}")

    def action_remove_container(self) -> None:
        c = self._selected_container()
        if c is None:
            self.notify("select a container in the Containers view", severity="warning")
            return
        detail = (f"Container [b]{c['id']}[/b] on invoker{c['invoker']} ({c['state']}, {c['action'] or 'no action'}) "
                  "will be destroyed" + (f"; its running activation {c['activationId']} ends." if c["state"] == "busy"
                                         else "."))
        self.push_screen(ConfirmScreen("Remove container?", detail, "Remove"),
                         partial(self._confirmed_remove, c["id"]))

    def _confirmed_remove(self, container_id: str, yes: bool | None) -> None:
        if yes:
            self._call("remove", container_id, self.client.remove_container(container_id),
                       f"removed container {container_id}")

    def action_delete(self) -> None:
        name = self._selected_action("delete")
        if name is None:
            return
        self.push_screen(TypeToConfirmScreen(f"Delete action /{self.namespace}/{name}?", name, "Delete"),
                         partial(self._confirmed_delete, name))

    def _confirmed_delete(self, name: str, yes: bool | None) -> None:
        if yes:
            self._call("delete", name, self.client.delete_action(name), f"deleted action {name}")

    @work(group="verbs")
    async def _call(self, verb: str, target: str, request: Any, done: str) -> None:
        try:
            await request
        except ApiError as ex:
            self.notify(str(ex), title=f"could not {verb} {target}", severity="error")
            return
        self.notify(done, title=verb)
        self.post_message(DataChanged())

    @on(LiveTable.RowSelected)
    def _row_selected(self) -> None:
        """enter on a row describes it (the focused table's own enter binding would swallow `d,enter`)."""
        self.action_describe()
