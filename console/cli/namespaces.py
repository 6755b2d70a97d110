"""``squall namespace ...``: list the key's namespaces; create namespaces and set their limits
(admin)."""

from __future__ import annotations

import argparse

from .common import CliError, Context, Subcommands, command_group, dumps, leaf


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
            ("firesPerMinute", args.fires_per_minute),
        )
        if value is not None
    }
    if not limits:
        raise CliError("nothing to set: give --invocations-per-minute, --concurrent or --fires-per-minute")
    answer = ctx.client.set_limits(args.name, **limits)
    ctx.print(f"ok: updated limits of namespace {args.name}")
    if answer:
        ctx.print(dumps(answer))
    return 0


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``squall namespace`` and its verbs."""
    namespaces = command_group(
        commands, "namespace", "list namespaces; create them and set limits (admin)"
    )
    leaf(namespaces, "list", cmd_namespace_list, "list the namespaces of the key", common)
    sub = leaf(
        namespaces, "create", cmd_namespace_create,
        "create a namespace and print its key (admin)", common, admin=True,
    )
    sub.add_argument("name", metavar="NAME")
    sub = leaf(
        namespaces, "limits", cmd_namespace_limits,
        "set a namespace's limits (admin)", common, admin=True,
    )
    sub.add_argument("name", metavar="NAME")
    sub.add_argument("--invocations-per-minute", type=int, metavar="N")
    sub.add_argument("--concurrent", type=int, metavar="N", help="concurrent invocations")
    sub.add_argument("--fires-per-minute", type=int, metavar="N", help="trigger fires per minute")
