"""Activations: the list (with OpenWhisk's filters), one record, its result and its logs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..activations import STATUS_CODES, valid_activation_id
from ..controller import Controller
from ..errors import ACTIVATION_ID_ILLEGAL, DOCS_WITH_COUNT, RESOURCE_DOES_NOT_EXIST, EntityError
from ..names import valid_name
from .common import INT64, bool_arg, json_response, paging, whole_number


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """A list entry: the record without logs and result (as OpenWhisk lists activations)."""
    entry = {k: v for k, v in record.items() if k not in ("logs", "response")}
    response = record["response"]
    entry["statusCode"] = response.get("statusCode", STATUS_CODES.get(response["status"], 3))
    entry["response"] = {"status": response["status"], "statusCode": entry["statusCode"],
                         "success": response["success"]}
    return entry


def _epoch_arg(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    value = whole_number(raw, INT64)
    if value is None:
        raise EntityError(400, f"Parameter is not a valid value for epoch seconds: {raw}")
    return value


def router(ctl: Controller) -> APIRouter:
    api = APIRouter()

    @api.get("/api/v1/namespaces/{ns}/activations")
    async def list_activations(request: Request, ns: str) -> Response:
        _, namespace = ctl.authorize(request, ns)
        limit, skip = paging(request, "activations")
        docs, count = bool_arg(request, "docs"), bool_arg(request, "count")
        if docs and count:
            raise EntityError(400, DOCS_WITH_COUNT)
        name = request.query_params.get("name")
        if name is not None:
            parts = name.split("/")
            if len(parts) > 2 or not all(valid_name(p) for p in parts):
                raise EntityError(400, f"Parameter may be a 'simple' name or 'package-name/simple' name: {name}")
        since, upto = _epoch_arg(request, "since"), _epoch_arg(request, "upto")
        if count:
            n = await ctl.store.count_activations(namespace, name=name, since=since, upto=upto)
            return json_response({"activations": n})
        records = await ctl.store.list_activations(namespace, name=name, since=since, upto=upto,
                                                   skip=skip, limit=limit)
        return json_response(records if docs else [summary(r) for r in records])

    async def activation(request: Request, ns: str, activation_id: str) -> dict[str, Any]:
        _, namespace = ctl.authorize(request, ns)
        if not valid_activation_id(activation_id):
            raise EntityError(400, ACTIVATION_ID_ILLEGAL)
        record = await ctl.store.get_activation(namespace, activation_id)
        if record is None:
            raise EntityError(404, RESOURCE_DOES_NOT_EXIST)
        return record

    @api.get("/api/v1/namespaces/{ns}/activations/{activation_id}")
    async def get_activation(request: Request, ns: str, activation_id: str) -> Response:
        return json_response(await activation(request, ns, activation_id))

    @api.get("/api/v1/namespaces/{ns}/activations/{activation_id}/result")
    async def activation_result(request: Request, ns: str, activation_id: str) -> Response:
        response = (await activation(request, ns, activation_id))["response"]
        return json_response({"result": response["result"], "success": response["success"],
                              "status": response["status"]})

    @api.get("/api/v1/namespaces/{ns}/activations/{activation_id}/logs")
    async def activation_logs(request: Request, ns: str, activation_id: str) -> Response:
        return json_response({"logs": (await activation(request, ns, activation_id))["logs"]})

    return api
