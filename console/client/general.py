"""Endpoints of no entity collection: info, namespaces, limits and the operators' API."""

from __future__ import annotations

from .base import D, Endpoints, I, L, S
from .calls import Call, q


class GeneralEndpoints(Endpoints[D, L, S, I]):
    """``GET /api/v1``, the caller's namespaces and limits, and ``/api/v1/system`` (admin key)."""

    def info(self) -> D:
        """API description (``GET /api/v1``); needs no auth, so it doubles as a liveness check."""
        return self._run(Call("GET", "/api/v1", auth=False))

    def namespaces(self) -> S:
        """The namespaces the caller's key belongs to."""
        return self._run(Call("GET", "/api/v1/namespaces"))

    def limits(self) -> D:
        """The caller's namespace limits (invocations per minute, concurrent invocations, ...)."""
        return self._run(Call("GET", f"{self._ns_path()}/limits"))

    # -- admin (/api/v1/system, needs the admin key) ---------------------------------------------

    def system_status(self) -> D:
        """Controller, invoker and pool state, for operators."""
        return self._run(Call("GET", "/api/v1/system/status"))

    def create_namespace(self, name: str) -> D:
        """Create a namespace; returns ``{"namespace", "uuid", "key", "auth"}`` (auth = uuid:key)."""
        return self._run(Call("PUT", f"/api/v1/system/namespaces/{q(name)}"))

    def set_limits(self, namespace: str, **limits: int) -> D:
        """Set per-namespace limits, e.g. ``invocationsPerMinute=120, concurrentInvocations=10``."""
        return self._run(
            Call("PUT", f"/api/v1/system/namespaces/{q(namespace)}/limits", json=limits)
        )

    def cancel_activation(self, activation_id: str) -> D:
        """Abort a running activation."""
        return self._run(Call("DELETE", f"/api/v1/system/activations/{q(activation_id)}"))

    def remove_container(self, container_id: str) -> D:
        """Remove an action container from an invoker's pool."""
        return self._run(Call("DELETE", f"/api/v1/system/containers/{q(container_id)}"))
