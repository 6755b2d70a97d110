"""The command palette (ctrl+p): every view and verb by name, for whoever does not know the key."""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .views import VIEWS


class SquallCommands(Provider):
    """Every verb and view in the command palette (ctrl+p)."""

    def _commands(self) -> list[tuple[str, str, Any]]:
        app: Any = self.app  # a SquallConsole (not imported: it imports this)
        commands: list[tuple[str, str, Any]] = [(f"Go to {v}", f"show the {v} view", partial(app.show, v))
                                                for v in VIEWS]
        commands += [
            ("Filter rows", "filter the current view (/)", app.action_filter),
            ("Refresh faster", "poll the backend more often (+)", app.action_faster),
            ("Refresh slower", "poll the backend less often (-)", app.action_slower),
            ("Help", "list every key (?)", app.action_help),
        ]
        if not app.readonly:
            commands += [
                ("Deploy an action", "create or update an action from a file (n)", app.action_deploy),
                ("Invoke the selected action", "with a JSON parameter editor (i)", app.action_invoke),
                ("Kill the selected activation", "cancel a running activation (k)", app.action_kill),
                ("Remove the selected container", "destroy it on its invoker (x)", app.action_remove_container),
                ("Delete the selected action", "type its name to confirm (D)", app.action_delete),
                ("Fire the selected trigger", "with no parameters, in the Triggers view (t)", app.action_fire),
                ("Enable the selected rule", "in the Rules view (e)", app.action_enable_rule),
                ("Disable the selected rule", "in the Rules view, asks first (s)", app.action_disable_rule),
            ]
        return commands

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
