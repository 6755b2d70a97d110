"""The controller's HTTP face: one module per resource over the shared helpers in `common`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..controller import Controller
from ..errors import RESOURCE_DOES_NOT_EXIST, UNEXPECTED, EntityError
from . import actions, activations, apimgmt, info, namespaces, packages, routes, rules, system, triggers, web
from .common import error_response
from .fastpath import FastInvoke

log = logging.getLogger("squall.api")


class AnswerEveryRequest:
    """An unexpected error still gets OpenWhisk's 500 answer, and the connection stays usable:
    Starlette's own last-resort handler answers but then re-raises, and the server resets the
    keep-alive connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await error_response(500, UNEXPECTED)(scope, receive, send)


def create_app(ctl: Controller) -> ASGIApp:
    """The API: invokes straight to their handler (fastpath), everything else through FastAPI."""
    return FastInvoke(_framework_app(ctl), ctl)


def _framework_app(ctl: Controller) -> FastAPI:
    app = FastAPI(title="Squall", version=info.BUILD, docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(EntityError)
    async def _entity_error(request: Request, exc: EntityError) -> Response:
        return error_response(exc.status, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(404, RESOURCE_DOES_NOT_EXIST)
        if exc.status_code == 405:
            return error_response(405, "HTTP method not allowed, supported methods: " +
                                  exc.headers.get("Allow", "") if exc.headers else "HTTP method not allowed")
        return error_response(exc.status_code, str(exc.detail))

    app.add_middleware(AnswerEveryRequest)
    for module in (info, namespaces, actions, packages, triggers, rules, activations, system):
        app.include_router(module.router(ctl))
    web_actions = web.WebActions(ctl)
    table = routes.RouteTable(ctl)
    app.include_router(apimgmt.router(ctl, table))  # before the web actions: it is one of their paths
    app.include_router(web.router(ctl, web_actions))
    app.include_router(routes.router(ctl, web_actions, table))  # last: /api/{uuid}/... is the catch-all
    return app
