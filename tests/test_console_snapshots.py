"""One SVG snapshot per console view, from fixed data (pytest-textual-snapshot's `snap_compare`).

The backend is replaced by an `httpx.MockTransport` serving JSON captured from a real `squall up`
(tests/data/console_*.json), the console's clock is frozen, the time zone is UTC and nothing blinks,
so a view renders the same on every run. Update the baselines with `pytest --snapshot-update` and
look at the SVGs in tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import httpx
import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from console.app import SquallConsole
from console.client import AsyncApiClient

DATA = Path(__file__).resolve().parent / "data"
APIHOST = "http://127.0.0.1:3233"
#: A second after the fixture data was captured: durations and ages come out the same every run.
FROZEN_NOW = 1795317881.0
SIZE = (150, 40)


def fixture(name: str) -> Any:
    return json.loads((DATA / f"console_{name}.json").read_text())


def fake_backend(request: httpx.Request) -> httpx.Response:
    routes = {
        "/api/v1/system/status": "status",
        "/api/v1/namespaces/guest/activations": "activations",
        "/api/v1/namespaces/guest/actions": "actions",
        "/api/v1/namespaces/guest/packages": "packages",
    }
    name = routes.get(request.url.path)
    if request.method == "GET" and request.url.path == "/api/v1/namespaces/guest/actions/img/":
        # The binding img is bound to guest/imaging: listing it lists the package's actions.
        return httpx.Response(200, json=[a for a in fixture("actions") if a["namespace"] == "guest/imaging"])
    if request.method != "GET" or name is None:
        return httpx.Response(404, json={"error": "The requested resource does not exist.", "code": "test"})
    return httpx.Response(200, json=fixture(name))


@pytest.fixture(autouse=True)
def frozen_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No user keymap or themes, and wall-clock times rendered in UTC."""
    monkeypatch.setenv("SQUALL_HOME", str(tmp_path / "squall-home"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def console_app() -> Iterator[SquallConsole]:
    client = AsyncApiClient(APIHOST, "user:key", "guest", transport=httpx.MockTransport(fake_backend))
    # A slow refresh: exactly one poll before the screenshot, so the sparklines hold one sample.
    yield SquallConsole(client, apihost=APIHOST, namespace="guest", refresh_s=5, clock=lambda: FROZEN_NOW)
    asyncio.run(client.aclose())


def show(view_key: str | None, *keys: str, until: Callable[[SquallConsole], bool] | None = None,
         then: tuple[str, ...] = ()) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """Wait for the fake backend's data, go to a view (by its number key), press `keys`, wait for
    `until`, press `then`; stop every cursor blinking."""
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, SquallConsole)
        deadline = time.monotonic() + 10
        while app.snapshot is None:
            assert time.monotonic() < deadline, "no data from the fake backend"
            await pilot.pause(0.02)
        if view_key is not None:
            await pilot.press(view_key)
        await pilot.press(*keys)
        while until is not None and not until(app):
            assert time.monotonic() < deadline, "the view did not get there"
            await pilot.pause(0.02)
        await pilot.press(*then)
        for screen in app.screen_stack:
            for field in screen.query("Input, TextArea"):
                assert isinstance(field, (Input, TextArea))
                field.cursor_blink = False
        await pilot.pause()

    return run_before


def test_overview(snap_compare, console_app: SquallConsole) -> None:
    assert snap_compare(console_app, terminal_size=SIZE, run_before=show(None))


def test_actions(snap_compare, console_app: SquallConsole) -> None:
    assert snap_compare(console_app, terminal_size=SIZE, run_before=show("2"))


def test_actions_with_a_package_and_a_binding_open(snap_compare, console_app: SquallConsole) -> None:
    """img/ (a binding to imaging/) and imaging/ open, their actions under them; the cursor on the
    web action watermark."""
    def opened(app: SquallConsole) -> bool:
        return "img/watermark" in app.table.sheets["actions"].keys

    assert snap_compare(console_app, terminal_size=SIZE,
                        run_before=show("2", "down", "space", "up", "enter", until=opened, then=("down",)))


def test_activations(snap_compare, console_app: SquallConsole) -> None:
    assert snap_compare(console_app, terminal_size=SIZE, run_before=show("3"))


def test_containers(snap_compare, console_app: SquallConsole) -> None:
    assert snap_compare(console_app, terminal_size=SIZE, run_before=show("4"))


def test_invokers(snap_compare, console_app: SquallConsole) -> None:
    assert snap_compare(console_app, terminal_size=SIZE, run_before=show("5"))
