"""Web actions: `/api/v1/web/{namespace}/{package or default}/{action}.{ext}` reaches an action
exported with `web-export`, without an API key, and answers with what the action returns.

The activation runs as the namespace's owner. The request becomes parameters (`__ow_method`,
`__ow_headers`, `__ow_path`, the query and the body), or with `raw-http` the raw query and body.
"""

from __future__ import annotations

import base64
import urllib.parse
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..activations import APPLICATION_ERROR, SUCCESS
from ..controller import Controller
from ..errors import RESOURCE_DOES_NOT_EXIST, UNEXPECTED, EntityError, malformed
from ..limits import BLOCKING_WAIT_DEFAULT_MS, MAX_PAYLOAD
from ..names import DEFAULT_PACKAGE, EntityName, valid_name
from ..registry import Resolved
from ..store import Identity
from .common import error_response, read_body
from .webresponse import BAD_EXTENSION, EXTENSIONS, is_binary, is_json_type, media_type, transcode
from ..jsontext import loads

METHODS = ["GET", "DELETE", "POST", "PUT", "HEAD", "OPTIONS", "PATCH"]
RESERVED = frozenset({"__ow_method", "__ow_headers", "__ow_path", "__ow_user", "__ow_query", "__ow_body"})
NOT_READY = "Response not yet ready."
AUTH_REQUIRED = "Authentication is possible but has failed or not yet been provided."
CORS_METHODS = "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH"
CORS_HEADERS = "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent"


@dataclass
class WebCall:
    """Which web action a request names and how it wants the answer."""

    namespace: str
    package: str | None
    action: str
    extension: str
    path: str  # the rest of the URL after the action: `__ow_path`


def parse(namespace: str, package: str, rest: str) -> WebCall:
    segment, slash, tail = rest.partition("/")
    path = slash + tail
    extension = "http"
    for ext in EXTENSIONS:
        if segment.endswith("." + ext):
            segment, extension = segment[: -len(ext) - 1], ext
            break
    if not all(valid_name(n) for n in (namespace, package, segment)):
        raise EntityError(404, RESOURCE_DOES_NOT_EXIST)
    return WebCall(namespace, None if package == DEFAULT_PACKAGE else package, segment, extension, path)


def cors(request: Request) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": CORS_METHODS,
            "Access-Control-Allow-Headers": request.headers.get("access-control-request-headers", CORS_HEADERS)}


