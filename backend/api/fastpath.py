"""The invoke route without the framework's layers: the hottest request Squall serves skips
FastAPI's middleware, the router's match over every route, dependency solving and the request
wrappers (about 40 % of the controller's CPU per invoke, profiled in docs/benchmarks.md). It calls
the very handler the routes in `actions` call and answers errors as the app does (an unexpected
one with OpenWhisk's 500, the connection kept); every other request goes on to the app."""

from __future__ import annotations

import logging
import re

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ..controller import Controller
from ..errors import UNEXPECTED, EntityError
from .actions import invoke_path
from .common import error_response

log = logging.getLogger("squall.api")

# What the routes `/namespaces/{ns}/actions/{name}` and `.../actions/{pkg}/{name}` match.
INVOKE = re.compile(r"/api/v1/namespaces/([^/]+)/actions/(?:([^/]+)/)?([^/]+)")


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
        try:
            response = await invoke_path(self.ctl, Request(scope, receive), ns, pkg, name)
        except EntityError as exc:
            response = error_response(exc.status, exc.message, exc.headers)
        except Exception:
            log.exception("unexpected error on POST %s", scope["path"])
            response = error_response(500, UNEXPECTED)
        await response(scope, receive, send)
