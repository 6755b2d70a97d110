"""Rules: CRUD, lists, and enable/disable (`POST {"status": ...}`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..controller import Controller
from ..limits import MAX_ENTITY_PUT
from ..names import check_name
from .common import bool_arg, json_body, json_response, paging


def router(ctl: Controller) -> APIRouter:
    api = APIRouter()
    registry = ctl.events.registry

    @api.get("/api/v1/namespaces/{ns}/rules")
    async def list_rules(request: Request, ns: str) -> Response:
        _, namespace = ctl.authorize(request, ns)
        limit, skip = paging(request, "rules")
        if bool_arg(request, "count"):
            return json_response({"rules": len(registry.list_rules(namespace, 0, -1))})
        entries = [{k: v for k, v in r.to_json().items() if k != "status"}  # as OpenWhisk lists them
                   for r in registry.list_rules(namespace, skip, limit)]
        return json_response(entries)

    @api.get("/api/v1/namespaces/{ns}/rules/{name}")
    async def get_rule(request: Request, ns: str, name: str) -> Response:
        _, namespace = ctl.authorize(request, ns)
        return json_response(registry.rule_document(await registry.rule(namespace, check_name(name))))

    @api.put("/api/v1/namespaces/{ns}/rules/{name}")
    async def put_rule(request: Request, ns: str, name: str) -> Response:
        who, namespace = ctl.authorize(request, ns)
        body = await json_body(request, MAX_ENTITY_PUT)
        rule = await registry.put_rule(who, namespace, check_name(name), body, bool_arg(request, "overwrite"))
        return json_response(registry.rule_document(rule))

    @api.post("/api/v1/namespaces/{ns}/rules/{name}")
    async def set_status(request: Request, ns: str, name: str) -> Response:
        _, namespace = ctl.authorize(request, ns)
        body = await json_body(request, MAX_ENTITY_PUT)
        await registry.set_status(namespace, check_name(name), body)
        return Response(status_code=200)

    @api.delete("/api/v1/namespaces/{ns}/rules/{name}")
    async def delete_rule(request: Request, ns: str, name: str) -> Response:
        _, namespace = ctl.authorize(request, ns)
        return json_response((await registry.delete_rule(namespace, check_name(name))).to_json())

    return api