class WebActions:
    def __init__(self, ctl: Controller) -> None:
        self.ctl = ctl

    async def target(self, call: WebCall) -> tuple[Identity, Resolved]:
        """The owner and the exported action; 404 for anything else, as OpenWhisk answers."""
        owner = self.ctl.identity(call.namespace)
        if owner is None:
            raise EntityError(404, RESOURCE_DOES_NOT_EXIST)
        fqn = EntityName(call.namespace, call.package, call.action)
        try:
            target = await self.ctl.registry.resolve(owner, fqn)
        except EntityError as ex:
            if ex.status == 404 and "." in call.action:  # no such action: an unknown extension
                raise EntityError(406, BAD_EXTENSION) from None
            if ex.status in (404, 409):
                raise EntityError(404, RESOURCE_DOES_NOT_EXIST) from None
            raise
        if target.action.annotation("web-export") is not True:
            raise EntityError(404, RESOURCE_DOES_NOT_EXIST)
        return owner, target

    async def serve(self, request: Request, call: WebCall, secret: str | None = None) -> Response:
        """Answer a web request (or a gateway route's, with the route's own `X-Require-Whisk-Auth`)."""
        try:
            owner, target = await self.target(call)
        except EntityError as ex:
            return error_response(ex.status, ex.message, ex.headers)
        action = target.action
        headers = {} if action.annotation("web-custom-options") is True else cors(request)
        try:
            if request.method == "OPTIONS" and headers:
                return Response(b"", 200, headers)
            caller = self._caller(request)
            if request.method != "OPTIONS":  # web-custom-options: OPTIONS reaches the action as it is
                self._require_auth(action.annotation("require-whisk-auth"), request, caller, secret)
            params = await self._parameters(request, call, target, caller)
            accepted = await self.ctl.activate(owner, target, params, blocking=True)
            headers["x-openwhisk-activation-id"] = accepted.activation_id
            record = await accepted.wait(BLOCKING_WAIT_DEFAULT_MS / 1000)
            if record is None:
                await self.ctl.hand_out(accepted)
                return error_response(202, NOT_READY, headers)
            response = self._answer(call, record["response"])
        except EntityError as ex:
            return error_response(ex.status, ex.message, {**headers, **ex.headers})
        for name, value in headers.items():
            response.headers.append(name, value)
        return response

    def _caller(self, request: Request) -> Identity | None:
        try:
            return self.ctl.authenticate(request) if request.headers.get("authorization") else None
        except EntityError:
            return None

    @staticmethod
    def _require_auth(required: Any, request: Request, caller: Identity | None, secret: str | None) -> None:
        if required is None:
            return
        given = secret if secret is not None else request.headers.get("x-require-whisk-auth")
        if required is True:
            ok = caller is not None
        elif isinstance(required, str):
            ok = given == required
        elif isinstance(required, (int, float)) and not isinstance(required, bool):
            ok = given == str(int(required) if float(required).is_integer() else required)
        else:
            ok = False
        if not ok:
            raise EntityError(401, AUTH_REQUIRED)

    async def _parameters(self, request: Request, call: WebCall, target: Resolved,
                          caller: Identity | None) -> dict[str, Any]:
        body = await read_body(request, MAX_PAYLOAD)
        content_type = request.headers.get("content-type")
        params: dict[str, Any] = {
            "__ow_method": request.method.lower(),
            "__ow_headers": {k.lower(): v for k, v in request.headers.items()},
            "__ow_path": call.path,
        }
        if caller is not None:
            params["__ow_user"] = caller.namespace
        if target.action.annotation("raw-http") is True:
            params["__ow_query"] = request.url.query
            kind = media_type(content_type or "")
            binary = is_binary(content_type) or (kind is not None and kind[:2] == ("application", "json"))
            params["__ow_body"] = "" if not body else \
                base64.b64encode(body).decode() if binary else body.decode("utf-8", "replace")
            return params
        fields: dict[str, Any] = dict(request.query_params)
        overriding = set(fields)
        parsed = self._body(body, content_type)
        if isinstance(parsed, dict):
            overriding |= set(parsed)
            fields.update(parsed)
        elif parsed is not _NOTHING:
            fields["__ow_body"] = parsed
        target.check_overrides(dict.fromkeys(overriding), RESERVED)
        params.update(fields)
        return params

    @staticmethod
    def _body(body: bytes, content_type: str | None) -> Any:
        """A JSON object's or a form's fields (a dict), another JSON value, text or base64."""
        kind = media_type(content_type) if content_type else None
        if kind is not None and is_json_type(kind):
            if not body.strip():
                return _NOTHING
            try:
                value = loads(body)
            except (ValueError, UnicodeDecodeError):
                raise EntityError(400, malformed("the body is not valid JSON")) from None
            return value if value != {} else _NOTHING
        if kind is not None and kind[:2] == ("application", "x-www-form-urlencoded"):
            return dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if not body:
            return "" if content_type else _NOTHING
        return base64.b64encode(body).decode() if is_binary(content_type) else body.decode("utf-8", "replace")

    @staticmethod
    def _answer(call: WebCall, response: dict[str, Any]) -> Response:
        status = response["status"]
        if status == SUCCESS:
            return transcode(call.extension, response["result"])
        if status == APPLICATION_ERROR and isinstance(response["result"], dict) and "error" in response["result"]:
            return transcode(call.extension, response["result"]["error"])
        raise EntityError(400, UNEXPECTED)


_NOTHING = object()


def router(ctl: Controller, web: WebActions) -> APIRouter:
    api = APIRouter()

    @api.api_route("/api/v1/web/{ns}/{pkg}/{rest:path}", methods=METHODS)
    async def web_action(request: Request, ns: str, pkg: str, rest: str) -> Response:
        try:
            call = parse(ns, pkg, rest)
        except EntityError as ex:
            return error_response(ex.status, ex.message)
        return await web.serve(request, call)

    return api
