"""Transport-free descriptions of API requests (:class:`Call`) and how answers are read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple
from urllib.parse import quote

import httpx

from .errors import ApiError

JsonDict = dict[str, Any]


def json_body(response: httpx.Response) -> Any:
    """Decode a JSON response; a non-JSON 2xx means we are not talking to Squall."""
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        raise ApiError(
            response.status_code,
            f"unexpected non-JSON response from {response.request.url}: {response.text[:200]!r}",
            response.text,
        ) from None


def _is_success(response: httpx.Response) -> bool:
    return response.is_success


@dataclass(frozen=True)
class Call:
    """One API request and how to read its answer, independent of sync or async transport."""

    method: str
    path: str
    params: dict[str, str] | None = None
    json: Any = None
    #: Whether to send Basic auth (``GET /api/v1`` needs none).
    auth: bool = True
    #: Per-request timeout in seconds, overriding the client's (a blocking invoke waits longer).
    timeout: float | None = None
    #: Which responses are answers rather than errors; the rest raise :class:`ApiError`.
    accept: Callable[[httpx.Response], bool] = _is_success
    #: Turns an accepted response into the method's return value.
    parse: Callable[[httpx.Response], Any] = json_body


class Invocation(NamedTuple):
    """What an invoke returned: the HTTP status (200, 202, 500 or 502), the body (activation,
    result or ``{"activationId": ...}``) and the ``x-openwhisk-activation-id`` header."""

    status: int
    body: JsonDict
    activation_id: str | None

    @property
    def id(self) -> str | None:
        """The activation id from the header, else from the body."""
        if self.activation_id:
            return self.activation_id
        value = self.body.get("activationId") if isinstance(self.body, dict) else None
        return value if isinstance(value, str) else None


def accept_invoke(response: httpx.Response) -> bool:
    """Invoke answers 202 (accepted / still running) and 502 (application or developer error) with
    the activation, so those are results. A 500 is too when it carries an activation (whisk
    internal error) rather than an OpenWhisk error body, which always has a ``code``."""
    if response.is_success or response.status_code == 502:
        return True
    if response.status_code == 500 and response.headers.get("x-openwhisk-activation-id"):
        try:
            body = response.json()
        except ValueError:
            return False
        return isinstance(body, dict) and "code" not in body
    return False


def parse_invoke(response: httpx.Response) -> Invocation:
    body = json_body(response)
    if not isinstance(body, dict):
        # A `result=true` invoke of an action returning an array.
        body = {"result": body}
    return Invocation(response.status_code, body, response.headers.get("x-openwhisk-activation-id"))


def q(segment: str) -> str:
    """Percent-encode one path segment (entity names may contain spaces, ``@`` and ``&``)."""
    return quote(segment, safe="@")


def flag(value: bool) -> str:
    """A boolean query parameter the way OpenWhisk spells it."""
    return "true" if value else "false"
