"""``squall rule ...``: create, update, get, list, delete, enable and disable rules, as ``wsk rule``
does. A rule ties a trigger to an action: while it is active, every fire of the trigger invokes
the action with the fire's parameters."""

from __future__ import annotations

import argparse
from typing import Any

from console.client import ApiError

from .common import (
    CliError,
    Context,
    Subcommands,
    add_page_options,
    command_group,
    dumps,
    format_table,
    leaf,
)
from .names import parse_name
from .triggers import trigger_name


def _references(ctx: Context) -> tuple[str, str]:
    """The rule's trigger and action, fully qualified on the client as wsk does (``t`` →
    ``/NS/t``, ``pkg/a`` → ``/NS/pkg/a``), because the server would read ``pkg/a`` as namespace
    ``pkg``; the own namespace is ``_`` unless wskprops names it."""
    args = ctx.args
    trigger = trigger_name(args.trigger, ctx.namespace)
    action = parse_name(args.action, ctx.namespace)
    if not action.name:
        raise CliError(f"'{args.action}' is not an action name")
    return trigger.path, action.path


def _put_rule(ctx: Context, overwrite: bool) -> None:
    args = ctx.args
    client = ctx.client  # settles ctx.namespace
    rule = parse_name(args.name, ctx.namespace)
    if rule.package or not rule.name:
        raise CliError(f"'{args.name}' is not a rule name: use NAME or /NAMESPACE/NAME")
    trigger, action = _references(ctx)
    client.put_rule(args.name, trigger, action, overwrite=overwrite)


def cmd_rule_create(ctx: Context) -> int:
    _put_rule(ctx, overwrite=False)
    ctx.print(f"ok: created rule {ctx.args.name}")
    return 0


def cmd_rule_update(ctx: Context) -> int:
    _put_rule(ctx, overwrite=True)
    ctx.print(f"ok: updated rule {ctx.args.name}")
    return 0


def cmd_rule_get(ctx: Context) -> int:
    ctx.print(dumps(ctx.client.get_rule(ctx.args.name)))
    return 0


def cmd_rule_delete(ctx: Context) -> int:
    ctx.client.delete_rule(ctx.args.name)
    ctx.print(f"ok: deleted rule {ctx.args.name}")
    return 0


def cmd_rule_enable(ctx: Context) -> int:
    ctx.client.enable_rule(ctx.args.name)
    ctx.print(f"ok: enabled rule {ctx.args.name}")
    return 0


def cmd_rule_disable(ctx: Context) -> int:
    ctx.client.disable_rule(ctx.args.name)
    ctx.print(f"ok: disabled rule {ctx.args.name}")
    return 0


def reference(value: Any) -> str:
    """``/ns/name`` of a rule's ``{"name", "path"}`` trigger or action."""
    if isinstance(value, dict):
        path, name = value.get("path"), value.get("name", "?")
        return f"/{path}/{name}" if path else str(name)
    return str(value) if value else "?"


def rule_row(doc: dict[str, Any], status: str, namespace: str = "_") -> list[str]:
    """One ``rule list`` row: name, shared or private, status, and trigger → action."""
    return [
        f"/{doc.get('namespace', namespace)}/{doc.get('name', '?')}",
        "shared" if doc.get("publish") else "private",
        status,
        f"{reference(doc.get('trigger'))} -> {reference(doc.get('action'))}",
    ]


def cmd_rule_list(ctx: Context) -> int:
    args = ctx.args
    client = ctx.client
    rows = []
    for rule in client.list_rules(limit=args.limit, skip=args.skip):
        # OpenWhisk lists rules without their status; like wsk, ask each rule for it.
        try:
            status = str(client.get_rule(str(rule.get("name"))).get("status") or "-")
        except ApiError:
            status = "-"
        rows.append(rule_row(rule, status, ctx.namespace))
    ctx.print("rules")
    for line in format_table(rows):
        ctx.print(line)
    return 0


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``squall rule`` and its verbs."""
    rules = command_group(
        commands, "rule", "create, update, get, list, delete, enable and disable rules"
    )
    for verb, handler, help in (
        ("create", cmd_rule_create, "create a rule: TRIGGER's fires invoke ACTION (starts active)"),
        ("update", cmd_rule_update, "point a rule at another trigger or action"),
    ):
        sub = leaf(rules, verb, handler, help, common)
        sub.add_argument("name", metavar="NAME")
        sub.add_argument("trigger", metavar="TRIGGER", help="NAME or /NAMESPACE/NAME")
        sub.add_argument(
            "action", metavar="ACTION", help="NAME, PACKAGE/NAME or /NAMESPACE/[PACKAGE/]NAME"
        )
    for verb, handler, help in (
        ("get", cmd_rule_get, "print a rule document, with its status"),
        ("delete", cmd_rule_delete, "delete a rule"),
        ("enable", cmd_rule_enable, "activate a rule: its trigger's fires invoke its action"),
        ("disable", cmd_rule_disable, "deactivate a rule, keeping it"),
    ):
        sub = leaf(rules, verb, handler, help, common)
        sub.add_argument("name", metavar="NAME")
    sub = leaf(rules, "list", cmd_rule_list, "list the namespace's rules", common)
    add_page_options(sub, "rules")
