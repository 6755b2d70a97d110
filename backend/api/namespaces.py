"""Namespaces: the caller's list, a namespace's entities, and its limits."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..controller import Controller
from ..limits import action_limits_doc
from ..names import SYSTEM_NAMESPACE
from .common import json_response
from . import triggers
from .packages import list_entry

ENTITY_LIST_MAX = 200


def router(ctl: Controller) -> APIRouter:
    api = APIRouter()

    @api.get("/api/v1/namespaces")
    async def namespaces(request: Request) -> Response:
        who = ctl.authenticate(request)
        if who.namespace == SYSTEM_NAMESPACE:
            return json_response(ctl.namespaces())
        return json_response([who.namespace])

    @api.get("/api/v1/namespaces/{ns}")
    async def namespace(request: Request, ns: str) -> Response:
        """Its entities by collection, as OpenWhisk's namespace document lists them."""
        _, namespace = ctl.authorize(request, ns)
        actions = await ctl.store.list_actions(namespace, 0, ENTITY_LIST_MAX)
        packages = await ctl.store.list_packages(namespace, 0, ENTITY_LIST_MAX)
        events = ctl.events.registry
        return json_response({"actions": [a.to_json(code=False) for a in actions],
                              "packages": [list_entry(p) for p in packages],
                              "triggers": [triggers.list_entry(t) for t in events.list_triggers(namespace, 0, ENTITY_LIST_MAX)],
                              "rules": [r.to_json() for r in events.list_rules(namespace, 0, ENTITY_LIST_MAX)]})

    @api.get("/api/v1/namespaces/{ns}/limits")
    async def limits(request: Request, ns: str) -> Response:
        _, namespace = ctl.authorize(request, ns)
        who = ctl.identity(namespace)
        assert who is not None
        return json_response(who.limits_doc(action_limits_doc()))

    return api
