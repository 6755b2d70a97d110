"""``squall package ...``: create, update, bind, get, list and delete packages, as ``wsk package``
does. A binding is a package that points at another one (maybe a shared one of another
namespace) and adds its own default parameters on top of that package's."""

from __future__ import annotations

import argparse
from typing import Any

from .common import (
    CliError,
    Context,
    Subcommands,
    add_annotation_option,
    add_page_options,
    add_param_options,
    annotation,
    command_group,
    dumps,
    entity_body,
    format_table,
    leaf,
)
from .names import QualifiedName, parse_name

#: --shared values (wsk takes yes/no; true/false read the same).
SHARED = {"yes": True, "true": True, "no": False, "false": False}


def package_name(text: str, namespace: str) -> QualifiedName:
    """A package is ``pkg`` or ``/ns/pkg``; packages do not nest."""
    name = parse_name(text, namespace)
    if name.package or not name.name:
        raise CliError(f"'{text}' is not a package name: use PACKAGE or /NAMESPACE/PACKAGE")
    return name


def _package_body(args: argparse.Namespace) -> dict[str, Any]:
    body = entity_body(args)
    if args.shared is not None:
        if args.shared.lower() not in SHARED:
            raise CliError(f"Cannot use value '{args.shared}' for shared: give yes or no.")
        body["publish"] = SHARED[args.shared.lower()]
    return body


def cmd_package_create(ctx: Context) -> int:
    body = _package_body(ctx.args)
    ctx.client.put_package(ctx.args.name, body, overwrite=False)
    ctx.print(f"ok: created package {ctx.args.name}")
    return 0


def cmd_package_update(ctx: Context) -> int:
    body = _package_body(ctx.args)
    ctx.client.put_package(ctx.args.name, body, overwrite=True)
    ctx.print(f"ok: updated package {ctx.args.name}")
    return 0


def cmd_package_bind(ctx: Context) -> int:
    args = ctx.args
    body = entity_body(args)
    client = ctx.client  # settles ctx.namespace: an own package is bound by its real namespace
    target = package_name(args.package, ctx.namespace)
    body["binding"] = {"namespace": target.namespace, "name": target.name}
    client.put_package(args.binding, body, overwrite=False)
    ctx.print(f"ok: created binding {args.binding}")
    return 0


def cmd_package_get(ctx: Context) -> int:
    doc = ctx.client.get_package(ctx.args.name)
    if ctx.args.summary:
        for line in package_summary(doc):
            ctx.print(line)
    else:
        ctx.print(dumps(doc))
    return 0


def cmd_package_list(ctx: Context) -> int:
    args = ctx.args
    namespace = None
    if args.namespace:
        namespace = args.namespace.strip("/")
        if not namespace or "/" in namespace:
            raise CliError(f"'{args.namespace}' is not a namespace: use NAMESPACE or /NAMESPACE")
    packages = ctx.client.list_packages(namespace=namespace, limit=args.limit, skip=args.skip)
    ctx.print("packages")
    for line in format_table([package_row(p, ctx.namespace) for p in packages]):
        ctx.print(line.rstrip())
    return 0


def cmd_package_delete(ctx: Context) -> int:
    ctx.client.delete_package(ctx.args.name, force=ctx.args.force)
    ctx.print(f"ok: deleted package {ctx.args.name}")
    return 0


def binding_target(doc: dict[str, Any]) -> str | None:
    """``/ns/pkg`` a binding points at; ``None`` for a package (``binding`` is ``{}`` in a
    document and ``false`` in a list entry)."""
    binding = doc.get("binding")
    if isinstance(binding, dict) and binding.get("name"):
        return f"/{binding.get('namespace', '_')}/{binding['name']}"
    return None


def package_row(doc: dict[str, Any], namespace: str = "_") -> list[str]:
    """One ``package list`` row: the name, shared or private, and what a binding points at."""
    target = binding_target(doc)
    return [
        f"/{doc.get('namespace', namespace)}/{doc.get('name', '?')}",
        "shared" if doc.get("publish") else "private",
        f"binding {target}" if target else "",
    ]


def _parameter_names(doc: dict[str, Any], bound: bool) -> str:
    """The summary's parameter list: the documented ones (the ``parameters`` annotation) and,
    marked ``*`` as wsk does, those bound to a value."""
    names: list[str] = []
    if bound:
        names += [f"*{p['key']}" for p in doc.get("parameters") or () if isinstance(p, dict)]
    documented = annotation(doc, "parameters")
    for item in documented if isinstance(documented, list) else ():
        name = item.get("name") if isinstance(item, dict) else None
        if name and f"*{name}" not in names:
            names.append(str(name))
    return ", ".join(names)


def package_summary(doc: dict[str, Any]) -> list[str]:
    """``wsk package get --summary``: the package and each of its actions and feeds, with their
    descriptions and parameters."""
    base = f"/{doc.get('namespace', '_')}/{doc.get('name', '?')}"
    lines: list[str] = []

    def entry(kind: str, name: str, entity: dict[str, Any], bound: bool = False) -> None:
        description = annotation(entity, "description")
        lines.append(f"{kind:>7} {name}: {description}" if description else f"{kind:>7} {name}")
        params = _parameter_names(entity, bound)
        if params:
            lines.append(f"   (parameters: {params})")

    entry("package", base, doc, bound=True)
    for kind, key in (("action", "actions"), ("feed  ", "feeds")):
        for item in doc.get(key) or ():
            if isinstance(item, dict):
                entry(kind, f"{base}/{item.get('name', '?')}", item)
    return lines


def _add_shared_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--shared", metavar="yes|no", help="publish it: readable and bindable by every namespace"
    )


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``squall package`` and its verbs."""
    packages = command_group(
        commands, "package", "create, update, bind, get, list and delete packages"
    )
    for verb, handler, help in (
        ("create", cmd_package_create, "create a package"),
        ("update", cmd_package_update, "update a package (only what is given changes)"),
    ):
        sub = leaf(packages, verb, handler, help, common)
        sub.add_argument("name", metavar="NAME")
        add_param_options(sub, "default parameter")
        add_annotation_option(sub)
        _add_shared_option(sub)

    sub = leaf(
        packages, "bind", cmd_package_bind, "bind a package, with parameters of its own", common
    )
    sub.add_argument("package", metavar="PACKAGE", help="the package to bind: PKG or /NS/PKG")
    sub.add_argument("binding", metavar="BINDING", help="the name of the new binding")
    add_param_options(sub, "default parameter")
    add_annotation_option(sub)

    sub = leaf(
        packages, "get", cmd_package_get, "print a package with its actions and feeds", common
    )
    sub.add_argument("name", metavar="NAME", help="PKG or /NS/PKG")
    sub.add_argument(
        "-s", "--summary", action="store_true", help="one line per entity, with its parameters"
    )

    sub = leaf(packages, "list", cmd_package_list, "list packages and bindings", common)
    sub.add_argument(
        "namespace", metavar="NAMESPACE", nargs="?",
        help="another namespace (then only its shared packages)",
    )
    add_page_options(sub, "packages")

    sub = leaf(packages, "delete", cmd_package_delete, "delete a package or binding", common)
    sub.add_argument("name", metavar="NAME")
    sub.add_argument(
        "--force", action="store_true", help="also delete the actions in it (else it must be empty)"
    )
