"""The ``squall`` command line: a wsk-style CLI over :mod:`console.client`.

``squall`` alone, ``squall up`` and ``squall invoker`` start servers and are delegated to
:mod:`backend.server`; everything else talks to a running Squall through its REST API, with
credentials from ``$SQUALL_HOME/wskprops`` (``admin.wskprops`` for the admin commands).

One module per resource (``actions``, ``activations``, ``packages``, ``triggers``, ``rules``,
``apis``, ``namespaces``, ``system``) registers its own subcommands; :mod:`.common` holds what
they share.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from console.client import ApiError

from . import actions, activations, apis, namespaces, packages, rules, system, triggers
from .activations import STATUS_CODES, activation_row, activation_status
from .common import (
    FALLBACK_APIHOST,
    KINDS_BY_EXTENSION,
    CliError,
    Context,
    Handler,
    UsageError,
    annotation,
    build_params,
    dumps,
    format_table,
    format_time,
    global_options,
    key_values,
    load_param_file,
    parse_param_value,
    read_exec,
)

__all__ = [
    "CONSOLE_COMMANDS",
    "FALLBACK_APIHOST",
    "KINDS_BY_EXTENSION",
    "SERVER_COMMANDS",
    "STATUS_CODES",
    "CliError",
    "Context",
    "UsageError",
    "activation_row",
    "activation_status",
    "annotation",
    "build_params",
    "build_parser",
    "dumps",
    "format_table",
    "format_time",
    "key_values",
    "load_param_file",
    "main",
    "parse_param_value",
    "read_exec",
]

#: Subcommands that run a server rather than talk to one; they belong to backend.server.
SERVER_COMMANDS = ("up", "invoker", "runtime")
CONSOLE_COMMANDS = ("console", "demo")

#: The resource modules, in the order `squall --help` lists them.
RESOURCES = (actions, activations, packages, triggers, rules, apis, namespaces, system)


def build_parser() -> argparse.ArgumentParser:
    """The whole ``squall`` parser: the global options, then each resource's subcommands."""
    common = global_options()
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
    commands.add_parser("runtime", help="kinds and their images: `squall runtime build|list|classpath|skeleton`",
                        add_help=False)
    commands.add_parser("console", help="the operations console, attached to a running backend", add_help=False)
    commands.add_parser("demo", help="scripted demo: `squall demo --screenshots DIR`", add_help=False)
    for resource in RESOURCES:
        resource.register(commands, common)
    return parser


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
        from console.main import main as console_main

        return console_main(arguments)
    if arguments[0] in SERVER_COMMANDS:
        return _serve(arguments)

    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:  # --help, or a usage error argparse already reported
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        usage_of: argparse.ArgumentParser = getattr(args, "usage_of", parser)
        usage_of.print_help(sys.stderr)
        return 2

    ctx = Context(args, out=sys.stdout, err=sys.stderr)
    try:
        return handler(ctx)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
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
