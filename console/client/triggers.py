"""Trigger endpoints: CRUD, listing and fire."""

from __future__ import annotations

from .base import D, Endpoints, I, L, S, page
from .calls import Call, JsonDict, flag, parse_invoke


class TriggerEndpoints(Endpoints[D, L, S, I]):
    """``/namespaces/{ns}/triggers[/{name}]``; a feed is managed by the caller (as ``wsk`` does),
    so these are the bare entity calls."""

    def list_triggers(
        self, namespace: str | None = None, limit: int | None = None, skip: int = 0
    ) -> L:
        """Trigger summaries (no parameters, limits or rules)."""
        return self._run(
            Call("GET", f"{self._ns_path(namespace)}/triggers", params=page(limit, skip))
        )

    def count_triggers(self, namespace: str | None = None) -> D:
        """``{"triggers": n}``: how many triggers the namespace holds."""
        return self._run(
            Call("GET", f"{self._ns_path(namespace)}/triggers", params={"count": "true"})
        )

    def get_trigger(self, name: str) -> D:
        """The trigger document, with the ``rules`` that fire on it."""
        return self._run(Call("GET", self._entity("triggers", name)))

    def put_trigger(self, name: str, body: JsonDict, overwrite: bool = False) -> D:
        """Create (409 if it exists) or update a trigger; returns the document."""
        return self._run(
            Call(
                "PUT",
                self._entity("triggers", name),
                params={"overwrite": flag(overwrite)},
                json=body,
            )
        )

    def delete_trigger(self, name: str) -> D:
        """Delete the trigger (its feed, if any, is the caller's to tear down first)."""
        return self._run(Call("DELETE", self._entity("triggers", name)))

    def fire_trigger(self, name: str, params: JsonDict | None = None) -> I:
        """Fire the trigger: an :class:`Invocation` whose ``id`` is the trigger activation's (status
        202), or ``None`` with status 204 when no active rule listens to the trigger."""
        return self._run(
            Call("POST", self._entity("triggers", name), json=params or {}, parse=parse_invoke)
        )
