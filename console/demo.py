"""`squall demo --screenshots DIR`: a scripted scenario on an embedded backend, photographed.

It deploys sample actions (among them a package with a web action, a binding to it and a sequence
of two of its actions), runs a bounded load, makes one activation fail and kills a running one,
then drives the console headless through every view and saves an SVG of each (for the README and
for demos); the Actions view is photographed with the package open. Everything on the screenshots
is what the real backend did during the run.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from .client import ApiError, AsyncApiClient
from .theming import DEFAULT_THEME

SAMPLES = {
    "hello": "def main(args):\n    name = args.get('name', 'stranger')\n    print(f'greeting {name}')\n"
             "    return {'greeting': f'Hello {name}'}\n",
    "resize": "import time\ndef main(args):\n    time.sleep(0.05 * args.get('size', 1))\n"
              "    return {'width': 64 * args.get('size', 1)}\n",
    "checkout": "def main(args):\n    if args.get('cart', 0) > 8:\n        return {'error': 'cart too large'}\n"
                "    return {'total': args.get('cart', 0) * 9.99}\n",
    "report": "import time\ndef main(args):\n    print('building the quarterly report')\n    time.sleep(60)\n"
              "    return {'pages': 42}\n",
    "crasher": "import os\ndef main(args):\n    print('about to fall over')\n    os._exit(3)\n",
}
#: The package `imaging`: its actions, a binding `img` to it, and the sequence `publish` of both.
PACKAGED = {
    "thumbnail": "import time\ndef main(args):\n    time.sleep(0.02 * args.get('size', 1))\n"
                 "    return {'width': 64 * args.get('size', 1), 'image': args.get('image', 'cat.png')}\n",
    "watermark": "def main(args):\n    return {**args, 'watermark': 'squall'}\n",
}
PUBLISH = ["/guest/imaging/thumbnail", "/guest/imaging/watermark"]
#: What `wsk action create --web true` annotates.
WEB = [{"key": "web-export", "value": True}, {"key": "raw-http", "value": False}, {"key": "final", "value": True}]
VIEWS = ("overview", "actions", "activations", "containers", "invokers")


async def scenario(admin: AsyncApiClient, client: AsyncApiClient, load: int, seed: int) -> str:
    """Deploy the samples and make things happen as guest; returns the id of a still-running activation."""
    rng = random.Random(seed)
    # The scripted load goes past guest's default throttle (60 a minute); an operator would raise it.
    await admin.set_limits("guest", invocationsPerMinute=10_000, concurrentInvocations=100)
    for name, code in SAMPLES.items():
        await client.put_action(name, {"exec": {"kind": "python:3", "code": code},
                                       "limits": {"timeout": 120_000 if name == "report" else 10_000}},
                                overwrite=True)
    await client.put_package("imaging", {}, overwrite=True)
    for name, code in PACKAGED.items():
        await client.put_action(f"imaging/{name}", {"exec": {"kind": "python:3", "code": code},
                                                    "annotations": WEB if name == "thumbnail" else []},
                                overwrite=True)
    await client.put_package("img", {"binding": {"namespace": "guest", "name": "imaging"}}, overwrite=True)
    await client.put_action("publish", {"exec": {"kind": "sequence", "components": PUBLISH}}, overwrite=True)
    calls: list[Any] = []
    for i in range(load):
        name = rng.choice(["hello", "hello", "resize", "checkout"])
        params = {"hello": {"name": rng.choice(["Ada", "Grace", "Linus", "Barbara"])},
                  "resize": {"size": rng.randint(1, 4)}, "checkout": {"cart": rng.randint(1, 10)}}[name]
        calls.append(client.invoke(name, params, blocking=True))
        if len(calls) == 8:
            await asyncio.gather(*calls)
            calls = []
            await asyncio.sleep(rng.uniform(0.0, 0.4))
    await asyncio.gather(*calls)
    for size in (1, 3):  # the sequence, its components under it in the Activations view
        await client.invoke("publish", {"image": f"cat{size}.png", "size": size}, blocking=True)
    await client.invoke("crasher", blocking=True)  # one that fails
    doomed = (await client.invoke("report")).id  # one to kill
    keep = (await client.invoke("report")).id  # one left running for the screenshots
    assert doomed and keep
    await asyncio.sleep(1.0)
    try:
        await admin.cancel_activation(doomed)
    except ApiError as ex:
        print(f"demo: could not kill {doomed}: {ex}", file=sys.stderr)
    return keep


async def run_demo(args: argparse.Namespace) -> list[Path]:
    from backend.server import Config, Squall

    from .app import SquallConsole
    from .main import _log_to_file

    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="squall-demo-"))
    out = Path(args.screenshots)
    out.mkdir(parents=True, exist_ok=True)
    _log_to_file(home, "info")
    config = Config(home=home, port=args.port, runtime=args.runtime, shutdown_grace_s=2.0)
    squall = Squall(config)
    await squall.start()
    admin_id, guest_id = squall.controller.identity("whisk.system"), squall.controller.identity("guest")
    assert admin_id is not None and guest_id is not None
    client = AsyncApiClient(squall.api_host, admin_id.auth, "guest")
    guest = AsyncApiClient(squall.api_host, guest_id.auth, "guest")
    written: list[Path] = []
    try:
        print("demo: deploying sample actions; the console watches the load …", file=sys.stderr, flush=True)
        app = SquallConsole(client, apihost=squall.api_host, namespace="guest", theme=args.theme, refresh_s=0.5)

        async def photograph(pilot: Any) -> None:
            # The load runs while the console watches, so its sparklines show the run as it happened.
            await scenario(client, guest, args.load, args.seed)
            await pilot.pause(1.5)
            for key, view in enumerate(VIEWS, start=1):
                await pilot.press(str(key))
                if view == "actions":
                    await select(pilot, app, "imaging/")
                    await pilot.press("enter")  # the package open, its actions under it
                await pilot.pause(1.2)  # at least two polls: the view shows live data, not a first frame
                written.append(Path(app.save_screenshot(filename=f"{view}.svg", path=str(out))))
            await pilot.press("2")
            await select(pilot, app, "hello")
            await pilot.pause(0.3)
            await pilot.press("i")
            await pilot.pause(0.5)
            written.append(Path(app.save_screenshot(filename="invoke.svg", path=str(out))))
            app.exit()

        await app.run_async(headless=True, size=(150, 42), auto_pilot=photograph)
    finally:
        await client.aclose()
        await guest.aclose()
        await squall.stop()
        if not args.home:
            shutil.rmtree(home, ignore_errors=True)
    return written


async def select(pilot: Any, app: Any, key: str) -> None:
    """Move the Actions view's cursor onto row `key` with the arrow keys, as an operator would."""
    sheet = app.table.sheets["actions"]
    for _ in range(60):
        if key not in sheet.index:
            await pilot.pause(0.2)  # not listed yet: the next poll
            continue
        if sheet.selected_key == key:
            return
        await pilot.press("down" if sheet.cursor < sheet.index[key] else "up")
    print(f"demo: could not select {key} in the Actions view", file=sys.stderr)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="squall demo", description=__doc__)
    parser.add_argument("--screenshots", required=True, metavar="DIR", help="where to write the SVGs")
    parser.add_argument("--home", help="state directory (default: a temporary one, removed afterwards)")
    parser.add_argument("--port", type=int, default=3299)
    parser.add_argument("--runtime", default="auto", choices=["auto", "docker", "process"])
    parser.add_argument("--theme", default=DEFAULT_THEME)
    parser.add_argument("--load", type=int, default=80, help="invocations in the scripted load (bounded)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    written = asyncio.run(run_demo(args))
    for path in written:
        print(path)
    return 0
