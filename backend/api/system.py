"""The operators' API (the whisk.system key only): status, cancel, containers, namespaces, metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .. import operations
from ..activations import valid_activation_id
from ..controller import Controller
from ..errors import ACTIVATION_ID_ILLEGAL, RESOURCE_DOES_NOT_EXIST, RESOURCE_EXISTS, EntityError, malformed
from ..limits import KB
from ..names import check_namespace
from ..store import Identity
from .common import json_body, json_response

LIMIT_KEYS = {"invocationsPerMinute", "concurrentInvocations", "firesPerMinute"}


def router(ctl: Controller) -> APIRouter:
    api = APIRouter()

    @api.get("/api/v1/system/status")
    async def system_status(request: Request) -> Response:
        ctl.admin(request)
        return json_response(await operations.system_status(ctl))

    @api.delete("/api/v1/system/activations/{activation_id}")
    async def cancel_activation(request: Request, activation_id: str) -> Response:
        ctl.admin(request)
        if not valid_activation_id(activation_id):
            raise EntityError(400, ACTIVATION_ID_ILLEGAL)
        return json_response(await operations.cancel(ctl, activation_id))

    @api.delete("/api/v1/system/containers/{container_id}")
    async def remove_container(request: Request, container_id: str) -> Response:
        ctl.admin(request)
        return json_response(await operations.remove_container(ctl, container_id))

    @api.put("/api/v1/system/namespaces/{name}")
    async def create_namespace(request: Request, name: str) -> Response:
        ctl.admin(request)
        check_namespace(name)
        identity = await ctl.store.create_namespace(name)
        if identity is None:
            raise EntityError(409, RESOURCE_EXISTS)
        ctl.remember(identity)
        return json_response({"namespace": name, "uuid": identity.uuid, "key": identity.key,
                              "auth": identity.auth})

    @api.put("/api/v1/system/namespaces/{name}/limits")
    async def set_limits(request: Request, name: str) -> Response:
        ctl.admin(request)
        who = ctl.identity(name)
        if who is None:
            raise EntityError(404, RESOURCE_DOES_NOT_EXIST)
        body = await json_body(request, 64 * KB)
        if not isinstance(body, dict) or not set(body) <= LIMIT_KEYS or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in body.values()):
            raise EntityError(400, malformed(
                "limits must be an object of non-negative integers among " + ", ".join(sorted(LIMIT_KEYS))))
        updated = Identity(who.namespace, who.uuid, who.key, {**who.limits, **body})
        await ctl.store.set_limits(name, updated.limits)
        ctl.remember(updated)
        return json_response({"namespace": name, **updated.limits_doc({})})

    @api.get("/metrics")
    async def metrics(request: Request) -> Response:
        ctl.admin(request)
        return Response(await operations.metrics_text(ctl), media_type=CONTENT_TYPE_LATEST)

    return api
