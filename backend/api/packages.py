"""Packages and bindings: CRUD and lists; another namespace sees only its published packages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..controller import Controller
from ..entities import Package
from ..limits import MAX_ENTITY_PUT
from ..names import check_name
from ..registry import forbidden, owns
from ..store import Identity
from .common import bool_arg, json_body, json_response, paging


def list_entry(package: Package) -> dict[str, Any]:
    """As OpenWhisk lists packages: no parameters, `binding` false or what it binds."""
    doc = package.to_json()
    del doc["parameters"]
    doc["binding"] = doc["binding"] or False
    return doc


def router(ctl: Controller) -> APIRouter:
    api = APIRouter()

    @api.get("/api/v1/namespaces/{ns}/packages")
    async def list_packages(request: Request, ns: str) -> Response:
        who, namespace = ctl.caller(request, ns)
        limit, skip = paging(request, "packages")
        shared_only = not owns(who, namespace)
        if bool_arg(request, "count"):
            every = await ctl.store.list_packages(namespace, 0, -1, shared_only=shared_only)
            return json_response({"packages": len(every)})
        packages = await ctl.store.list_packages(namespace, skip, limit, shared_only=shared_only)
        return json_response([list_entry(p) for p in packages])

    @api.get("/api/v1/namespaces/{ns}/packages/{name}")
    async def get_package(request: Request, ns: str, name: str) -> Response:
        who, namespace = ctl.caller(request, ns)
        return json_response(await ctl.registry.package_document(who, namespace, check_name(name)))

    def owner(request: Request, ns: str, name: str) -> tuple[Identity, str]:
        """Only a namespace's owner changes its packages."""
        who, namespace = ctl.caller(request, ns)
        if not owns(who, namespace):
            raise forbidden(f"{namespace}/{check_name(name)}")
        return who, namespace

    @api.put("/api/v1/namespaces/{ns}/packages/{name}")
    async def put_package(request: Request, ns: str, name: str) -> Response:
        who, namespace = owner(request, ns, check_name(name))
        body = await json_body(request, MAX_ENTITY_PUT)
        package = await ctl.registry.put_package(who, namespace, name, body, bool_arg(request, "overwrite"))
        return json_response(package.to_json())

    @api.delete("/api/v1/namespaces/{ns}/packages/{name}")
    async def delete_package(request: Request, ns: str, name: str) -> Response:
        _, namespace = owner(request, ns, check_name(name))
        package = await ctl.registry.delete_package(namespace, name, bool_arg(request, "force"))
        return json_response(package.to_json())

    return api
