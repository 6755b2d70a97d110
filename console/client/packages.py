"""Package endpoints: packages and bindings share one collection."""

from __future__ import annotations

from .base import D, Endpoints, I, L, S, page
from .calls import Call, JsonDict, flag


class PackageEndpoints(Endpoints[D, L, S, I]):
    """``/namespaces/{ns}/packages[/{name}]``; a binding is a package with a ``binding`` target."""

    def list_packages(
        self, namespace: str | None = None, limit: int | None = None, skip: int = 0
    ) -> L:
        """Package and binding summaries; of another namespace only its published packages."""
        return self._run(
            Call("GET", f"{self._ns_path(namespace)}/packages", params=page(limit, skip))
        )

    def get_package(self, name: str) -> D:
        """The package with its ``actions`` and ``feeds`` (a binding: those of its target)."""
        return self._run(Call("GET", self._entity("packages", name)))

    def put_package(self, name: str, body: JsonDict, overwrite: bool = False) -> D:
        """Create (409 if it exists) or update a package; a body with ``binding`` makes a
        binding."""
        return self._run(
            Call(
                "PUT",
                self._entity("packages", name),
                params={"overwrite": flag(overwrite)},
                json=body,
            )
        )

    def delete_package(self, name: str, force: bool = False) -> D:
        """Delete a package; one that still holds actions needs ``force`` (which deletes them)."""
        params = {"force": "true"} if force else None
        return self._run(Call("DELETE", self._entity("packages", name), params=params))
