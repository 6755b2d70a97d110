"""``squall activation ...``: list activations and print one's record, result or logs."""

from __future__ import annotations

import argparse
from typing import Any

from .common import (
    CliError,
    Context,
    Subcommands,
    annotation,
    command_group,
    dumps,
    format_table,
    format_time,
    leaf,
)

#: Activation summaries carry a numeric status code instead of the response (OpenWhisk's mapping).
STATUS_CODES = {
    0: "success",
    1: "application error",
    2: "action developer error",
    3: "whisk internal error",
}


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


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``squall activation`` and its verbs."""
    activations = command_group(commands, "activation", "inspect activations")
    sub = leaf(activations, "list", cmd_activation_list, "list activations, newest first", common)
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
        sub = leaf(activations, verb, handler, help, common)
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
