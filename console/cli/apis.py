"""``squall api ...``: API gateway routes to web actions, made exactly as ``wsk api`` makes them
(through the ``whisk.system/apimgmt`` web actions), with wsk's output.

The request building and the list rendering are pure functions, tested without a server.
"""

from __future__ import annotations

import argparse
import re
from typing import Any, Iterator, Sequence

from console.client import DUMMY_ACCESS_TOKEN, ApiError

from .common import CliError, Context, Subcommands, UsageError, command_group, dumps, leaf
from .names import QualifiedName, parse_name
from .web import WEB_SECURE, find, is_web

VERBS = ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS")
RESPONSE_TYPES = ("json", "http", "html", "text", "svg")
#: A path segment that is a whole ``{parameter}`` (wsk's pathSegmentParamRegex).
PATH_PARAMETER = re.compile(r"^/\{([^/]+)\}/$")


def check_path(path: str) -> str:
    if not path.startswith("/"):
        raise UsageError(f"'{path}' must begin with '/'.")
    return path


def check_verb(verb: str) -> str:
    """The verb upper-cased, as the gateway stores it."""
    if verb.upper() not in VERBS:
        raise UsageError(
            f"'{verb}' is not a valid API verb.  Valid values are: [{' '.join(VERBS)}]"
        )
    return verb.upper()


def path_parameters(path: str) -> list[str]:
    """The unique ``{name}`` segments of a relative path, in order."""
    names: list[str] = []
    for segment in path.split("/"):
        match = PATH_PARAMETER.match(f"/{segment}/")
        if match and match.group(1) not in names:
            names.append(match.group(1))
    return names


def build_apidoc(
    args: Sequence[str],
    apiname: str | None,
    response_type: str,
    namespace: str,
    apihost: str,
    auth: str,
) -> tuple[dict[str, Any], QualifiedName]:
    """wsk's parseApi: ``[BASE_PATH] API_PATH API_VERB ACTION`` → the ``apidoc`` of createApi and
    the action's name. A first argument not starting with ``/`` names the API instead of giving
    its base path (and then the document carries no ``id``)."""
    if len(args) not in (3, 4):
        raise UsageError("give [BASE_PATH] API_PATH API_VERB ACTION")
    basepath = "/"
    arg_is_name = False
    if len(args) == 4:
        basepath, args = args[0], args[1:]
        arg_is_name = not basepath.startswith("/")
        if path_parameters(basepath):
            raise UsageError(
                f"The base path '{basepath}' cannot have parameters. "
                "Only the relative path supports path parameters."
            )
    relpath, verb, action_arg = check_path(args[0]), args[1], args[2]
    params = path_parameters(relpath)
    if params and response_type != "http":
        raise UsageError("A response type of 'http' is required when using path parameters.")
    method = check_verb(verb)
    action = parse_name(action_arg, namespace)
    if not action.name:
        raise UsageError(f"'{action_arg}' is not a valid action name.")
    if apiname and arg_is_name:
        raise UsageError("An API name can only be specified once.")
    backend = (
        f"{apihost.rstrip('/')}/api/v1/web/{action.namespace}/"
        f"{action.package or 'default'}/{action.name}.http"
    )
    if not backend.startswith("http"):
        backend = "https://" + backend
    apidoc: dict[str, Any] = {
        "namespace": namespace,
        "gatewayBasePath": basepath,
        "gatewayPath": relpath,
        "gatewayMethod": method,
    }
    if not arg_is_name:
        apidoc["id"] = f"API:{namespace}:{basepath}"
    apidoc["action"] = {
        "name": action.entity,
        "namespace": action.namespace,
        "backendMethod": method,
        "backendUrl": backend,
        "authkey": auth,
    }
    if apiname:
        apidoc["apiName"] = apiname
    if params:
        apidoc["pathParameters"] = [
            {"name": p, "in": "path", "description": f"Default description for '{p}'",
             "required": True, "type": "string"}
            for p in params
        ]
    return apidoc, action


