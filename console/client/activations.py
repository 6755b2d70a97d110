"""Activation endpoints: listing, records, results and logs."""

from __future__ import annotations

import httpx

from .base import D, Endpoints, I, L, S
from .calls import Call, json_body, q


class ActivationEndpoints(Endpoints[D, L, S, I]):
    """``/namespaces/{ns}/activations[/{id}[/result|/logs]]``."""

    def list_activations(
        self,
        name: str | None = None,
        limit: int = 30,
        skip: int = 0,
        since: int | None = None,
        upto: int | None = None,
        docs: bool = False,
    ) -> L:
        """Activations, newest first; ``since``/``upto`` are epoch ms, ``docs`` adds full records."""
        params: dict[str, str] = {"limit": str(limit), "skip": str(skip)}
        if name:
            params["name"] = name
        if since is not None:
            params["since"] = str(since)
        if upto is not None:
            params["upto"] = str(upto)
        if docs:
            params["docs"] = "true"
        return self._run(Call("GET", f"{self._ns_path()}/activations", params=params))

    def get_activation(self, activation_id: str) -> D:
        """The full activation record."""
        return self._run(Call("GET", f"{self._ns_path()}/activations/{q(activation_id)}"))

    def activation_result(self, activation_id: str) -> D:
        """``{"result", "success", "status"}`` of the activation."""
        return self._run(
            Call("GET", f"{self._ns_path()}/activations/{q(activation_id)}/result")
        )

    def activation_logs(self, activation_id: str) -> S:
        """The activation's log lines (``"<ISO time> <stream>: <line>"``)."""

        def parse(response: httpx.Response) -> list[str]:
            body = json_body(response)
            logs = body.get("logs", []) if isinstance(body, dict) else body
            return [str(line) for line in logs or []]

        return self._run(
            Call("GET", f"{self._ns_path()}/activations/{q(activation_id)}/logs", parse=parse)
        )
