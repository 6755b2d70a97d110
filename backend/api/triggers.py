"""Triggers: CRUD, lists, and fire (202 with the trigger's activation id; 204 when no rule is active)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..controller import Controller
from ..errors import EntityError, malformed
from ..events.documents import Trigger
from ..limits import MAX_ENTITY_PUT, MAX_PAYLOAD
from ..names import check_name
from .common import bool_arg, json_body, json_response, paging


def list_entry(trigger: Trigger) -> dict[str, Any]:
    """As OpenWhisk lists triggers: no parameters, limits or rules."""
    return {k: v for k, v in trigger.to_json().items() if k not in ("parameters", "limits")}


def router(ctl: Controller) -> APIRouter:
    api = APIRouter()
    events = ctl.events

    @api.get("/api/v1/namespaces/{ns}/triggers")
    async def list_triggers(request: Request, ns: str) -> Response:
        _, namespace = ctl.authorize(request, ns)
        limit, skip = paging(request, "triggers")
        if bool_arg(request, "count"):
            return json_response({"triggers": len(events.registry.list_triggers(namespace, 0, -1))})
        return json_response([list_entry(t) for t in events.registry.list_triggers(namespace, skip, limit)])

    @api.get("/api/v1/namespaces/{ns}/triggers/{name}")
    async def get_trigger(request: Request, ns: str, name: str) -> Response:
        _, namespace = ctl.authorize(request, ns)
        trigger = await events.registry.trigger(namespace, check_name(name))
        return json_response(events.registry.trigger_document(trigger))

    @api.put("/api/v1/namespaces/{ns}/triggers/{name}")
    async def put_trigger(request: Request, ns: str, name: str) -> Response:
        _, namespace = ctl.authorize(request, ns)
        body = await json_body(request, MAX_ENTITY_PUT)
        trigger = await events.registry.put_trigger(namespace, check_name(name), body, bool_arg(request, "overwrite"))
        return json_response(events.registry.trigger_document(trigger))

    @api.delete("/api/v1/namespaces/{ns}/triggers/{name}")
    async def delete_trigger(request: Request, ns: str, name: str) -> Response:
        _, namespace = ctl.authorize(request, ns)
        check_name(name)
        document = events.registry.trigger_document(await events.registry.trigger(namespace, name))
        await events.delete_trigger(namespace, name)
        return json_response(document)

    @api.post("/api/v1/namespaces/{ns}/triggers/{name}")
    async def fire(request: Request, ns: str, name: str) -> Response:
        who, namespace = ctl.authorize(request, ns)
        params = await json_body(request, MAX_PAYLOAD)
        if not isinstance(params, dict):
            raise EntityError(400, malformed("the parameters must be a JSON object"))
        trigger = await events.registry.trigger(namespace, check_name(name))
        owner = ctl.identity(namespace) or who
        activation_id = await events.firing.fire(owner, trigger, params)
        if activation_id is None:
            return Response(status_code=204)
        return json_response({"activationId": activation_id}, 202, {"x-openwhisk-activation-id": activation_id})

    return api
