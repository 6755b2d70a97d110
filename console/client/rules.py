"""Rule endpoints: CRUD, listing, enable and disable."""

from __future__ import annotations

from .base import D, Endpoints, I, L, S, page
from .calls import Call, flag


class RuleEndpoints(Endpoints[D, L, S, I]):
    """``/namespaces/{ns}/rules[/{name}]``: a rule ties a trigger to an action."""

    def list_rules(
        self, namespace: str | None = None, limit: int | None = None, skip: int = 0
    ) -> L:
        """Rule summaries (OpenWhisk leaves out the status here; ``get_rule`` has it)."""
        return self._run(Call("GET", f"{self._ns_path(namespace)}/rules", params=page(limit, skip)))

    def count_rules(self, namespace: str | None = None) -> D:
        """``{"rules": n}``: how many rules the namespace holds."""
        return self._run(
            Call("GET", f"{self._ns_path(namespace)}/rules", params={"count": "true"})
        )

    def get_rule(self, name: str) -> D:
        """The rule with its ``status`` (``active`` or ``inactive``), trigger and action."""
        return self._run(Call("GET", self._entity("rules", name)))

    def put_rule(self, name: str, trigger: str, action: str, overwrite: bool = False) -> D:
        """Create (409 if it exists) or update a rule; ``trigger`` and ``action`` are fully
        qualified names (``/_/t``, ``/whisk.system/utils/echo``). A new rule starts active."""
        return self._run(
            Call(
                "PUT",
                self._entity("rules", name),
                params={"overwrite": flag(overwrite)},
                json={"trigger": trigger, "action": action},
            )
        )

    def delete_rule(self, name: str) -> D:
        """Delete the rule; returns the deleted document."""
        return self._run(Call("DELETE", self._entity("rules", name)))

    def set_rule_status(self, name: str, active: bool) -> D:
        """Enable or disable the rule; the server answers 200 with no body (``{}`` here)."""
        status = "active" if active else "inactive"
        return self._run(Call("POST", self._entity("rules", name), json={"status": status}))

    def enable_rule(self, name: str) -> D:
        """Let the rule fire its action again."""
        return self.set_rule_status(name, True)

    def disable_rule(self, name: str) -> D:
        """Stop the rule from firing its action, keeping it."""
        return self.set_rule_status(name, False)
