"""The API gateway's model: one Swagger 2 document per namespace and base path (an "API"), whose
paths and verbs are routes to web actions, built and matched as OpenWhisk's gateway does.

A route is served at `{apihost}/api/{namespace uuid}{basePath}{relPath}`; `{name}` segments of
the relative path match any one segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

VERBS = ("get", "put", "post", "delete", "patch", "head", "options")
RESPONSE_TYPES = ("json", "http", "html", "text", "svg")
_BACKEND_URL = re.compile(r"(\w+)://([:/\w.-]+?)/api/v\d/web/", re.ASCII)
_PARAM = re.compile(r"^\{\w+\}$", re.ASCII)


def operation_id(verb: str, relpath: str) -> str:
    """`get` + `/books/{isbn}` -> `getBooksIsbn`, as the gateway names an operation."""
    words = re.sub(r"[^0-9A-Za-z_-]", " ", relpath).split()
    return verb.lower() + "".join(w[:1].upper() + w[1:].lower() for w in words)


def new_api(basepath: str, title: str | None) -> dict[str, Any]:
    return {"swagger": "2.0", "info": {"title": title or basepath, "version": "1.0.0"}, "basePath": basepath,
            "paths": {}, "x-ibm-configuration": {"assembly": {}, "cors": {"enabled": True}}}


def web_url(backend_url: str, namespace: str, package: str, action: str, response_type: str) -> str:
    """The web action URL behind a route, on the host the client named in its backend URL."""
    match = _BACKEND_URL.match(backend_url)
    base = f"{match.group(1)}://{match.group(2)}" if match else ""
    return f"{base}/api/v1/web/{namespace}/{package or 'default'}/{action}.{response_type}"


def _cases(doc: dict[str, Any]) -> list[dict[str, Any]]:
    assembly = doc.setdefault("x-ibm-configuration", {}).setdefault("assembly", {})
    execute = assembly.setdefault("execute", [{"operation-switch": {"case": []}}])
    return execute[0].setdefault("operation-switch", {}).setdefault("case", [])


@dataclass(frozen=True)
class RouteTarget:
    namespace: str
    package: str  # "" for none
    action: str
    response_type: str
    secure_key: str | None = None
    path_parameters: list[dict[str, Any]] | None = None


def add_route(doc: dict[str, Any], relpath: str, verb: str, target: RouteTarget, url: str) -> None:
    """Add (or replace) one route: its path and verb, and the switch case that invokes it."""
    verb = verb.lower()
    op_id = operation_id(verb, relpath)
    operation: dict[str, Any] = {"operationId": op_id}
    if target.path_parameters:
        operation["parameters"] = target.path_parameters
    operation["x-openwhisk"] = {"url": url, "namespace": target.namespace, "package": target.package,
                                "action": target.action}
    operation["responses"] = {"default": {"description": "Default response"}}
    doc.setdefault("paths", {}).setdefault(relpath, {})[verb] = operation
    execute: list[dict[str, Any]] = [{"invoke": {
        "target-url": url + ("$(request.path)" if target.response_type == "http" else ""), "verb": "keep"}}]
    if target.secure_key is not None:
        execute.append({"set-variable": {"actions": [
            {"set": "message.headers.X-Require-Whisk-Auth", "value": target.secure_key}]}})
    cases = _cases(doc)
    case = {"operations": [op_id], "execute": execute}
    for i, existing in enumerate(cases):
        if existing.get("operations", [None])[0] == op_id:
            cases[i] = case
            return
    cases.append(case)


class RouteMissing(Exception):
    pass


def remove_route(doc: dict[str, Any], relpath: str, verb: str | None) -> None:
    """Remove a path (every verb) or one verb of it; RouteMissing says which is not there."""
    paths = doc.get("paths", {})
    if relpath not in paths:
        raise RouteMissing(f"path '{relpath}' does not exist in the API")
    verbs = [verb.lower()] if verb else list(paths[relpath])
    if verb and verb.lower() not in paths[relpath]:
        raise RouteMissing(f"path '{relpath}' with operation '{verb.lower()}' does not exist in the API")
    for v in verbs:
        op_id = paths[relpath].pop(v).get("operationId")
        cases = _cases(doc)
        cases[:] = [c for c in cases if c.get("operations", [None])[0] != op_id]
    if not paths[relpath]:
        del paths[relpath]


def managed_url(base: str, uuid: str, basepath: str) -> str:
    """`gwApiUrl`: where an API's routes are served (its routes add their relative paths)."""
    trimmed = basepath.strip("/")
    return f"{base.rstrip('/')}/api/{uuid}" + (f"/{trimmed}" if trimmed else "")


def secure_key(doc: dict[str, Any], op_id: str) -> str | None:
    for case in _cases(doc):
        if case.get("operations", [None])[0] == op_id:
            for step in case.get("execute", []):
                for action in step.get("set-variable", {}).get("actions", []):
                    if action.get("set") == "message.headers.X-Require-Whisk-Auth":
                        return str(action.get("value"))
    return None


@dataclass(frozen=True)
class Match:
    operation: dict[str, Any] | None  # None: the path is there but not this verb
    secret: str | None = None


def _segments_match(template: str, path: str) -> bool:
    want, got = template.strip("/").split("/"), path.strip("/").split("/")
    return len(want) == len(got) and all(_PARAM.match(w) or w == g for w, g in zip(want, got))


def match(doc: dict[str, Any], path: str, method: str) -> Match | None:
    """The operation a request path (after the tenant) and method reach in this API, if any."""
    basepath = doc.get("basePath", "/")
    base = basepath.rstrip("/")
    if not (path == base or path.startswith(base + "/")):
        return None
    relpath = path[len(base):] or "/"
    paths = {p: ops for p, ops in doc.get("paths", {}).items() if isinstance(ops, dict)}
    found = paths.get(relpath) or next(
        (ops for template, ops in paths.items() if "{" in template and _segments_match(template, relpath)), None)
    if found is None:
        return None
    operation = found.get(method.lower())
    if not isinstance(operation, dict):
        return Match(None)
    return Match(operation, secure_key(doc, operation.get("operationId", "")))
