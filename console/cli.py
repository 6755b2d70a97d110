"""The ``squall`` command line: a wsk-style CLI over :mod:`console.client`.

``squall`` alone, ``squall up`` and ``squall invoker`` start servers and are delegated to
:mod:`backend.server`; everything else talks to a running Squall through its REST API, with
credentials from ``$SQUALL_HOME/wskprops`` (``admin.wskprops`` for the admin commands).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Sequence, TextIO

from console.client import (
    ApiClient,
    ApiError,
    Wskprops,
    admin_props_path,
    load_wskprops,
    user_props_path,
)

#: Subcommands that run a server rather than talk to one; they belong to backend.server.
SERVER_COMMANDS = ("up", "invoker", "runtime")
CONSOLE_COMMANDS = ("console", "demo")
#: Where to look when neither --apihost nor a wskprops names a host (OpenWhisk standalone's port).
FALLBACK_APIHOST = "http://localhost:3233"

#: Activation summaries carry a numeric status code instead of the response (OpenWhisk's mapping).
STATUS_CODES = {
    0: "success",
    1: "application error",
    2: "action developer error",
    3: "whisk internal error",
}

#: File extension → (kind, binary) when --kind is not given.
KINDS_BY_EXTENSION = {".py": ("python:3", False), ".zip": ("python:3", True)}


class CliError(Exception):
    """A user-facing error that is not an API error (bad file, missing credentials, ...)."""


# --------------------------------------------------------------------------------------------
# helpers usable without a server (and unit-tested as such)


def parse_param_value(value: str) -> Any:
    """``-p K V``: V is JSON if it parses (``42``, ``true``, ``{"a":1}``), else the plain string,
    which is what wsk does and what lets ``-p name World`` work without quoting."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def load_param_file(path: str) -> dict[str, Any]:
    """Read a ``--param-file``: it must hold one JSON object."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read parameter file {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CliError(f"parameter file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CliError(f"parameter file {path} must contain a JSON object")
    return data


def build_params(
    pairs: Sequence[Sequence[str]] | None, param_file: str | None = None
) -> dict[str, Any]:
    """Merge ``--param-file`` with ``-p`` pairs; the pairs win, so a file can hold defaults."""
    params: dict[str, Any] = load_param_file(param_file) if param_file else {}
    for key, value in pairs or ():
        params[key] = parse_param_value(value)
    return params


def key_values(mapping: dict[str, Any]) -> list[dict[str, Any]]:
    """OpenWhisk stores parameters and annotations as ``[{"key": k, "value": v}]``."""
    return [{"key": k, "value": v} for k, v in mapping.items()]


def read_exec(path: str, kind: str | None = None, main: str | None = None) -> dict[str, Any]:
    """Build the ``exec`` of an action from a source file or a zip (sent base64 with binary)."""
    file = Path(path)
    inferred = KINDS_BY_EXTENSION.get(file.suffix.lower())
    if kind is None:
        if inferred is None:
            raise CliError(f"cannot infer the kind of {path} from its extension; pass --kind")
        kind = inferred[0]
    binary = file.suffix.lower() == ".zip"
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    if binary:
        code = base64.b64encode(data).decode("ascii")
    else:
        try:
            code = data.decode("utf-8")
        except UnicodeDecodeError:
            raise CliError(f"{path} is not UTF-8 text; zip it to send it as binary") from None
    exec_: dict[str, Any] = {"kind": kind, "code": code, "binary": binary}
    if main:
        exec_["main"] = main
    return exec_


def annotation(doc: dict[str, Any], key: str) -> Any:
    """The value of an annotation of an action or activation document, or ``None``."""
    for item in doc.get("annotations") or ():
        if isinstance(item, dict) and item.get("key") == key:
            return item.get("value")
    return None


def format_time(epoch_ms: Any) -> str:
    """Local wall-clock time, as wsk shows it."""
    if not isinstance(epoch_ms, (int, float)) or epoch_ms <= 0:
        return "-"
    return datetime.fromtimestamp(epoch_ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def activation_status(activation: dict[str, Any]) -> str:
    """Status of a full record (``response.status``) or of a summary (``statusCode``)."""
    response = activation.get("response")
    if isinstance(response, dict) and response.get("status"):
        return str(response["status"])
    code = activation.get("statusCode")
    if isinstance(code, int):
        return STATUS_CODES.get(code, str(code))
    return "-"


def activation_row(activation: dict[str, Any]) -> list[str]:
    """One ``activation list`` row: Datetime, ID, Kind, Start, Duration, Status, Entity."""
    duration = activation.get("duration")
    path = annotation(activation, "path")
    if not isinstance(path, str) or not path:
        path = f"{activation.get('namespace', '?')}/{activation.get('name', '?')}"
    version = activation.get("version")
    return [
        format_time(activation.get("start")),
        str(activation.get("activationId", "?")),
        str(annotation(activation, "kind") or "-"),
        "cold" if annotation(activation, "initTime") is not None else "warm",
        f"{duration}ms" if isinstance(duration, (int, float)) else "-",
        activation_status(activation),
        f"{path}:{version}" if version else path,
    ]


def format_table(rows: list[list[str]], header: list[str] | None = None) -> list[str]:
    """Left-aligned columns separated by two spaces (the last one unpadded)."""
    all_rows = ([header] if header else []) + rows
    if not all_rows:
        return []
    widths = [max(len(r[i]) for r in all_rows) for i in range(len(all_rows[0]))]
    lines = []
    for row in all_rows:
        cells = [cell.ljust(w) for cell, w in zip(row[:-1], widths)] + [row[-1]]
        lines.append("  ".join(cells))
    return lines


def dumps(obj: Any) -> str:
    """Pretty JSON, the way every command prints documents."""
    return json.dumps(obj, indent=2, ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# settings and client


@dataclass
class Context:
    """Per-run state: the parsed arguments, where to print, and a lazily made client (so that
    purely local errors, like a missing file, never need a server or credentials)."""

    args: argparse.Namespace
    out: TextIO
    err: TextIO
    _client: ApiClient | None = field(default=None, init=False)
    namespace: str = field(default="_", init=False)
    apihost: str = field(default=FALLBACK_APIHOST, init=False)

    @property
    def client(self) -> ApiClient:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> ApiClient:
        args = self.args
        use_admin = bool(getattr(args, "admin", False) or getattr(args, "admin_command", False))
        props_path = admin_props_path() if use_admin else user_props_path()
        props = _read_props(props_path)
        user_props = props if not use_admin else _read_props(user_props_path())
        explicit_auth: str | None = getattr(args, "auth", None)
        self.apihost = (
            getattr(args, "apihost", None) or props.apihost or user_props.apihost or FALLBACK_APIHOST
        )
        auth = explicit_auth or props.auth
        if not auth:
            where = "has no AUTH" if props_path.exists() else "does not exist"
            raise CliError(
                f"no credentials: {props_path} {where}; pass --auth UUID:KEY "
                "or run `squall up` to create it"
            )
        # The props' namespace belongs to the props' key; another key gets its own namespace.
        self.namespace = (props.namespace if not explicit_auth else None) or "_"
        try:
            return ApiClient(self.apihost, auth, self.namespace)
        except ValueError as exc:
            raise CliError(str(exc)) from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def print(self, text: str = "") -> None:
        print(text, file=self.out)

    def warn(self, text: str) -> None:
        print(text, file=self.err)

    def qualified(self, name: str, namespace: str | None = None) -> str:
        """``/ns/name`` as wsk prints it; ``_`` stays ``_`` when the real namespace is unknown."""
        if name.startswith("/"):
            return name
        ns = self.namespace
        if ns == "_" and namespace:
            ns = namespace
        return f"/{ns}/{name}"


def _read_props(path: Path) -> Wskprops:
    try:
        return load_wskprops(path)
    except FileNotFoundError:
        return Wskprops()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------------------------
# commands: actions


def _action_body(args: argparse.Namespace, file_required: bool) -> dict[str, Any]:
    """The PUT body from the create/update options; only what was given, so an update keeps the
    rest and a create gets the server's defaults."""
    body: dict[str, Any] = {}
    file: str | None = args.file
    if args.docker:
        body["exec"] = {"kind": "blackbox", "image": args.docker}
        if file:
            extra = read_exec(file, kind="blackbox", main=args.main)
            body["exec"].update({k: v for k, v in extra.items() if k != "kind"})
    elif file:
        body["exec"] = read_exec(file, kind=args.kind, main=args.main)
    elif file_required:
        raise CliError("an action needs code: give FILE (or --docker IMAGE)")
    elif args.kind or args.main:
        raise CliError("--kind and --main need FILE")

    params = build_params(args.param, args.param_file)
    if params or args.param_file:
        body["parameters"] = key_values(params)
    if args.annotation:
        body["annotations"] = key_values(
            {k: parse_param_value(v) for k, v in args.annotation}
        )
    limits = {
        key: value
        for key, value in (("memory", args.memory), ("timeout", args.timeout), ("logs", args.logsize))
        if value is not None
    }
    if limits:
        body["limits"] = limits
    return body


