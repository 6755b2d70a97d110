"""The API gateway's front door: `{apihost}/api/{namespace uuid}{basePath}{relPath}` reaches the web
action a route names and answers what it answers; the gateway's own 404s otherwise."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .. import gateway
from ..controller import Controller
from .common import json_response
from .web import METHODS, WebActions, WebCall

NOT_FOUND = {"status": 404, "message": "Error: Not found."}
VERB_NOT_SUPPORTED = {"status": 404, "message": "Error: Whoops. Verb not supported."}


class RouteTable:
    """Each namespace's APIs, read from the store once and again after every change."""

    def __init__(self, ctl: Controller) -> None:
        self.ctl = ctl
        self._docs: dict[str, list[dict[str, Any]]] = {}

    async def docs(self, namespace: str) -> list[dict[str, Any]]:
        docs = self._docs.get(namespace)
        if docs is None:
            docs = [doc for _, doc in await self.ctl.store.list_apis(namespace)]
            # The longest base path first, so that /a/b wins over /a for /a/b/c.
            docs.sort(key=lambda d: len(d.get("basePath", "")), reverse=True)
            self._docs[namespace] = docs
        return docs

    def invalidate(self, namespace: str) -> None:
        self._docs.pop(namespace, None)


def router(ctl: Controller, web: WebActions, table: RouteTable) -> APIRouter:
    api = APIRouter()

    @api.api_route("/api/{tenant:uuid}/{path:path}", methods=METHODS)
    async def route(request: Request, tenant: uuid.UUID, path: str) -> Response:
        owner = ctl.identity_by_uuid(str(tenant))
        if owner is None:
            return json_response(NOT_FOUND, 404)
        full = "/" + path
        verb_missing = False
        for doc in await table.docs(owner.namespace):
            found = gateway.match(doc, full, request.method)
            if found is None:
                continue
            if found.operation is None:
                verb_missing = True
                continue
            target = found.operation.get("x-openwhisk")
            target = target if isinstance(target, dict) else {}
            url = str(target.get("url", ""))
            extension = url.rpartition(".")[2] if "." in url else "json"
            call = WebCall(str(target.get("namespace", owner.namespace)), target.get("package") or None,
                           str(target.get("action", "")), extension, full if extension == "http" else "")
            return await web.serve(request, call, found.secret)
        return json_response(VERB_NOT_SUPPORTED if verb_missing else NOT_FOUND, 404)

    return api
