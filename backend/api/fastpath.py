"""The invoke route without the framework's layers: the hottest request Squall serves skips
FastAPI's middleware, the router's match over every route, dependency solving and the request
wrappers (about 40 % of the controller's CPU per invoke, profiled in docs/benchmarks.md). It calls
the very handler the routes in `actions` call and answers errors as the app does (an unexpected
one with OpenWhisk's 500, the connection kept); every other request goes on to the app."""

from __future__ import annotations

import logging
import re
from typing import Any, Iterator, Mapping
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..controller import Controller
from ..errors import UNEXPECTED, EntityError
from .actions import invoke_path
from .coalescing import WHOLE_RESPONSE, WHOLE_RESPONSE_NOW
from .common import error_response

log = logging.getLogger("squall.api")

# What the routes `/namespaces/{ns}/actions/{name}` and `.../actions/{pkg}/{name}` match.
INVOKE = re.compile(r"/api/v1/namespaces/([^/]+)/actions/(?:([^/]+)/)?([^/]+)")


class InvokeRequest:
    """What the invoke handler reads of a request, taken straight from the ASGI scope: Starlette's
    Request, its Headers, QueryParams and body stream took 13.5-19.6 µs for what this does in
    3.9-6.9 (a micro-benchmark of one invoke's reads)."""

    __slots__ = ("headers", "query_params", "_receive")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.headers = ScopeHeaders(scope["headers"])
        self.query_params = _query(scope["query_string"].decode("latin-1"))
        self._receive = receive

    async def body(self) -> bytes:
        chunks = []
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)


class ScopeHeaders(Mapping[str, str]):
    """A request's headers, decoded only when asked for: the invoke route reads two of them."""

    __slots__ = ("_raw",)

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._raw = raw  # lower-case names (ASGI)

    def get(self, name: str, default: Any = None) -> Any:  # the first of a repeated one, as Starlette
        wanted = name.lower().encode("latin-1")
        for key, value in self._raw:
            if key == wanted:
                return value.decode("latin-1")
        return default

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(key.decode("latin-1") for key, _ in self._raw))

    def __len__(self) -> int:
        return len({key for key, _ in self._raw})


def _query(text: str) -> dict[str, str]:
    """As Starlette reads a query (the last of a repeated name), without its parser for the
    plain `blocking=true&result=true` every blocking invoke sends."""
    if "%" in text or "+" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    return dict(pair.partition("=")[::2] for pair in text.split("&") if pair)


class FastInvoke:
    def __init__(self, app: ASGIApp, ctl: Controller) -> None:
        self.app = app
        self.ctl = ctl

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = INVOKE.fullmatch(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        ns, pkg, name = found.groups()
        extensions = scope.get("extensions", {})
        whole, whole_now = extensions.get(WHOLE_RESPONSE), extensions.get(WHOLE_RESPONSE_NOW)
        written: list[bool] = []

        def at_once(response: Response) -> bool:  # a blocking invoke's, as its activation completes
            if whole_now(response.status_code, response.raw_headers, response.body):
                written.append(True)
                return True
            return False

        try:
            response = await invoke_path(self.ctl, InvokeRequest(scope, receive), ns, pkg, name,
                                         at_once if whole_now is not None else None)
        except EntityError as exc:
            response = error_response(exc.status, exc.message, exc.headers)
        except Exception:
            log.exception("unexpected error on POST %s", scope["path"])
            response = error_response(500, UNEXPECTED)
        if written:
            return
        if whole is not None:  # Squall's own server
            await whole(response.status_code, response.raw_headers, response.body)
        else:
            await response(scope, receive, send)
