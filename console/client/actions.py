"""Action endpoints: CRUD, listing (also of a package) and invoke."""

from __future__ import annotations

from .base import D, Endpoints, I, L, S, page
from .calls import Call, JsonDict, accept_invoke, flag, parse_invoke, q

#: A blocking invoke waits this long server-side unless told otherwise (OpenWhisk's default).
DEFAULT_BLOCKING_WAIT_MS = 60_000
#: Extra client-side slack on top of the server-side wait, so the server answers 202 before we give up.
BLOCKING_SLACK_S = 15.0


class ActionEndpoints(Endpoints[D, L, S, I]):
    """``/namespaces/{ns}/actions[/{pkg}]/{name}``."""

    def list_actions(
        self,
        limit: int | None = None,
        skip: int = 0,
        package: str | None = None,
        namespace: str | None = None,
    ) -> L:
        """Action summaries (no code) of the namespace, or of one package: OpenWhisk lists a package
        (or what a binding points to) at ``.../actions/{pkg}/``, with the trailing slash."""
        path = f"{self._ns_path(namespace)}/actions"
        if package:
            path += f"/{q(package)}/"
        return self._run(Call("GET", path, params=page(limit, skip)))

    def get_action(self, name: str, code: bool = True) -> D:
        """The action document; ``code=False`` spares transferring a possibly large zip."""
        return self._run(Call("GET", self._entity("actions", name), params={"code": flag(code)}))

    def put_action(self, name: str, body: JsonDict, overwrite: bool = False) -> D:
        """Create (``overwrite=False``: 409 if it exists) or update the action; returns the doc."""
        return self._run(
            Call(
                "PUT",
                self._entity("actions", name),
                params={"overwrite": flag(overwrite)},
                json=body,
            )
        )

    def delete_action(self, name: str) -> D:
        """Delete the action; returns the deleted document."""
        return self._run(Call("DELETE", self._entity("actions", name)))

    def invoke(
        self,
        name: str,
        params: JsonDict | None = None,
        blocking: bool = False,
        result: bool = False,
        timeout_ms: int | None = None,
    ) -> I:
        """Invoke the action. Returns an :class:`Invocation` rather than raising for 202 (not done
        yet), 502 and activation-carrying 500s, because those still identify an activation."""
        query: dict[str, str] = {"blocking": flag(blocking), "result": flag(result)}
        if timeout_ms is not None:
            query["timeout"] = str(timeout_ms)
        wait_s: float | None = None
        if blocking:
            wait_ms = timeout_ms if timeout_ms is not None else DEFAULT_BLOCKING_WAIT_MS
            wait_s = wait_ms / 1000 + BLOCKING_SLACK_S
        return self._run(
            Call(
                "POST",
                self._entity("actions", name),
                params=query,
                json=params or {},
                timeout=wait_s,
                accept=accept_invoke,
                parse=parse_invoke,
            )
        )
