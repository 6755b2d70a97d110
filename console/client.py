"""Client for Squall's OpenWhisk-compatible REST API.

Shared by the ``squall`` CLI and the Textual console. The endpoints are described once, as
transport-free :class:`Call` objects built by :class:`_Endpoints`; :class:`ApiClient` (sync,
``httpx.Client``) and :class:`AsyncApiClient` (``httpx.AsyncClient``) only differ in how they send
a call, so a new endpoint is written in one place and both clients get it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Awaitable, Callable, Generic, NamedTuple, TypeVar
from urllib.parse import quote

import httpx

__all__ = [
    "ApiClient",
    "ApiError",
    "AsyncApiClient",
    "Call",
    "Invocation",
    "SquallUnreachable",
    "Wskprops",
    "admin_props_path",
    "load_wskprops",
    "normalize_apihost",
    "squall_home",
    "user_props_path",
]

JsonDict = dict[str, Any]

#: Seconds to wait for an ordinary API call.
DEFAULT_TIMEOUT = 30.0
#: A blocking invoke waits this long server-side unless told otherwise (OpenWhisk's default).
DEFAULT_BLOCKING_WAIT_MS = 60_000
#: Extra client-side slack on top of the server-side wait, so the server answers 202 before we give up.
BLOCKING_SLACK_S = 15.0


# --------------------------------------------------------------------------------------------
# wskprops


@dataclass
class Wskprops:
    """The settings of a wsk-style properties file; a missing key is ``None``."""

    apihost: str | None = None
    auth: str | None = None
    namespace: str | None = None
    #: Every key of the file, upper-cased, in case a caller wants one we do not model.
    extra: dict[str, str] = field(default_factory=dict, repr=False)


def load_wskprops(path: str | os.PathLike[str]) -> Wskprops:
    """Parse a wsk CLI properties file (``KEY=VALUE`` lines; blanks and ``#`` comments ignored).

    The same format as ``~/.wskprops`` so that files can be shared with the real ``wsk`` CLI.
    Raises ``FileNotFoundError`` if the file does not exist.
    """
    values: dict[str, str] = {}
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip().upper()] = value
    return Wskprops(
        apihost=values.get("APIHOST") or None,
        auth=values.get("AUTH") or None,
        namespace=values.get("NAMESPACE") or None,
        extra=values,
    )


def squall_home() -> Path:
    """Where Squall keeps its state and credentials: ``$SQUALL_HOME``, else ``~/.squall``."""
    env = os.environ.get("SQUALL_HOME")
    return Path(env).expanduser() if env else Path.home() / ".squall"


def user_props_path() -> Path:
    """The properties file holding the default (guest) credentials."""
    return squall_home() / "wskprops"


def admin_props_path() -> Path:
    """The properties file holding the admin credentials for the ``/api/v1/system`` endpoints."""
    return squall_home() / "admin.wskprops"


def normalize_apihost(apihost: str) -> str:
    """Return a base URL: wskprops often hold a bare ``host:port``, which httpx cannot use."""
    host = apihost.strip()
    if "://" not in host:
        host = "http://" + host
    return host.rstrip("/")


# --------------------------------------------------------------------------------------------
# errors


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


# --------------------------------------------------------------------------------------------
# call descriptions


def _json_body(response: httpx.Response) -> Any:
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
    parse: Callable[[httpx.Response], Any] = _json_body


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


def _accept_invoke(response: httpx.Response) -> bool:
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


def _parse_invoke(response: httpx.Response) -> Invocation:
    body = _json_body(response)
    if not isinstance(body, dict):
        # A `result=true` invoke of an action returning an array.
        body = {"result": body}
    return Invocation(response.status_code, body, response.headers.get("x-openwhisk-activation-id"))


def _q(segment: str) -> str:
    """Percent-encode one path segment (entity names may contain spaces, ``@`` and ``&``)."""
    return quote(segment, safe="@")


def _bool(value: bool) -> str:
    return "true" if value else "false"


# One type variable per kind of return value, so that the endpoints can be written once and typed
# precisely for both clients: the sync client binds them to values, the async one to awaitables.
_D = TypeVar("_D")  # a JSON object
_L = TypeVar("_L")  # a list of JSON objects
_S = TypeVar("_S")  # a list of strings
_I = TypeVar("_I")  # an Invocation


class _Endpoints(Generic[_D, _L, _S, _I]):
    """The API surface, once: each method describes its :class:`Call` and hands it to ``_run``."""

    namespace: str

    def _run(self, call: Call) -> Any:
        """Send ``call`` and return its parsed answer (or an awaitable of it)."""
        raise NotImplementedError

    # -- paths ---------------------------------------------------------------------------------

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
        return f"{self._ns_path(namespace)}/{collection}/" + "/".join(_q(p) for p in rest)

    def _ns_path(self, namespace: str | None = None) -> str:
        return f"/api/v1/namespaces/{_q(namespace or self.namespace)}"

    # -- general -------------------------------------------------------------------------------

    def info(self) -> _D:
        """API description (``GET /api/v1``); needs no auth, so it doubles as a liveness check."""
        return self._run(Call("GET", "/api/v1", auth=False))

    def namespaces(self) -> _S:
        """The namespaces the caller's key belongs to."""
        return self._run(Call("GET", "/api/v1/namespaces"))

    def limits(self) -> _D:
        """The caller's namespace limits (invocations per minute, concurrent invocations, ...)."""
        return self._run(Call("GET", f"{self._ns_path()}/limits"))

    # -- actions -------------------------------------------------------------------------------

    def list_actions(self, limit: int | None = None, skip: int = 0) -> _L:
        """Action summaries (no code) of the namespace."""
        params: dict[str, str] = {"skip": str(skip)}
        if limit is not None:
            params["limit"] = str(limit)
        return self._run(Call("GET", f"{self._ns_path()}/actions", params=params))

    def get_action(self, name: str, code: bool = True) -> _D:
        """The action document; ``code=False`` spares transferring a possibly large zip."""
        return self._run(
            Call("GET", self._entity("actions", name), params={"code": _bool(code)})
        )

    def put_action(self, name: str, body: JsonDict, overwrite: bool = False) -> _D:
        """Create (``overwrite=False``: 409 if it exists) or update the action; returns the doc."""
        return self._run(
            Call(
                "PUT",
                self._entity("actions", name),
                params={"overwrite": _bool(overwrite)},
                json=body,
            )
        )

    def delete_action(self, name: str) -> _D:
        """Delete the action; returns the deleted document."""
        return self._run(Call("DELETE", self._entity("actions", name)))

    def invoke(
        self,
        name: str,
        params: JsonDict | None = None,
        blocking: bool = False,
        result: bool = False,
        timeout_ms: int | None = None,
    ) -> _I:
        """Invoke the action. Returns an :class:`Invocation` rather than raising for 202 (not done
        yet), 502 and activation-carrying 500s, because those still identify an activation."""
        query: dict[str, str] = {"blocking": _bool(blocking), "result": _bool(result)}
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
                accept=_accept_invoke,
                parse=_parse_invoke,
            )
        )

    # -- activations ---------------------------------------------------------------------------

    def list_activations(
        self,
        name: str | None = None,
        limit: int = 30,
        skip: int = 0,
        since: int | None = None,
        upto: int | None = None,
        docs: bool = False,
    ) -> _L:
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

    def get_activation(self, activation_id: str) -> _D:
        """The full activation record."""
        return self._run(Call("GET", f"{self._ns_path()}/activations/{_q(activation_id)}"))

    def activation_result(self, activation_id: str) -> _D:
        """``{"result", "success", "status"}`` of the activation."""
        return self._run(
            Call("GET", f"{self._ns_path()}/activations/{_q(activation_id)}/result")
        )

    def activation_logs(self, activation_id: str) -> _S:
        """The activation's log lines (``"<ISO time> <stream>: <line>"``)."""

        def parse(response: httpx.Response) -> list[str]:
            body = _json_body(response)
            logs = body.get("logs", []) if isinstance(body, dict) else body
            return [str(line) for line in logs or []]

        return self._run(
            Call("GET", f"{self._ns_path()}/activations/{_q(activation_id)}/logs", parse=parse)
        )

    # -- admin (/api/v1/system, needs the admin key) ---------------------------------------------

    def system_status(self) -> _D:
        """Controller, invoker and pool state, for operators."""
        return self._run(Call("GET", "/api/v1/system/status"))

    def create_namespace(self, name: str) -> _D:
        """Create a namespace; returns ``{"namespace", "uuid", "key", "auth"}`` (auth = uuid:key)."""
        return self._run(Call("PUT", f"/api/v1/system/namespaces/{_q(name)}"))

    def set_limits(self, namespace: str, **limits: int) -> _D:
        """Set per-namespace limits, e.g. ``invocationsPerMinute=120, concurrentInvocations=10``."""
        return self._run(
            Call("PUT", f"/api/v1/system/namespaces/{_q(namespace)}/limits", json=limits)
        )

    def cancel_activation(self, activation_id: str) -> _D:
        """Abort a running activation."""
        return self._run(Call("DELETE", f"/api/v1/system/activations/{_q(activation_id)}"))

    def remove_container(self, container_id: str) -> _D:
        """Remove an action container from an invoker's pool."""
        return self._run(Call("DELETE", f"/api/v1/system/containers/{_q(container_id)}"))


# --------------------------------------------------------------------------------------------
# transports


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


class ApiClient(_Transport, _Endpoints[JsonDict, _JsonList, list[str], Invocation]):
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
    _Endpoints[
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
