"""What every group of endpoints shares: the type variables and path building.

Each resource module describes its endpoints once, as a mixin over :class:`Endpoints`; the sync and
async clients bind the type variables, so one description serves both.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from .calls import Call, q

# One type variable per kind of return value, so that the endpoints can be written once and typed
# precisely for both clients: the sync client binds them to values, the async one to awaitables.
D = TypeVar("D")  # a JSON object
L = TypeVar("L")  # a list of JSON objects
S = TypeVar("S")  # a list of strings
I = TypeVar("I")  # noqa: E741  (an Invocation)


class Endpoints(Generic[D, L, S, I]):
    """The base of every endpoint mixin: each method describes its :class:`Call` and hands it to
    ``_run``, which the transport provides."""

    namespace: str
    auth: str | None

    def _run(self, call: Call) -> Any:
        """Send ``call`` and return its parsed answer (or an awaitable of it)."""
        raise NotImplementedError

    def _entity(self, collection: str, name: str) -> str:
        """Path of an entity; ``name`` may be ``pkg/name`` or fully qualified ``/ns[/pkg]/name``."""
        namespace = self.namespace
        if name.startswith("/"):
            parts = name.strip("/").split("/")
            if len(parts) < 2:
                raise ValueError(f"not a fully qualified entity name: {name!r}")
            namespace, rest = parts[0], parts[1:]
        else:
            rest = name.split("/")
        return f"{self._ns_path(namespace)}/{collection}/" + "/".join(q(p) for p in rest)

    def _ns_path(self, namespace: str | None = None) -> str:
        return f"/api/v1/namespaces/{q(namespace or self.namespace)}"


def page(limit: int | None, skip: int) -> dict[str, str]:
    """``skip`` always, ``limit`` only when given (the server then applies its default)."""
    params = {"skip": str(skip)}
    if limit is not None:
        params["limit"] = str(limit)
    return params