def _object(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (answers are read defensively)."""
    return value if isinstance(value, dict) else {}


def _operations(value: dict[str, Any], relpath: str | None, verb: str | None) -> Iterator[
    tuple[str, str, str, str]
]:
    """(action, verb, API name, URL) of each route of one getApi ``value``, filtered as wsk does
    (exact path, case-insensitive verb)."""
    apidoc = _object(value.get("apidoc"))
    title = str(_object(apidoc.get("info")).get("title", ""))
    base_url = str(value.get("gwApiUrl", "")).removesuffix("/")
    paths = _object(apidoc.get("paths"))
    for path, operations in paths.items():
        if (relpath and path != relpath) or not isinstance(operations, dict):
            continue
        for op, spec in operations.items():
            if op.upper() not in VERBS or (verb and op.lower() != verb.lower()):
                continue
            xow = spec.get("x-openwhisk") if isinstance(spec, dict) else None
            action = ""
            if isinstance(xow, dict):
                package = f"{xow['package']}/" if xow.get("package") else ""
                action = f"/{xow.get('namespace', '')}/{package}{xow.get('action', '')}"
            yield action, op, title, base_url + path


def render_api_list(
    apis: Sequence[dict[str, Any]], relpath: str | None = None, verb: str | None = None
) -> list[str]:
    """``wsk api list``: ``ok: APIs``, a header and one row per route, in wsk's printf columns
    (action and API name widths fitted to the rows, capped at 40 and 30, and truncated)."""
    rows = [
        row
        for api in apis
        if isinstance(api, dict) and isinstance(api.get("value"), dict)
        for row in _operations(api["value"], relpath, verb)
    ]
    if rows:
        action_width = min(40, max(len("Action"), *(len(r[0]) for r in rows)))
        name_width = min(30, max(len("API Name"), *(len(r[2]) for r in rows)))
    else:
        action_width, name_width = 30, 19
    fmt = f"%-{action_width}s %7s %{name_width + 1}s  %s"
    lines = ["ok: APIs", fmt % ("Action", "Verb", "API Name", "URL")]
    for action, op, title, url in rows:
        lines.append(fmt % (action[:action_width], op, title[:name_width], url))
    return lines


def _token(ctx: Context) -> str:
    """What wsk sends as ``accesstoken``: the gateway token from wskprops, else its dummy one.
    (The tenant, ``spaceguid``, is the uuid of the key in use, which the client adds.) Call it
    once ``ctx.client`` is made, which reads the props."""
    return ctx.props.extra.get("APIGW_ACCESS_TOKEN") or DUMMY_ACCESS_TOKEN


def cmd_api_create(ctx: Context) -> int:
    args = ctx.args
    client = ctx.client
    apidoc, action = build_apidoc(
        args.args, args.apiname, args.response_type, ctx.namespace, client.apihost, ctx.auth
    )
    # Like wsk, refuse an action that is not a web action before asking the gateway.
    try:
        doc = client.get_action(action.path, code=False)
    except ApiError as exc:
        raise CliError(f"Unable to get action '{action.path}': {exc}") from None
    if not is_web(doc.get("annotations")):
        raise CliError(
            f"Action '{action.path}' is not a web action. Issue "
            f"'squall action update \"{action.path}\" --web true' "
            "to convert the action to a web action."
        )
    secret = find(doc.get("annotations"), WEB_SECURE)
    if secret is not None:
        apidoc["action"]["secureKey"] = secret.get("value")
    try:
        answer = client.create_api(
            apidoc, response_type=args.response_type, access_token=_token(ctx)
        )
    except ApiError as exc:
        raise CliError(f"Unable to create API: {exc}") from None
    relpath = apidoc["gatewayPath"]
    route = apidoc["gatewayBasePath"].removesuffix("/") + relpath
    ctx.print(f"ok: created API {route} {apidoc['gatewayMethod']} for action {action.path}")
    ctx.print(str(answer.get("gwApiUrl", "")).removesuffix("/") + relpath)
    return 0


def cmd_api_list(ctx: Context) -> int:
    args = ctx.args
    if len(args.filters) > 3:
        raise UsageError("give at most BASE_PATH (or API_NAME), API_PATH and API_VERB")
    basepath, relpath, verb = (list(args.filters) + [None, None, None])[:3]
    if relpath is not None:
        check_path(relpath)
    if verb is not None:
        verb = check_verb(verb)
    client = ctx.client
    try:
        if basepath is None:
            answer = client.get_apis(limit=args.limit, skip=args.skip, access_token=_token(ctx))
        else:
            answer = client.get_apis(
                basepath=basepath, relpath=relpath, operation=verb, access_token=_token(ctx)
            )
    except ApiError as exc:
        raise CliError(f"Unable to obtain the API list: {exc}") from None
    apis = answer.get("apis") if isinstance(answer, dict) else None
    for line in render_api_list(apis or [], relpath, verb):
        ctx.print(line)
    return 0


def cmd_api_get(ctx: Context) -> int:
    basepath = ctx.args.basepath
    client = ctx.client
    try:
        answer = client.get_apis(basepath=basepath, access_token=_token(ctx))
    except ApiError as exc:
        raise CliError(f"Unable to get API '{basepath}': {exc}") from None
    apis = answer.get("apis") if isinstance(answer, dict) else None
    value = apis[0].get("value") if apis and isinstance(apis[0], dict) else None
    shown = value if ctx.args.full else (value or {}).get("apidoc")
    if not shown:
        raise CliError(f"API does not exist for basepath {basepath}")
    ctx.print(dumps(shown))
    return 0


def cmd_api_delete(ctx: Context) -> int:
    args = ctx.args
    relpath = check_path(args.relpath) if args.relpath else None
    verb = check_verb(args.verb) if args.verb else None
    client = ctx.client
    try:
        client.delete_api(args.basepath, relpath=relpath, operation=verb, access_token=_token(ctx))
    except ApiError as exc:
        raise CliError(f"Unable to delete API: {exc}") from None
    if relpath is None:
        ctx.print(f"ok: deleted API {args.basepath}")
    elif verb is None:
        ctx.print(f"ok: deleted {relpath} from {args.basepath}")
    else:
        ctx.print(f"ok: deleted {relpath} {verb} from {args.basepath}")
    return 0


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``squall api`` and its verbs."""
    apis = command_group(commands, "api", "API gateway routes to web actions")
    sub = leaf(
        apis, "create", cmd_api_create, "route BASE_PATH/API_PATH API_VERB to a web action", common
    )
    sub.add_argument(
        "args", nargs="+", metavar="ARG",
        help="[BASE_PATH] API_PATH API_VERB ACTION (BASE_PATH defaults to /; "
        "one not starting with / names the API)",
    )
    sub.add_argument(
        "--response-type", choices=RESPONSE_TYPES, default="json",
        help="how the web action answers (default json; http for path parameters)",
    )
    sub.add_argument("-n", "--apiname", metavar="NAME", help="the API's name (default BASE_PATH)")

    sub = leaf(apis, "list", cmd_api_list, "list routes", common)
    sub.add_argument(
        "filters", nargs="*", metavar="FILTER", help="[BASE_PATH|API_NAME [API_PATH [API_VERB]]]"
    )
    sub.add_argument(
        "--limit", type=int, default=30, metavar="N", help="at most N APIs (default 30)"
    )
    sub.add_argument("--skip", type=int, default=0, metavar="N", help="skip the first N")

    sub = leaf(apis, "get", cmd_api_get, "print an API's swagger document", common)
    sub.add_argument("basepath", metavar="BASE_PATH", help="the base path (or name) of the API")
    sub.add_argument("-f", "--full", action="store_true", help="the whole gateway record")

    sub = leaf(
        apis, "delete", cmd_api_delete, "delete an API, one of its paths, or one route", common
    )
    sub.add_argument("basepath", metavar="BASE_PATH", help="the base path (or name) of the API")
    sub.add_argument("relpath", metavar="API_PATH", nargs="?")
    sub.add_argument("verb", metavar="API_VERB", nargs="?")
