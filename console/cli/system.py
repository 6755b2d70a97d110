"""``squall system ...``: operator commands for the admin key."""

from __future__ import annotations

import argparse

from .common import Context, Subcommands, command_group, dumps, leaf


def cmd_system_status(ctx: Context) -> int:
    ctx.print(dumps(ctx.client.system_status()))
    return 0


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``squall system`` and its verbs."""
    system = command_group(commands, "system", "operator commands (admin)")
    leaf(system, "status", cmd_system_status, "print the system status (admin)", common, admin=True)
