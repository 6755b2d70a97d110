"""``squall trigger ...``: create, update, get, list, delete and fire triggers, as ``wsk trigger``
does, including triggers with a feed (``--feed /whisk.system/alarms/alarm``). As in OpenWhisk the
client runs the feed protocol: it invokes the feed action, blocking, with a ``lifecycleEvent``
(CREATE, READ, UPDATE, DELETE), the trigger's name and the user's key, so that the feed's provider
can fire the trigger later on the user's behalf."""

from __future__ import annotations

import argparse
import json
from typing import Any

from console.client import ApiError, Invocation

from .common import (
    CliError,
    Context,
    KeyValues,
    Subcommands,
    add_annotation_option,
    add_page_options,
    add_param_options,
    annotation,
    build_params,
    command_group,
    dumps,
    entity_body,
    format_table,
    key_values,
    leaf,
    parse_param_value,
)
from .names import QualifiedName, parse_name

#: The annotation that marks a trigger as fed, holding the feed action's fully qualified name.
FEED = "feed"


def trigger_name(text: str, namespace: str) -> QualifiedName:
    """A trigger is ``NAME`` or ``/NAMESPACE/NAME``: triggers are not in packages."""
    name = parse_name(text, namespace)
    if name.package or not name.name:
        raise CliError(f"'{text}' is not a trigger name: use NAME or /NAMESPACE/NAME")
    return name


def feed_of(doc: dict[str, Any]) -> str | None:
    """The feed action a trigger was created with, or ``None`` for a plain trigger."""
    value = annotation(doc, FEED)
    return value if isinstance(value, str) and value else None


def trigger_row(doc: dict[str, Any], namespace: str = "_") -> list[str]:
    """One ``trigger list`` row: the name, shared or private, and its feed if it has one."""
    feed = feed_of(doc)
    return [
        f"/{doc.get('namespace', namespace)}/{doc.get('name', '?')}",
        "shared" if doc.get("publish") else "private",
        f"feed {feed}" if feed else "",
    ]


# --------------------------------------------------------------------------------------------
# the feed protocol


def feed_failure(inv: Invocation) -> str | None:
    """Why a blocking feed invoke did not succeed, or ``None`` if it did: a feed refuses with a
    502 whose result is ``{"error": ...}``; a 202 means it did not answer in time."""
    response = inv.body.get("response")
    result = response.get("result") if isinstance(response, dict) else None
    error = result.get("error") if isinstance(result, dict) else None
    if inv.status == 200 and not error:
        return None
    if error:
        return error if isinstance(error, str) else json.dumps(error)
    if inv.status == 202:
        return f"the feed did not answer in time (activation {inv.id or '?'})"
    return f"the feed failed with status {inv.status} (activation {inv.id or '?'})"


def feed_result(inv: Invocation) -> Any:
    """What the feed action returned (its activation's result)."""
    response = inv.body.get("response")
    return response.get("result") if isinstance(response, dict) else inv.body


def invoke_feed(
    ctx: Context, feed: str, event: str, trigger: str, params: dict[str, Any] | None = None
) -> tuple[Invocation | None, str | None]:
    """Invoke ``feed`` with ``event`` for the fully qualified ``trigger``: the invocation and,
    if the feed refused or could not be reached, why (``None`` when it succeeded)."""
    body = {
        **(params or {}),
        "lifecycleEvent": event,
        "triggerName": trigger,
        "authKey": ctx.auth,
    }
    try:
        inv = ctx.client.invoke(feed, body, blocking=True)
    except ApiError as exc:
        return None, str(exc)
    return inv, feed_failure(inv)


def _qualified_trigger(doc: dict[str, Any], fallback: QualifiedName) -> str:
    """``/ns/name`` with the real namespace the server put the trigger in."""
    return f"/{doc.get('namespace') or fallback.namespace}/{doc.get('name') or fallback.name}"


def _user_annotations(args: argparse.Namespace) -> KeyValues | None:
    """The ``-a`` annotations, or ``None`` when none were given."""
    if not args.annotation:
        return None
    return key_values({k: parse_param_value(v) for k, v in args.annotation})


def _with_feed(annotations: KeyValues | None, feed: str) -> KeyValues:
    """``annotations`` plus the feed annotation (which wins over a user's ``feed``)."""
    kept = [a for a in annotations or () if a.get("key") != FEED]
    return kept + [{"key": FEED, "value": feed}]


def _delete_fed(ctx: Context, feed: str, fqn: str, name: str) -> None:
    """Tear down a feed's side first, then the trigger; the feed's refusal is only warned about,
    so that a broken feed never keeps a trigger alive."""
    _, error = invoke_feed(ctx, feed, "DELETE", fqn)
    if error:
        ctx.warn(f"warning: the feed {feed} did not delete trigger {name}: {error}")
    ctx.client.delete_trigger(name)


# --------------------------------------------------------------------------------------------
# commands


def cmd_trigger_create(ctx: Context) -> int:
    args = ctx.args
    client = ctx.client  # settles ctx.namespace and ctx.auth
    name = trigger_name(args.name, ctx.namespace)
    if not args.feed:
        client.put_trigger(args.name, entity_body(args), overwrite=False)
        ctx.print(f"ok: created trigger {args.name}")
        return 0

    feed = parse_name(args.feed, ctx.namespace)
    if not feed.name:
        raise CliError(f"'{args.feed}' is not a feed action name")
    params = build_params(args.param, args.param_file)
    # The parameters are the feed's, not the trigger's: the trigger only records which feed.
    body = {"annotations": _with_feed(_user_annotations(args), feed.path)}
    doc = client.put_trigger(args.name, body, overwrite=False)
    fqn = _qualified_trigger(doc, name)
    inv, error = invoke_feed(ctx, feed.path, "CREATE", fqn, params)
    if error:
        try:
            _delete_fed(ctx, feed.path, fqn, args.name)
        except ApiError as exc:
            ctx.warn(f"warning: trigger {args.name} could not be deleted: {exc}")
        raise CliError(f"Unable to create trigger '{args.name}': {error}")
    ctx.print(f"ok: invoked {feed.path} with id {inv.id if inv else '?'}")
    ctx.print(f"ok: created trigger {args.name}")
    return 0


