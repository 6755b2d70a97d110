"""The two clients: the same endpoints, sent over ``httpx.Client`` or ``httpx.AsyncClient``."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Awaitable

import httpx

from .actions import ActionEndpoints
from .activations import ActivationEndpoints
from .apis import ApiEndpoints
from .base import D, I, L, S
from .calls import Call, Invocation, JsonDict
from .errors import ApiError, SquallUnreachable
from .general import GeneralEndpoints
from .packages import PackageEndpoints
from .rules import RuleEndpoints
from .triggers import TriggerEndpoints
from .wskprops import normalize_apihost

#: Seconds to wait for an ordinary API call.
DEFAULT_TIMEOUT = 30.0


class AllEndpoints(
    GeneralEndpoints[D, L, S, I],
    ActionEndpoints[D, L, S, I],
    ActivationEndpoints[D, L, S, I],
    PackageEndpoints[D, L, S, I],
    TriggerEndpoints[D, L, S, I],
    RuleEndpoints[D, L, S, I],
    ApiEndpoints[D, L, S, I],
):
    """The whole API surface, one mixin per resource."""


def _basic_auth(auth: str | None) -> tuple[str, str] | None:
    """Split ``uuid:key`` into the Basic auth pair httpx wants."""
    if not auth:
        return None
    user, sep, key = auth.partition(":")
    if not sep:
        raise ValueError("auth must look like UUID:KEY")
    return (user, key)


class _Transport:
    """What both clients share: settings and turning a :class:`Call` into request arguments."""

    def __init__(self, apihost: str, auth: str | None, namespace: str = "_") -> None:
        self.apihost = normalize_apihost(apihost)
        self.auth = auth
        self.namespace = namespace or "_"
        self._auth_pair = _basic_auth(auth)

    def _request_kwargs(self, call: Call) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"params": call.params}
        if call.json is not None:
            kwargs["json"] = call.json
        if call.auth and self._auth_pair:
            kwargs["auth"] = self._auth_pair
        if call.timeout is not None:
            kwargs["timeout"] = call.timeout
        return kwargs

    def _finish(self, call: Call, response: httpx.Response) -> Any:
        if not call.accept(response):
            raise ApiError.from_response(response)
        return call.parse(response)

    def _unreachable(self, exc: httpx.TransportError) -> ApiError:
        """Translate transport failures, so callers only ever need to catch :class:`ApiError`."""
        if isinstance(exc, httpx.ConnectError):
            return SquallUnreachable(self.apihost, _connect_reason(exc))
        if isinstance(exc, httpx.TimeoutException):
            return ApiError(0, f"timed out talking to {self.apihost}")
        return ApiError(0, f"cannot talk to {self.apihost}: {exc or type(exc).__name__}")


def _connect_reason(exc: Exception) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service" in text or "nodename" in text or "getaddrinfo" in text:
        return "unknown host"
    return str(exc) or "cannot connect"


_JsonList = list[JsonDict]


class ApiClient(_Transport, AllEndpoints[JsonDict, _JsonList, list[str], Invocation]):
    """Blocking client, for the CLI and scripts. Use as a context manager or call ``close()``."""

    def __init__(
        self,
        apihost: str,
        auth: str | None,
        namespace: str = "_",
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(apihost, auth, namespace)
        self._http = httpx.Client(base_url=self.apihost, timeout=timeout, transport=transport)

    def _run(self, call: Call) -> Any:
        try:
            response = self._http.request(call.method, call.path, **self._request_kwargs(call))
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        return self._finish(call, response)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncApiClient(
    _Transport,
    AllEndpoints[
        Awaitable[JsonDict], Awaitable[_JsonList], Awaitable[list[str]], Awaitable[Invocation]
    ],
):
    """Asyncio client, for the Textual console: every endpoint method returns an awaitable."""

    def __init__(
        self,
        apihost: str,
        auth: str | None,
        namespace: str = "_",
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(apihost, auth, namespace)
        self._http = httpx.AsyncClient(base_url=self.apihost, timeout=timeout, transport=transport)

    async def _run(self, call: Call) -> Any:
        try:
            response = await self._http.request(
                call.method, call.path, **self._request_kwargs(call)
            )
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        return self._finish(call, response)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncApiClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
