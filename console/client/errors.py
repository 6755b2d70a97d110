"""The one exception type callers of the client catch, and its "no server" flavour."""

from __future__ import annotations

from typing import Any

import httpx


class ApiError(Exception):
    """A failed API call: ``status`` is the HTTP status (0 if no response), ``message`` the
    ``error`` field of the OpenWhisk error body (else the body text), ``body`` the parsed body."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body

    def __str__(self) -> str:
        return self.message

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        """Build the error from an OpenWhisk ``{"error": ..., "code": ...}`` body, or whatever came."""
        text = response.text
        body: Any = text
        try:
            body = response.json()
        except ValueError:
            pass
        message = ""
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            message = body["error"]
        elif text.strip():
            message = text.strip()
        if not message:
            message = f"HTTP {response.status_code} {response.reason_phrase}".strip()
        return cls(response.status_code, message, body)


class SquallUnreachable(ApiError):
    """No server answered at the API host; the message tells the user how to start one."""

    def __init__(self, apihost: str, reason: str) -> None:
        super().__init__(
            0,
            f"no Squall at {apihost} ({reason}); start one with `squall up` "
            "or point --apihost at a running one",
        )
        self.apihost = apihost
