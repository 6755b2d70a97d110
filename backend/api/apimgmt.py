"""API management: the web actions `whisk.system/apimgmt/{createApi,getApi,deleteApi}` that
`wsk api` and the npm client's `routes` call, answered here by the controller itself.

They take the caller's key as Basic auth, their parameters from the query and a JSON body, and
answer as OpenWhisk's do: 200 with the API's document, or 502 `{"error": ...}`.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .. import gateway
from ..controller import Controller
from ..errors import EntityError
from ..limits import MAX_ENTITY_PUT
from ..store import Identity
from .common import json_response, read_body
from .routes import RouteTable
from ..jsontext import loads

PREFIX = "/api/v1/web/whisk.system/apimgmt"
CREATE_FAILED = "API creation failure: "
DELETE_FAILED = "API deletion failure: "
_WHOLE_SEGMENT_PARAM = re.compile(r"/\{\w+\}(/|$)", re.ASCII)


class Refused(Exception):
    """What the management action answers with a 502."""


def _js_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else "object"


def _object(value: Any, name: str) -> dict[str, Any]:
    """A field given as an object or as a JSON string of one."""
    if isinstance(value, str):
        try:
            value = loads(value)
        except ValueError:
            raise Refused(f"{name} field cannot be parsed. Ensure it is valid JSON.") from None
    if not isinstance(value, dict):
        raise Refused(f"{name} field is {'of type ' if name == 'apidoc' else ''}{_js_type(value)} and should be "
                      f"{'a JSON object' if name == 'apidoc' else 'an object'} or a JSON string.")
    return value


def _required(doc: dict[str, Any], fields: tuple[str, ...], what: str, dot: bool) -> None:
    for name in fields:
        if not doc.get(name):
            raise Refused(f"{what} is missing the {name} field{'.' if dot else ''}")


def check_path_parameters(doc: dict[str, Any]) -> None:
    """Path parameters reach an action only through `.http` (in `__ow_path`), as the gateway says."""
    if _WHOLE_SEGMENT_PARAM.search(doc.get("basePath", "")):
        raise Refused(CREATE_FAILED + f"The base path ({doc['basePath']}) cannot have parameters. "
                      "Only the relative path supports path parameters.")
    for relpath, operations in doc.get("paths", {}).items():
        if not _WHOLE_SEGMENT_PARAM.search(relpath) or not isinstance(operations, dict):
            continue
        names = set(re.findall(r"\{(\w+)\}", relpath))
        for operation in (o for o in operations.values() if isinstance(o, dict)):
            target = operation.get("x-openwhisk")
            if not str(target.get("url", "") if isinstance(target, dict) else "").endswith(".http"):
                raise Refused(CREATE_FAILED + "The action must use a response type of '.http' in order to "
                              "receive the path parameters.")
            parameters = operation.get("parameters")
            declared = {p.get("name") for p in (parameters if isinstance(parameters, list) else [])
                        if isinstance(p, dict) and p.get("in") == "path"}
            for name in sorted(declared - names):
                raise Refused(CREATE_FAILED + f"The parameter '{name}' defined in path '{relpath}' does not "
                              "match any of the parameters defined for the path in the swagger file.")


class ApiManagement:
    def __init__(self, ctl: Controller, table: RouteTable) -> None:
        self.ctl = ctl
        self.table = table

    def value(self, base: str, who: Identity, doc: dict[str, Any]) -> dict[str, Any]:
        return {"namespace": "Not Used", "gwApiActivated": True, "tenantId": "Not Used",
                "gwApiUrl": gateway.managed_url(base, who.uuid, doc.get("basePath", "/")), "apidoc": doc}

    async def create(self, who: Identity, params: dict[str, Any], base: str) -> dict[str, Any]:
        if "apidoc" not in params:
            raise Refused("apidoc is required.")
        apidoc = _object(params["apidoc"], "apidoc")
        _required(apidoc, ("namespace",), "apidoc", False)
        if "swagger" in apidoc:
            if apidoc.get("gatewayBasePath"):
                raise Refused("swagger and gatewayBasePath are mutually exclusive and cannot be specified together.")
            doc = _object(apidoc["swagger"], "swagger")
            _required(doc, ("basePath", "paths", "info"), "swagger", True)
            for name, kind in (("basePath", str), ("paths", dict), ("info", dict)):
                if not isinstance(doc[name], kind):
                    raise Refused(f"swagger field {name} is {_js_type(doc[name])} and should be "
                                  f"{'a string' if kind is str else 'an object'}.")
        else:
            doc = await self._route(who, apidoc, str(params.get("responsetype") or "json"))
        check_path_parameters(doc)
        await self.ctl.store.put_api(who.namespace, doc["basePath"], doc)
        self.table.invalidate(who.namespace)
        return self.value(base, who, doc)

    async def _route(self, who: Identity, apidoc: dict[str, Any], response_type: str) -> dict[str, Any]:
        _required(apidoc, ("gatewayBasePath", "gatewayPath", "gatewayMethod"), "apidoc", False)
        if not isinstance(apidoc.get("action"), dict):
            raise Refused("apidoc is missing the action field.")
        action = apidoc["action"]
        _required(action, ("backendMethod", "backendUrl", "namespace", "name", "authkey"), "action", True)
        if response_type not in gateway.RESPONSE_TYPES:
            raise Refused(CREATE_FAILED + f"The response type '{response_type}' is not one of "
                          f"{', '.join(gateway.RESPONSE_TYPES)}.")
        verb = str(apidoc["gatewayMethod"]).lower()
        if verb not in gateway.VERBS:
            raise Refused(CREATE_FAILED + f"'{apidoc['gatewayMethod']}' is not a valid API verb.")
        namespace = who.namespace if action["namespace"] == "_" else str(action["namespace"])
        package, _, name = str(action["name"]).rpartition("/")
        basepath, relpath = str(apidoc["gatewayBasePath"]), str(apidoc["gatewayPath"])
        doc = await self.ctl.store.get_api(who.namespace, basepath) or \
            gateway.new_api(basepath, apidoc.get("apiName"))
        target = gateway.RouteTarget(namespace, package, name, response_type, action.get("secureKey"),
                                     apidoc.get("pathParameters"))
        url = gateway.web_url(str(action["backendUrl"]), namespace, package, name, response_type)
        gateway.add_route(doc, relpath, verb, target, url)
        return doc

    async def get(self, who: Identity, params: dict[str, Any], base: str) -> dict[str, Any]:
        wanted = params.get("basepath")
        docs = [doc for _, doc in await self.ctl.store.list_apis(who.namespace)
                if not wanted or (doc.get("basePath") == wanted if str(wanted).startswith("/")
                                  else doc.get("info", {}).get("title") == wanted)]
        skip, limit = _int(params.get("skip"), 0), _int(params.get("limit"), len(docs))
        return {"apis": [{"id": "Not Used", "key": "Not Used", "value": self.value(base, who, doc)}
                         for doc in docs[skip:skip + limit]]}

    async def delete(self, who: Identity, params: dict[str, Any]) -> dict[str, Any]:
        basepath, relpath, verb = params.get("basepath"), params.get("relpath"), params.get("operation")
        if not basepath:
            raise Refused("basepath is required.")
        if verb and not relpath:
            raise Refused("When specifying an operation, the path is required.")
        found = [(bp, doc) for _, doc in await self.ctl.store.list_apis(who.namespace)
                 if (bp := doc.get("basePath")) == basepath or doc.get("info", {}).get("title") == basepath]
        if not found:
            raise Refused(DELETE_FAILED + f"API '{basepath}' does not exist.")
        key, doc = found[0]
        if relpath:
            try:
                gateway.remove_route(doc, str(relpath), str(verb) if verb else None)
            except gateway.RouteMissing as ex:
                raise Refused(DELETE_FAILED + str(ex)) from None
        if relpath and doc.get("paths"):
            await self.ctl.store.put_api(who.namespace, key, doc)
        else:
            await self.ctl.store.delete_api(who.namespace, key)
        self.table.invalidate(who.namespace)
        return {}


def _int(value: Any, default: int) -> int:
    try:
        return max(0, int(value)) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def router(ctl: Controller, table: RouteTable) -> APIRouter:
    api = APIRouter()
    management = ApiManagement(ctl, table)

    @api.api_route(PREFIX + "/{operation}", methods=["GET", "POST", "PUT", "DELETE"])
    async def apimgmt(request: Request, operation: str) -> Response:
        name = operation.removesuffix(".http")
        if name not in ("createApi", "getApi", "deleteApi"):
            raise EntityError(404, "The requested resource does not exist.")
        params: dict[str, Any] = dict(request.query_params)
        body = await read_body(request, MAX_ENTITY_PUT)
        if body.strip():
            try:
                parsed = loads(body)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                params.update(parsed)
        try:
            who = ctl.authenticate(request) if request.headers.get("authorization") else None
        except EntityError:
            who = None
        base = str(request.base_url)
        try:
            if who is None:
                raise Refused("A valid auth key is required." if name == "createApi" else "Invalid authentication.")
            if name == "createApi":
                return json_response(await management.create(who, params, base))
            if name == "getApi":
                return json_response(await management.get(who, params, base))
            return json_response(await management.delete(who, params))
        except Refused as ex:
            return json_response({"error": str(ex)}, 502)

    return api
