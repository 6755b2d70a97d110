"""What the operator has selected, and the state of the console that its verbs and its navigation
share: the base of SquallConsole (app.py), of Verbs (verbs.py) and of Navigation (navigation.py).
"""

from __future__ import annotations

from typing import Any

from textual.app import App

from .client import AsyncApiClient
from .table import LiveTable
from .views import Rows, Snapshot, is_package_key


class ConsoleState(App[None]):
    """Declared here, set by SquallConsole: the client, the namespace shown, the view on screen and
    its data; and what a verb or a key needs to know of the selection."""

    client: AsyncApiClient
    apihost: str
    namespace: str
    readonly: bool
    refresh_s: float
    view: str
    snapshot: Snapshot | None
    filters: dict[str, str]  # view -> the filter typed
    expanded: set[str]  # the packages open in the Actions view
    rows: dict[str, Rows]  # view -> the rows it shows

    # What SquallConsole does: show a view, poll now, show a view's rows again from its snapshot.
    def show(self, view: str) -> None:
        raise NotImplementedError

    def poll(self) -> Any:
        raise NotImplementedError

    def render_sheet(self, view: str) -> None:
        raise NotImplementedError

    @property
    def table(self) -> LiveTable:
        return self.query_one("#views", LiveTable)

    def _selected(self, view: str) -> str | None:
        if self.view != view:
            return None
        return self.table.sheets[view].selected_key

    def _selected_action(self, doing: str) -> str | None:
        """The action selected in the Actions view (`name` or `pkg/name`), else say what to select."""
        key = self._selected("actions")
        if key is None:
            self.notify(f"select an action in the Actions view to {doing} it", severity="warning")
        elif is_package_key(key):
            self.notify(f"{key} is a package: enter opens it; select one of its actions to {doing}",
                        severity="warning")
            return None
        return key

    def _selected_container(self) -> dict[str, Any] | None:
        key = self._selected("containers")
        if key is None or self.snapshot is None:
            return None
        for inv in self.snapshot.status.get("invokers", []):
            for c in inv["containers"]:
                if c["id"] == key:
                    return {**c, "invoker": inv["id"]}
        return None

    def _running_ids(self) -> set[str]:
        return {r["activationId"] for r in (self.snapshot.status.get("running", []) if self.snapshot else [])}

    def _kill_target(self) -> str | None:
        if self.view == "activations":
            key = self._selected("activations")
            return key if key in self._running_ids() else None
        if self.view == "containers":
            c = self._selected_container()
            return c.get("activationId") if c and c["state"] == "busy" else None
        return None