def cmd_trigger_update(ctx: Context) -> int:
    args = ctx.args
    client = ctx.client
    name = trigger_name(args.name, ctx.namespace)
    try:
        existing: dict[str, Any] | None = client.get_trigger(args.name)
    except ApiError as exc:
        if exc.status != 404:
            raise
        existing = None  # as wsk's update does, it creates the trigger
    feed = feed_of(existing) if existing else None
    if feed is None:
        client.put_trigger(args.name, entity_body(args), overwrite=True)
        ctx.print(f"ok: updated trigger {args.name}")
        return 0

    params = build_params(args.param, args.param_file)
    annotations = _user_annotations(args)
    if annotations is not None or not params:
        client.put_trigger(args.name, {"annotations": _with_feed(annotations, feed)}
                           if annotations is not None else {}, overwrite=True)
    if params:
        inv, error = invoke_feed(ctx, feed, "UPDATE", _qualified_trigger(existing or {}, name),
                                 params)
        if error:
            raise CliError(f"Unable to update trigger '{args.name}': {error}")
        ctx.print(f"ok: invoked {feed} with id {inv.id if inv else '?'}")
    ctx.print(f"ok: updated trigger {args.name}")
    return 0


def cmd_trigger_get(ctx: Context) -> int:
    args = ctx.args
    client = ctx.client
    name = trigger_name(args.name, ctx.namespace)
    doc = client.get_trigger(args.name)
    ctx.print(dumps(doc))
    feed = feed_of(doc)
    if feed is None or args.no_feed:
        return 0
    # What the feed's provider holds for the trigger (its schedule, its topic, ...).
    inv, error = invoke_feed(ctx, feed, "READ", _qualified_trigger(doc, name))
    if error or inv is None:
        ctx.warn(f"warning: the feed {feed} could not be read for trigger {args.name}: {error}")
        return 0
    ctx.print(f"ok: invoked {feed} with id {inv.id or '?'}")
    ctx.print(dumps(feed_result(inv)))
    return 0


def cmd_trigger_list(ctx: Context) -> int:
    args = ctx.args
    triggers = ctx.client.list_triggers(limit=args.limit, skip=args.skip)
    ctx.print("triggers")
    for line in format_table([trigger_row(t, ctx.namespace) for t in triggers]):
        ctx.print(line.rstrip())
    return 0


def cmd_trigger_delete(ctx: Context) -> int:
    args = ctx.args
    client = ctx.client
    name = trigger_name(args.name, ctx.namespace)
    doc = client.get_trigger(args.name)
    feed = feed_of(doc)
    if feed is None:
        client.delete_trigger(args.name)
    else:
        _delete_fed(ctx, feed, _qualified_trigger(doc, name), args.name)
    ctx.print(f"ok: deleted trigger {args.name}")
    return 0


def cmd_trigger_fire(ctx: Context) -> int:
    args = ctx.args
    client = ctx.client
    trigger_name(args.name, ctx.namespace)
    inv = client.fire_trigger(args.name, build_params(args.param, args.param_file))
    shown = ctx.qualified(args.name)
    if inv.id is None:
        ctx.print(f"ok: triggered {shown}")
        ctx.warn(f"hint: no active rule is associated with trigger {args.name}, so nothing ran "
                 "and no activation was recorded")
    else:
        ctx.print(f"ok: triggered {shown} with id {inv.id}")
    return 0


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``squall trigger`` and its verbs."""
    triggers = command_group(
        commands, "trigger", "create, update, get, list, delete and fire triggers"
    )
    for verb, handler, help in (
        ("create", cmd_trigger_create, "create a trigger, maybe fed by a feed action"),
        ("update", cmd_trigger_update,
         "update a trigger (only what is given changes; a fed one's -p go to its feed)"),
    ):
        sub = leaf(triggers, verb, handler, help, common)
        sub.add_argument("name", metavar="NAME", help="NAME or /NAMESPACE/NAME")
        add_param_options(sub, "parameter")
        add_annotation_option(sub)
        if verb == "create":
            sub.add_argument(
                "-f", "--feed", metavar="FEED",
                help="the feed action that fires it, e.g. /whisk.system/alarms/alarm",
            )

    sub = leaf(triggers, "get", cmd_trigger_get,
               "print a trigger document (and, with a feed, what the feed holds)", common)
    sub.add_argument("name", metavar="NAME")
    sub.add_argument(
        "--no-feed", action="store_true", help="print only the trigger, without asking its feed"
    )

    sub = leaf(triggers, "list", cmd_trigger_list, "list the namespace's triggers", common)
    add_page_options(sub, "triggers")

    sub = leaf(triggers, "delete", cmd_trigger_delete,
               "delete a trigger (and its feed's side of it)", common)
    sub.add_argument("name", metavar="NAME")

    sub = leaf(triggers, "fire", cmd_trigger_fire,
               "fire a trigger: its active rules invoke their actions", common)
    sub.add_argument("name", metavar="NAME")
    add_param_options(sub, "parameter")
