"""`squall` (the console on an embedded backend) and `squall console` (attach to a running one)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from .client import AsyncApiClient, load_wskprops, squall_home
from .theming import DEFAULT_THEME


def _console_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--namespace", default="guest", help="whose actions and activations to show")
    parser.add_argument("--readonly", action="store_true", help="hide every verb that changes anything")
    parser.add_argument("--theme", default=DEFAULT_THEME)
    parser.add_argument("--refresh", type=float, default=1.0, help="seconds between polls (+/- change it live)")


def build_parser() -> argparse.ArgumentParser:
    from backend.server import add_backend_arguments

    parser = argparse.ArgumentParser(prog="squall console", description="Squall's operations console")
    parser.add_argument("--apihost", help="attach to this backend (default: admin.wskprops)")
    parser.add_argument("--auth", help="an admin key uuid:key (default: admin.wskprops)")
    parser.add_argument("--embedded", action="store_true",
                        help="run the backend in this process too (what plain `squall` does)")
    _console_arguments(parser)
    add_backend_arguments(parser)
    return parser


def _log_to_file(home: Path, level: str) -> Path:
    """An embedded backend logs to a file: its lines on stderr would tear the screen."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "squall.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    return path


async def _run_embedded(args: argparse.Namespace) -> None:
    from backend import heap
    from backend.server import Squall, config_from_args

    from .app import SquallConsole

    config = config_from_args(args)
    log_path = _log_to_file(config.home, args.log_level)
    print(f"starting Squall on {config.api_host} (logs: {log_path}) …", file=sys.stderr, flush=True)
    squall = Squall(config)
    await squall.start()
    heap.settle()
    admin = squall.controller.identity("whisk.system")
    assert admin is not None
    client = AsyncApiClient(squall.api_host, admin.auth, args.namespace)
    try:
        app = SquallConsole(client, apihost=squall.api_host, namespace=args.namespace, readonly=args.readonly,
                            theme=args.theme, refresh_s=args.refresh)
        await app.run_async()
    finally:
        await client.aclose()
        print("stopping Squall …", file=sys.stderr, flush=True)
        await squall.stop()


async def _run_attached(args: argparse.Namespace) -> None:
    from .app import SquallConsole

    apihost, auth = args.apihost, args.auth
    if not (apihost and auth):
        props = load_wskprops(squall_home() / "admin.wskprops")
        apihost, auth = apihost or props.apihost, auth or props.auth
    client = AsyncApiClient(apihost, auth, args.namespace)
    try:
        await SquallConsole(client, apihost=client.apihost, namespace=args.namespace, readonly=args.readonly,
                            theme=args.theme, refresh_s=args.refresh).run_async()
    finally:
        await client.aclose()


def main(argv: list[str]) -> int:
    if argv[:1] == ["demo"]:
        from .demo import main as demo_main

        return demo_main(argv[1:])
    args = build_parser().parse_args(argv[1:] if argv[:1] == ["console"] else argv)
    try:
        asyncio.run(_run_embedded(args) if args.embedded else _run_attached(args))
    except FileNotFoundError as ex:
        print(f"error: {ex}; pass --apihost and --auth, or run `squall` for an embedded backend",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
