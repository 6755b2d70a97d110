"""``squall action ...``: create, update, invoke, get, list and delete actions, including
sequences (``--sequence``) and web actions (``--web``, ``--web-secure``, ``get --url``)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from console.client import ApiError

from .common import (
    Context,
    CliError,
    Subcommands,
    UsageError,
    add_annotation_option,
    add_page_options,
    add_param_options,
    annotation,
    build_params,
    command_group,
    dumps,
    entity_body,
    format_table,
    format_time,
    leaf,
    read_exec,
)
from .names import parse_name, qualify_components
from .web import action_url, check_web_mode, web_annotations


def _action_body(args: argparse.Namespace, file_required: bool) -> dict[str, Any]:
    """The PUT body from the create/update options; only what was given, so an update keeps the
    rest and a create gets the server's defaults. A sequence's ``exec`` needs the namespace, so
    the caller adds it (see :func:`_put_action`); everything checked here needs no server."""
    body: dict[str, Any] = {}
    file: str | None = args.file
    if args.sequence is not None:
        if file or args.docker or args.kind or args.main:
            raise CliError("--sequence takes the place of FILE, --docker, --kind and --main")
        qualify_components(args.sequence, "_")  # a malformed list fails before any request
    elif args.docker:
        if args.kind:
            raise CliError("--docker IMAGE takes the place of --kind: the image is the runtime")
        # A blackbox action: the image serves /init and /run; FILE, if given, is code for the image.
        body["exec"] = {"kind": "blackbox", "image": args.docker}
        if file:
            extra = read_exec(file, kind="blackbox", main=args.main)
            body["exec"].update({k: v for k, v in extra.items() if k != "kind"})
        elif args.main:
            body["exec"]["main"] = args.main
    elif file:
        body["exec"] = read_exec(file, kind=args.kind, main=args.main)
    elif file_required:
        raise UsageError("an action needs code: give FILE (or --docker IMAGE, or --sequence A,B)")
    elif args.kind or args.main:
        raise CliError("--kind and --main need FILE")
    if args.web is not None:
        check_web_mode(args.web)

    body.update(entity_body(args))
    limits = {
        key: value
        for key, value in (("memory", args.memory), ("timeout", args.timeout), ("logs", args.logsize))
        if value is not None
    }
    if limits:
        body["limits"] = limits
    return body


def _existing_annotations(ctx: Context, name: str) -> list[dict[str, Any]] | None:
    """The annotations of the action being updated, ``None`` if it does not exist yet (wsk's
    update creates it then)."""
    try:
        doc = ctx.client.get_action(name, code=False)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise
    annotations = doc.get("annotations")
    return list(annotations) if isinstance(annotations, list) else []


def _put_action(ctx: Context, overwrite: bool) -> None:
    args = ctx.args
    body = _action_body(args, file_required=not overwrite)
    client = ctx.client  # also settles ctx.namespace, which sequences need
    if args.sequence is not None:
        body["exec"] = {
            "kind": "sequence",
            "components": qualify_components(args.sequence, ctx.namespace),
        }
    if args.web is not None or args.web_secure is not None:
        existing = _existing_annotations(ctx, args.name) if overwrite else None
        annotations = web_annotations(
            body.get("annotations"), existing, args.web, args.web_secure
        )
        if annotations is not None:
            body["annotations"] = annotations
    client.put_action(args.name, body, overwrite=overwrite)


def cmd_action_create(ctx: Context) -> int:
    _put_action(ctx, overwrite=False)
    ctx.print(f"ok: created action {ctx.args.name}")
    return 0


def cmd_action_update(ctx: Context) -> int:
    _put_action(ctx, overwrite=True)
    ctx.print(f"ok: updated action {ctx.args.name}")
    return 0


def cmd_action_get(ctx: Context) -> int:
    if ctx.args.url:
        doc = ctx.client.get_action(ctx.args.name, code=False)
        ctx.print(action_url(ctx.client.apihost, doc))
        return 0
    ctx.print(dumps(ctx.client.get_action(ctx.args.name, code=ctx.args.code)))
    return 0


def cmd_action_delete(ctx: Context) -> int:
    ctx.client.delete_action(ctx.args.name)
    ctx.print(f"ok: deleted action {ctx.args.name}")
    return 0


def cmd_action_list(ctx: Context) -> int:
    args = ctx.args
    client = ctx.client
    package: str | None = None
    namespace: str | None = None
    if args.package:
        # wsk's `action list [NAMESPACE | PACKAGE]`: /ns, /ns/pkg or pkg.
        where = parse_name(args.package, ctx.namespace)
        if where.package:
            raise CliError(f"'{args.package}' is not a package: use PKG, /NS/PKG or /NS")
        namespace = where.namespace
        package = where.name or None
    actions = client.list_actions(
        limit=args.limit, skip=args.skip, package=package, namespace=namespace
    )
    rows = []
    for action in actions:
        exec_: dict[str, Any] = action["exec"] if isinstance(action.get("exec"), dict) else {}
        kind = exec_.get("kind") or annotation(action, "exec") or "-"
        rows.append(
            [
                # A packaged action's namespace is "ns/pkg", so this is /ns/pkg/name.
                f"/{action.get('namespace', ctx.namespace)}/{action.get('name', '?')}",
                str(action.get("version", "-")),
                "shared" if action.get("publish") else "private",
                str(kind),
                format_time(action.get("updated")),
            ]
        )
    ctx.print("actions")
    for line in format_table(rows):
        ctx.print(line)
    return 0


def cmd_action_invoke(ctx: Context) -> int:
    args = ctx.args
    params = build_params(args.param, args.param_file)
    blocking = args.blocking or args.result
    inv = ctx.client.invoke(
        args.name, params, blocking=blocking, result=args.result, timeout_ms=args.timeout_wait
    )
    body = inv.body
    name = ctx.qualified(args.name, body.get("namespace") if not args.result else None)
    aid = inv.id or "?"
    if inv.status == 202:
        if blocking:
            ctx.print(f"ok: invoked {name}, but the request has not yet finished, with id {aid}")
            ctx.warn(f"hint: it is still running; later run `squall activation get {aid}`")
        else:
            ctx.print(f"ok: invoked {name} with id {aid}")
        return 0
    failed = inv.status >= 400
    if args.result:
        ctx.print(dumps(body))
    else:
        if not failed:
            ctx.print(f"ok: invoked {name} with id {aid}")
        ctx.print(dumps(body))
    if failed:
        ctx.warn(f"error: {_invoke_failure(inv.status, body, aid, args.result)}")
        return 1
    return 0


def _invoke_failure(status: int, body: dict[str, Any], aid: str, result_only: bool) -> str:
    """One line saying why a blocking invoke failed, from the activation when we have it."""
    kind = "whisk internal error" if status == 500 else "the action failed"
    detail: Any = None
    if result_only:
        detail = body.get("error")
    else:
        response = body.get("response")
        if isinstance(response, dict):
            kind = str(response.get("status") or kind)
            result = response.get("result")
            if isinstance(result, dict):
                detail = result.get("error")
    message = f"activation {aid}: {kind}"
    if detail:
        message += f": {detail if isinstance(detail, str) else json.dumps(detail)}"
    return message


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``squall action`` and its verbs."""
    actions = command_group(
        commands, "action", "create, update, invoke, get, list and delete actions"
    )
    for verb, handler, file_nargs, help in (
        ("create", cmd_action_create, "?", "create an action"),
        ("update", cmd_action_update, "?", "update an action (only what is given changes)"),
    ):
        sub = leaf(actions, verb, handler, help, common)
        sub.add_argument("name", metavar="NAME", help="NAME or PACKAGE/NAME")
        sub.add_argument(
            "file", metavar="FILE", nargs=file_nargs,
            help="action code: .py source or .zip with __main__.py",
        )
        sub.add_argument("--kind", help="runtime kind (default: from the extension: python:3)")
        sub.add_argument("--docker", metavar="IMAGE", help="blackbox action from this image")
        sub.add_argument("--main", metavar="NAME", help="entry function (default: main)")
        sub.add_argument(
            "--sequence", metavar="A,B,...",
            help="a sequence of these actions (each NAME, PKG/NAME or /NS/[PKG/]NAME)",
        )
        add_param_options(sub, "default parameter")
        add_annotation_option(sub)
        sub.add_argument("--memory", type=int, metavar="MB", help="memory limit in MB")
        sub.add_argument("--timeout", type=int, metavar="MS", help="time limit in ms")
        sub.add_argument("--logsize", type=int, metavar="MB", help="log size limit in MB")
        sub.add_argument(
            "--web", metavar="true|raw|false",
            help="make it a web action (raw: a raw HTTP one), or no longer one",
        )
        sub.add_argument(
            "--web-secure", metavar="SECRET|true|false",
            help="require this X-Require-Whisk-Auth secret (true: a random one; false: none)",
        )

    sub = leaf(actions, "invoke", cmd_action_invoke, "invoke an action", common)
    sub.add_argument("name", metavar="NAME")
    add_param_options(sub, "parameter")
    sub.add_argument("-b", "--blocking", action="store_true", help="wait for the activation")
    sub.add_argument(
        "-r", "--result", action="store_true", help="wait and print only the result (implies -b)"
    )
    sub.add_argument(
        "--timeout-wait", type=int, metavar="MS",
        help="how long a blocking invoke waits before answering 202 (server default 60000)",
    )

    sub = leaf(actions, "get", cmd_action_get, "print an action document", common)
    sub.add_argument("name", metavar="NAME")
    sub.add_argument("--code", action="store_true", help="include the code")
    sub.add_argument(
        "--url", action="store_true", help="print its URL instead (the web URL of a web action)"
    )

    sub = leaf(actions, "list", cmd_action_list, "list actions", common)
    sub.add_argument(
        "package", metavar="PACKAGE", nargs="?",
        help="only the actions of this package (PKG or /NS/PKG), or of /NAMESPACE",
    )
    add_page_options(sub, "actions")

    sub = leaf(actions, "delete", cmd_action_delete, "delete an action", common)
    sub.add_argument("name", metavar="NAME")
