"""Actions: CRUD, lists (of a namespace, of a package), and invoke; in a package or not.

An action outside a package is its owner's alone; one in a published package can also be read
and invoked from every namespace (the registry decides).
"""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable
from fastapi import APIRouter, Request
from fastapi.responses import Response

from .. import sequences
from ..activations import http_status, new_activation_id
from ..controller import Call, Controller
from ..entities import Action
from ..errors import EntityError, malformed
from ..limits import BLOCKING_WAIT_DEFAULT_MS, MAX_ACTION_PUT, MAX_PAYLOAD
from ..names import EntityName, check_name
from ..registry import forbidden, owns
from ..store import Identity
from .common import bool_arg, int_arg, json_body, json_response, paging


def _code(request: Request) -> bool:
    return request.query_params.get("code", "true").lower() != "false"


async def invoke(ctl: Controller, request: Call, who: Identity, fqn: EntityName,
                 at_once: Callable[[Response], bool] | None = None) -> Response:
    """`at_once`: writes a response from any callback if it can (True); a blocking invoke's then
    goes out in the step that completes the activation, before this handler resumes."""
    params = await json_body(request, MAX_PAYLOAD)
    if not isinstance(params, dict):
        raise EntityError(400, malformed("the parameters must be a JSON object"))
    blocking = bool_arg(request, "blocking")
    result_only = bool_arg(request, "result")
    wait_ms = int_arg(request, "timeout", BLOCKING_WAIT_DEFAULT_MS, "timeout")
    if blocking and not 0 < wait_ms <= BLOCKING_WAIT_DEFAULT_MS:
        raise EntityError(400, f"Timeout must be number of milliseconds up to {BLOCKING_WAIT_DEFAULT_MS}.")
    target = await ctl.registry.resolve(who, fqn)
    target.check_overrides(params)
    transid = new_activation_id()
    accepted = await ctl.activate(who, target, params, transid, blocking=blocking)
    headers = {"x-openwhisk-activation-id": accepted.activation_id, "X-Request-ID": transid}
    record = None
    if blocking:
        sent: list[Response] = []
        record = await accepted.wait(wait_ms / 1000, None if at_once is None else functools.partial(
            _answer_at_once, at_once, result_only, headers, sent))
        if sent:
            return sent[0]
    if record is None:
        await ctl.hand_out(accepted)
        return json_response({"activationId": accepted.activation_id}, 202, headers)
    return _answer(record, result_only, headers)


def _answer(record: dict[str, Any], result_only: bool, headers: dict[str, str]) -> Response:
    code = http_status(record["response"]["status"])
    return json_response(record["response"]["result"] if result_only else record, code, headers)


def _answer_at_once(write: Callable[[Response], bool], result_only: bool, headers: dict[str, str],
                    sent: list[Response], record: dict[str, Any]) -> None:
    response = _answer(record, result_only, headers)
    if write(response):
        sent.append(response)


async def invoke_path(ctl: Controller, request: Call, ns: str, pkg: str | None, name: str,
                      at_once: Callable[[Response], bool] | None = None) -> Response:
    """POST of `/actions/{name}` (its owner's alone) or `/actions/{pkg}/{name}` (a published
    package's, from any namespace): the routes below and the fast path (fastpath.py) both serve it."""
    if pkg is None:
        who, namespace = ctl.authorize(request, ns)
        return await invoke(ctl, request, who, EntityName(namespace, None, check_name(name)), at_once)
    who, namespace = ctl.caller(request, ns)
    return await invoke(ctl, request, who, EntityName(namespace, check_name(pkg), check_name(name)), at_once)


async def put(ctl: Controller, request: Request, who: Identity, fqn: EntityName) -> Response:
    body = await json_body(request, MAX_ACTION_PUT)
    components = await sequences.validate(ctl.registry, who, fqn, body)
    action = await ctl.registry.put_action(fqn, body, bool_arg(request, "overwrite"), components)
    return json_response(action.to_json())


async def listing(request: Request, count: Callable[[], Awaitable[int]],
                  page: Callable[[int, int], Awaitable[list[Action]]]) -> Response:
    """A list of actions (or its count), paged with OpenWhisk's checks; no code in the entries."""
    limit, skip = paging(request, "actions")
    if bool_arg(request, "count"):
        return json_response({"actions": await count()})
    return json_response([a.to_json(code=False) for a in await page(skip, limit)])


def router(ctl: Controller) -> APIRouter:
    api = APIRouter()

    @api.get("/api/v1/namespaces/{ns}/actions")
    async def list_actions(request: Request, ns: str) -> Response:
        _, namespace = ctl.authorize(request, ns)
        return await listing(request, lambda: ctl.store.count_actions(namespace),
                             lambda skip, limit: ctl.store.list_actions(namespace, skip, limit))

    @api.get("/api/v1/namespaces/{ns}/actions/{name}")
    async def get_action(request: Request, ns: str, name: str) -> Response:
        who, namespace = ctl.authorize(request, ns)
        target = await ctl.registry.resolve(who, EntityName(namespace, None, check_name(name)))
        return json_response(target.document(_code(request)))

    @api.put("/api/v1/namespaces/{ns}/actions/{name}")
    async def put_action(request: Request, ns: str, name: str) -> Response:
        who, namespace = ctl.authorize(request, ns)
        return await put(ctl, request, who, EntityName(namespace, None, check_name(name)))

    @api.delete("/api/v1/namespaces/{ns}/actions/{name}")
    async def delete_action(request: Request, ns: str, name: str) -> Response:
        _, namespace = ctl.authorize(request, ns)
        action = await ctl.registry.delete_action(EntityName(namespace, None, check_name(name)))
        return json_response(action.to_json())

    @api.post("/api/v1/namespaces/{ns}/actions/{name}")
    async def invoke_action(request: Request, ns: str, name: str) -> Response:
        return await invoke_path(ctl, request, ns, None, name)

    # --- in a package ---

    @api.get("/api/v1/namespaces/{ns}/actions/{pkg}/")
    async def list_package_actions(request: Request, ns: str, pkg: str) -> Response:
        who, namespace = ctl.caller(request, ns)
        package = await ctl.registry.readable_package(who, namespace, check_name(pkg))
        if package.binding is not None:
            package = await ctl.registry.bound(package)
        return await listing(request, lambda: ctl.store.count_package_actions(package.path),
                             lambda skip, limit: ctl.store.package_actions(package.path, skip, limit))

    @api.api_route("/api/v1/namespaces/{ns}/actions/{pkg}/{name}", methods=["GET", "PUT", "DELETE", "POST"])
    async def packaged_action(request: Request, ns: str, pkg: str, name: str) -> Response:
        if request.method == "POST":
            return await invoke_path(ctl, request, ns, pkg, name)
        who, namespace = ctl.caller(request, ns)
        fqn = EntityName(namespace, check_name(pkg), check_name(name))
        if request.method == "GET":
            return json_response((await ctl.registry.resolve(who, fqn)).document(_code(request)))
        if not owns(who, namespace):
            raise forbidden(f"{namespace}/{pkg}/{name}")
        if request.method == "PUT":
            return await put(ctl, request, who, fqn)
        return json_response((await ctl.registry.delete_action(fqn)).to_json())

    return api