def cmd_action_create(ctx: Context) -> int:
    body = _action_body(ctx.args, file_required=True)
    ctx.client.put_action(ctx.args.name, body, overwrite=False)
    ctx.print(f"ok: created action {ctx.args.name}")
    return 0


def cmd_action_update(ctx: Context) -> int:
    body = _action_body(ctx.args, file_required=False)
    ctx.client.put_action(ctx.args.name, body, overwrite=True)
    ctx.print(f"ok: updated action {ctx.args.name}")
    return 0


def cmd_action_get(ctx: Context) -> int:
    ctx.print(dumps(ctx.client.get_action(ctx.args.name, code=ctx.args.code)))
    return 0


def cmd_action_delete(ctx: Context) -> int:
    ctx.client.delete_action(ctx.args.name)
    ctx.print(f"ok: deleted action {ctx.args.name}")
    return 0


def cmd_action_list(ctx: Context) -> int:
    actions = ctx.client.list_actions(limit=ctx.args.limit, skip=ctx.args.skip)
    rows = []
    for action in actions:
        exec_ = action.get("exec") if isinstance(action.get("exec"), dict) else {}
        kind = exec_.get("kind") or annotation(action, "exec") or "-"
        rows.append(
            [
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


# --------------------------------------------------------------------------------------------
# commands: activations


def _activation_id(ctx: Context) -> str:
    """The positional ID, or with ``--last`` the newest activation (of the named action, if any)."""
    args = ctx.args
    if args.last:
        recent = ctx.client.list_activations(name=args.id, limit=1)
        if not recent:
            what = f" of {args.id}" if args.id else ""
            raise CliError(f"there are no activations{what} yet")
        return str(recent[0]["activationId"])
    if not args.id:
        raise CliError("give an activation ID or --last")
    return str(args.id)


def cmd_activation_list(ctx: Context) -> int:
    args = ctx.args
    activations = ctx.client.list_activations(
        name=args.name, limit=args.limit, skip=args.skip, since=args.since, upto=args.upto
    )
    ctx.print("activations")
    header = ["Datetime", "Activation ID", "Kind", "Start", "Duration", "Status", "Entity"]
    if activations:
        for line in format_table([activation_row(a) for a in activations], header):
            ctx.print(line)
    return 0


def cmd_activation_get(ctx: Context) -> int:
    ctx.print(dumps(ctx.client.get_activation(_activation_id(ctx))))
    return 0


def cmd_activation_result(ctx: Context) -> int:
    answer = ctx.client.activation_result(_activation_id(ctx))
    ctx.print(dumps(answer.get("result", answer) if isinstance(answer, dict) else answer))
    return 0


def cmd_activation_logs(ctx: Context) -> int:
    for line in ctx.client.activation_logs(_activation_id(ctx)):
        if ctx.args.strip:
            # "<ISO time> <stream>: <line>" → "<line>"
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[1].endswith(":"):
                line = parts[2]
        ctx.print(line)
    return 0


# --------------------------------------------------------------------------------------------
# commands: namespaces and system


def cmd_namespace_list(ctx: Context) -> int:
    ctx.print("namespaces")
    for name in ctx.client.namespaces():
        ctx.print(str(name))
    return 0


def cmd_namespace_create(ctx: Context) -> int:
    name = ctx.args.name
    doc = ctx.client.create_namespace(name)
    key = doc.get("auth") or f"{doc.get('uuid')}:{doc.get('key')}"
    # The key alone on stdout, so that `KEY=$(squall namespace create x)` works.
    ctx.print(key)
    ctx.warn(
        f"hint: namespace {doc.get('namespace', name)} created; use it with "
        f"`squall --auth {key} action list`, or put AUTH={key} in a wskprops file"
    )
    return 0


def cmd_namespace_limits(ctx: Context) -> int:
    args = ctx.args
    limits = {
        key: value
        for key, value in (
            ("invocationsPerMinute", args.invocations_per_minute),
            ("concurrentInvocations", args.concurrent),
        )
        if value is not None
    }
    if not limits:
        raise CliError("nothing to set: give --invocations-per-minute and/or --concurrent")
    answer = ctx.client.set_limits(args.name, **limits)
    ctx.print(f"ok: updated limits of namespace {args.name}")
    if answer:
        ctx.print(dumps(answer))
    return 0


def cmd_system_status(ctx: Context) -> int:
    ctx.print(dumps(ctx.client.system_status()))
    return 0


# --------------------------------------------------------------------------------------------
# parser


def _global_options() -> argparse.ArgumentParser:
    """Options accepted both before and after the subcommand. SUPPRESS keeps a subcommand's
    unset option from overwriting one given before it."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection")
    group.add_argument(
        "--apihost", metavar="URL", default=argparse.SUPPRESS,
        help="API host (default: APIHOST of $SQUALL_HOME/wskprops)",
    )
    group.add_argument(
        "--auth", metavar="KEY", default=argparse.SUPPRESS,
        help="UUID:KEY credentials (default: AUTH of $SQUALL_HOME/wskprops)",
    )
    group.add_argument(
        "--admin", action="store_true", default=argparse.SUPPRESS,
        help="use $SQUALL_HOME/admin.wskprops",
    )
    return common


def _add_param_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"),
        help=f"{what} (VALUE is JSON if it parses, else a string); repeatable",
    )
    parser.add_argument("--param-file", metavar="FILE", help=f"JSON object of {what}s")


def build_parser() -> argparse.ArgumentParser:
    common = _global_options()
    parser = argparse.ArgumentParser(
        prog="squall",
        description="Squall: a self-hosted serverless platform speaking the OpenWhisk API.",
        parents=[common],
        epilog="Without a command, `squall` opens the console on an embedded backend.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    # Listed for --help only: main() hands these to backend.server before parsing.
    commands.add_parser("up", help="start Squall (controller, invoker, console)", add_help=False)
    commands.add_parser("invoker", help="start an extra invoker", add_help=False)
    commands.add_parser("runtime", help="runtime images: `squall runtime build [KIND]`", add_help=False)
    commands.add_parser("console", help="the operations console, attached to a running backend", add_help=False)
    commands.add_parser("demo", help="scripted demo: `squall demo --screenshots DIR`", add_help=False)

    def leaf(
        group: argparse._SubParsersAction,  # type: ignore[type-arg]
        name: str,
        handler: Callable[[Context], int],
        help: str,
        admin: bool = False,
    ) -> argparse.ArgumentParser:
        sub = group.add_parser(name, help=help, description=help, parents=[common])
        sub.set_defaults(handler=handler, admin_command=admin)
        return sub

    def group_parser(name: str, help: str) -> argparse._SubParsersAction:  # type: ignore[type-arg]
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(usage_of=sub)
        return sub.add_subparsers(title="commands", metavar="COMMAND")

    # action
    actions = group_parser("action", "create, update, invoke, get, list and delete actions")
    for verb, handler, file_nargs, help in (
        ("create", cmd_action_create, None, "create an action"),
        ("update", cmd_action_update, "?", "update an action (only what is given changes)"),
    ):
        sub = leaf(actions, verb, handler, help)
        sub.add_argument("name", metavar="NAME")
        sub.add_argument(
            "file", metavar="FILE", nargs=file_nargs,
            help="action code: .py source or .zip with __main__.py",
        )
        sub.add_argument("--kind", help="runtime kind (default: from the extension: python:3)")
        sub.add_argument("--docker", metavar="IMAGE", help="blackbox action from this image")
        sub.add_argument("--main", metavar="NAME", help="entry function (default: main)")
        _add_param_options(sub, "default parameter")
        sub.add_argument(
            "-a", "--annotation", nargs=2, action="append", metavar=("KEY", "VALUE"),
            help="annotation (VALUE is JSON if it parses); repeatable",
        )
        sub.add_argument("--memory", type=int, metavar="MB", help="memory limit in MB")
        sub.add_argument("--timeout", type=int, metavar="MS", help="time limit in ms")
        sub.add_argument("--logsize", type=int, metavar="MB", help="log size limit in MB")

    sub = leaf(actions, "invoke", cmd_action_invoke, "invoke an action")
    sub.add_argument("name", metavar="NAME")
    _add_param_options(sub, "parameter")
    sub.add_argument("-b", "--blocking", action="store_true", help="wait for the activation")
    sub.add_argument(
        "-r", "--result", action="store_true", help="wait and print only the result (implies -b)"
    )
    sub.add_argument(
        "--timeout-wait", type=int, metavar="MS",
        help="how long a blocking invoke waits before answering 202 (server default 60000)",
    )

    sub = leaf(actions, "get", cmd_action_get, "print an action document")
    sub.add_argument("name", metavar="NAME")
    sub.add_argument("--code", action="store_true", help="include the code")

    sub = leaf(actions, "list", cmd_action_list, "list actions")
    sub.add_argument("--limit", type=int, metavar="N", help="at most N actions")
    sub.add_argument("--skip", type=int, default=0, metavar="N", help="skip the first N")

    sub = leaf(actions, "delete", cmd_action_delete, "delete an action")
    sub.add_argument("name", metavar="NAME")

    # activation
    activations = group_parser("activation", "inspect activations")
    sub = leaf(activations, "list", cmd_activation_list, "list activations, newest first")
    sub.add_argument("name", metavar="NAME", nargs="?", help="only this action's")
    sub.add_argument("--limit", type=int, default=30, metavar="N", help="at most N (default 30)")
    sub.add_argument("--skip", type=int, default=0, metavar="N", help="skip the newest N")
    sub.add_argument("--since", type=int, metavar="MS", help="started at or after (epoch ms)")
    sub.add_argument("--upto", type=int, metavar="MS", help="started at or before (epoch ms)")
    for verb, handler, help in (
        ("get", cmd_activation_get, "print an activation record"),
        ("result", cmd_activation_result, "print an activation's result"),
        ("logs", cmd_activation_logs, "print an activation's log lines"),
    ):
        sub = leaf(activations, verb, handler, help)
        sub.add_argument(
            "id", metavar="ID", nargs="?",
            help="activation id (with --last: an action name to take the newest of)",
        )
        sub.add_argument(
            "-l", "--last", action="store_true", help="use the most recent activation"
        )
        if verb == "logs":
            sub.add_argument(
                "-r", "--strip", action="store_true", help="drop the time and stream prefix"
            )

    # namespace
    namespaces = group_parser("namespace", "list namespaces; create them and set limits (admin)")
    leaf(namespaces, "list", cmd_namespace_list, "list the namespaces of the key")
    sub = leaf(
        namespaces, "create", cmd_namespace_create,
        "create a namespace and print its key (admin)", admin=True,
    )
    sub.add_argument("name", metavar="NAME")
    sub = leaf(
        namespaces, "limits", cmd_namespace_limits, "set a namespace's limits (admin)", admin=True
    )
    sub.add_argument("name", metavar="NAME")
    sub.add_argument("--invocations-per-minute", type=int, metavar="N")
    sub.add_argument("--concurrent", type=int, metavar="N", help="concurrent invocations")

    # system
    system = group_parser("system", "operator commands (admin)")
    leaf(system, "status", cmd_system_status, "print the system status (admin)", admin=True)

    return parser


# --------------------------------------------------------------------------------------------
# entry point


def _serve(argv: list[str]) -> int:
    """Hand server commands to the backend; imported lazily so the client stays light."""
    try:
        from backend.server import main as server_main
    except ModuleNotFoundError as exc:
        if exc.name not in ("backend", "backend.server"):
            raise
        print("error: the Squall server (backend.server) is not installed", file=sys.stderr)
        return 1
    return int(server_main(argv) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``squall`` console script; returns the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments:
        arguments = ["console", "--embedded"]
    if arguments[0] in CONSOLE_COMMANDS:
        from .main import main as console_main

        return console_main(arguments)
    if arguments[0] in SERVER_COMMANDS:
        return _serve(arguments)

    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:  # --help, or a usage error argparse already reported
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    handler: Callable[[Context], int] | None = getattr(args, "handler", None)
    if handler is None:
        usage_of: argparse.ArgumentParser = getattr(args, "usage_of", parser)
        usage_of.print_help(sys.stderr)
        return 2

    ctx = Context(args, out=sys.stdout, err=sys.stderr)
    try:
        return handler(ctx)
    except (ApiError, CliError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `squall ... | head`: stop quietly, and keep Python from complaining at exit flush.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
