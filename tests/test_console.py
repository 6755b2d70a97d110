"""The operations console, driven key by key (Textual's Pilot) against a real `squall up`.

Every verb is checked twice: on the screen the operator sees, and in the backend through the API.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

import httpx
import pytest
from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Button, Input, Label, Log, Select, Static, TextArea

from conftest import Server, deploy, free_port, running
from console import theming
from console.app import MUTATING, SquallConsole
from console.client import AsyncApiClient
from console.table import LiveTable, Sheet
from console.screens import (
    ActionScreen, ConfirmScreen, DeployScreen, HelpScreen, InvokeScreen, JsonScreen, RecordScreen,
    TypeToConfirmScreen,
)

SIZE = (150, 45)
CANCELLED = "The activation was cancelled by an operator."
SLEEPER = "import time\n\ndef main(args):\n    time.sleep(30)\n    return {}\n"
ECHO = '''
def main(args):
    print("echo stdout", args.get("name"))
    return {"greeting": "Hello " + args.get("name", "stranger")}
'''


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("console-backend"), "--runtime", "process", "--prewarm", "0") as srv:
        yield srv


@pytest.fixture(autouse=True)
def clean_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The console reads keymap.toml and themes/ from $SQUALL_HOME: never the developer's own."""
    home = tmp_path / "squall-home"
    home.mkdir()
    monkeypatch.setenv("SQUALL_HOME", str(home))
    return home


@pytest.fixture
async def make_app(backend: Server) -> AsyncIterator[Callable[..., SquallConsole]]:
    clients: list[AsyncApiClient] = []

    def make(apihost: str | None = None, **kwargs: Any) -> SquallConsole:
        host = apihost or backend.apihost
        client = AsyncApiClient(host, backend.admin_auth, "guest")
        clients.append(client)
        kwargs.setdefault("refresh_s", 0.3)
        return SquallConsole(client, apihost=host, namespace="guest", **kwargs)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def guest(backend: Server) -> Iterator[httpx.Client]:
    with backend.client() as c:
        yield c


@pytest.fixture
def admin(backend: Server) -> Iterator[httpx.Client]:
    with backend.admin() as c:
        yield c


# --- helpers -----------------------------------------------------------------------------------


async def until(pilot: Pilot[Any], condition: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """Let the app run until `condition()` is truthy (bounded); returns its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def plain(widget: Static) -> str:
    """What a Static shows, as plain text."""
    content: Any = widget.content
    if isinstance(content, str):
        return Text.from_markup(content).plain
    if isinstance(content, Text):
        return content.plain
    if isinstance(content, Syntax):
        return content.code
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(content)
    return console.file.getvalue()  # type: ignore[attr-defined]


def dialog_text(screen: Any) -> str:
    """Everything a dialog says (title, detail), as plain text."""
    return "\n".join(plain(widget) for widget in screen.query(Static))


def page_text(app: SquallConsole, view: str) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(*app.table.pages[view].renderables)
    return console.file.getvalue()  # type: ignore[attr-defined]


def topbar(app: SquallConsole) -> str:
    return plain(app.query_one("#topbar", Static))


def table(app: SquallConsole, view: str) -> Sheet:
    return app.query_one(LiveTable).sheets[view]


def row_keys(app: SquallConsole, view: str) -> list[str]:
    return table(app, view).keys


def cell(app: SquallConsole, view: str, key: str, column: str) -> str:
    return table(app, view).cell(key, column).plain


async def select(pilot: Pilot[Any], view: str, key: str) -> None:
    """Wait for row `key`, then move the cursor onto it with the arrow keys, as an operator would."""
    app = pilot.app
    assert isinstance(app, SquallConsole)
    assert app.view == view
    await until(pilot, lambda: key in row_keys(app, view), f"the row {key}")
    t = table(app, view)
    for _ in range(3 * max(1, t.row_count) + 10):
        if app._selected(view) == key:
            return
        target = t.index_of(key)
        await pilot.press("down" if t.cursor < target else "up")
    raise AssertionError(f"could not select {key} in {view}: cursor on {app._selected(view)}")


async def type_text(pilot: Pilot[Any], text: str) -> None:
    await pilot.press(*text)


async def replace_input(pilot: Pilot[Any], selector: str, text: str) -> None:
    """Focus a field and replace what it holds (end, ctrl+u: delete to the start)."""
    await pilot.click(selector)
    await pilot.press("end", "ctrl+u")
    await type_text(pilot, text)


def running_ids(admin: httpx.Client) -> set[str]:
    return {r["activationId"] for r in admin.get("/api/v1/system/status").json()["running"]}


def containers(admin: httpx.Client) -> dict[str, dict[str, Any]]:
    status = admin.get("/api/v1/system/status").json()
    return {c["id"]: c for inv in status["invokers"] for c in inv["containers"]}


async def in_thread(call: Callable[[], Any]) -> Any:
    """A blocking API call from the test, while the app keeps running."""
    return await asyncio.to_thread(call)


# --- verbs, end to end -------------------------------------------------------------------------


async def test_deploy_from_the_form_creates_the_action(make_app, guest: httpx.Client, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "greeter.py").write_text(ECHO)
    monkeypatch.chdir(tmp_path)  # the operator types a path relative to where the console runs
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.connected, "the first poll")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, DeployScreen), "the deploy form")
        assert app.focused is app.screen.query_one("#name", Input)
        offered = [value for _, value in app.screen.query_one("#kind", Select)._options]
        assert offered[0] == DeployScreen.FROM_FILE and {"python:3", "nodejs:18", "java:17"} <= set(offered)
        await type_text(pilot, "con-deployed")
        await replace_input(pilot, "#path", "greeter.py")
        await replace_input(pilot, "#memory", "128")
        await replace_input(pilot, "#timeout", "5000")
        await pilot.click("#params")
        await pilot.press("end", "ctrl+u")
        await type_text(pilot, '{"name": "ops", "n": 3}')
        assert app.screen.query_one("#params", TextArea).text == '{"name": "ops", "n": 3}'
        await pilot.click("#deploy")
        await until(pilot, lambda: not isinstance(app.screen, DeployScreen), "the form to close")

        await pilot.press("2")
        assert app.view == "actions"
        await until(pilot, lambda: "con-deployed" in row_keys(app, "actions"), "the action's row")
        assert cell(app, "actions", "con-deployed", "memory") == "128 MB"
        assert cell(app, "actions", "con-deployed", "timeout") == "5000 ms"

    r = guest.get("/api/v1/namespaces/_/actions/con-deployed")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["limits"]["memory"] == 128
    assert doc["limits"]["timeout"] == 5000
    assert doc["exec"]["kind"] == "python:3"
    assert doc["exec"]["code"] == ECHO
    assert {p["key"]: p["value"] for p in doc["parameters"]} == {"name": "ops", "n": 3}


async def test_deploy_form_reports_bad_input_and_stays_open(make_app, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, DeployScreen), "the deploy form")
        await type_text(pilot, "con-bad")
        await replace_input(pilot, "#path", "missing.py")
        await pilot.click("#deploy")
        assert isinstance(app.screen, DeployScreen)
        assert "Cannot read" in plain(app.screen.query_one("#error", Static))
        (tmp_path / "ok.py").write_text(ECHO)
        await replace_input(pilot, "#path", "ok.py")
        await pilot.click("#params")
        await pilot.press("end", "ctrl+u")
        await type_text(pilot, "[1]")
        await pilot.click("#deploy")
        assert isinstance(app.screen, DeployScreen)
        assert "JSON object" in plain(app.screen.query_one("#error", Static))
        await pilot.press("escape")
        assert not isinstance(app.screen, DeployScreen)


async def test_invoke_with_parameters_shows_the_outcome(make_app, guest: httpx.Client) -> None:
    deploy(guest, "con-echo", ECHO)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await select(pilot, "actions", "con-echo")
        await pilot.press("i")
        screen = app.screen
        assert isinstance(screen, InvokeScreen)
        assert app.focused is screen.query_one("#params", TextArea)
        await pilot.press("end", "ctrl+u")
        await type_text(pilot, '{"name": "operator"}')
        await pilot.press("ctrl+r")
        outcome = await until(pilot, lambda: "activation" in (t := plain(screen.query_one("#outcome", Static)))
                              and "success" in t and t, "the invoke outcome")
        result = json.loads(plain(screen.query_one("#result", Static)))
        assert result == {"greeting": "Hello operator"}
        activation_id = outcome.split("activation")[-1].strip()
        await pilot.press("escape")
        assert not isinstance(app.screen, InvokeScreen)
        await pilot.press("3")
        await until(pilot, lambda: activation_id in row_keys(app, "activations"), "the activation's row")
        assert cell(app, "activations", activation_id, "status") == "success"
        assert cell(app, "activations", activation_id, "action") == "con-echo"

    r = guest.get(f"/api/v1/namespaces/_/activations/{activation_id}")
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "con-echo"
    assert r.json()["response"]["result"] == {"greeting": "Hello operator"}


async def test_invoke_rejects_parameters_that_are_not_an_object(make_app, guest: httpx.Client) -> None:
    deploy(guest, "con-echo2", ECHO)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await select(pilot, "actions", "con-echo2")
        await pilot.press("i")
        await pilot.press("end", "ctrl+u")
        await type_text(pilot, "[1, 2]")
        await pilot.press("ctrl+r")
        assert "must be a JSON object" in plain(app.screen.query_one("#outcome", Static))
    r = guest.get("/api/v1/namespaces/_/activations", params={"name": "con-echo2"})
    assert r.json() == []


async def test_describe_action_and_activation(make_app, guest: httpx.Client) -> None:
    deploy(guest, "con-described", ECHO, limits={"memory": 192}, parameters=[{"key": "name", "value": "desc"}])
    r = guest.post("/api/v1/namespaces/_/actions/con-described", params={"blocking": "true"}, json={})
    assert r.status_code == 200, r.text
    activation_id = r.json()["activationId"]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        # d on an action: its description and its code.
        await pilot.press("2")
        await select(pilot, "actions", "con-described")
        await pilot.press("d")
        screen = app.screen
        assert isinstance(screen, ActionScreen)
        await until(pilot, lambda: plain(screen.query_one("#code", Static)), "the code")
        assert plain(screen.query_one("#code", Static)) == ECHO
        described = plain(screen.query_one("#describe", Static))
        assert "/guest/con-described" in described and "memory 192 MB" in described
        assert 'name="desc"' in described
        await pilot.press("y")
        assert isinstance(app.screen, JsonScreen)
        assert '"con-described"' in plain(app.screen.query_one("VerticalScroll Static", Static))
        await pilot.press("escape", "escape")
        assert app.screen is app.screen_stack[0]

        # enter on an activation: its record, with logs and result.
        await pilot.press("3")
        await select(pilot, "activations", activation_id)
        await pilot.press("enter")
        record = app.screen
        assert isinstance(record, RecordScreen)
        log = record.query_one("#logs", Log)
        await until(pilot, lambda: log.lines, "the logs")
        assert any("stdout: echo stdout desc" in line for line in log.lines)
        assert json.loads(plain(record.query_one("#result", Static))) == {"greeting": "Hello desc"}
        assert plain(record.query_one("#summary", Static)).startswith("success")
        # y: the raw record.
        await pilot.press("y")
        assert isinstance(app.screen, JsonScreen)
        raw = json.loads(plain(app.screen.query_one("VerticalScroll Static", Static)))
        assert raw["activationId"] == activation_id and raw["response"]["status"] == "success"
        await pilot.press("escape", "escape")
        assert app.screen is app.screen_stack[0]

        # d works on an activation too, and y straight from the table.
        await pilot.press("d")
        assert isinstance(app.screen, RecordScreen)
        await pilot.press("escape", "y")
        assert isinstance(app.screen, RecordScreen)


def package(client: httpx.Client, name: str, **body: Any) -> None:
    r = client.put(f"/api/v1/namespaces/_/packages/{name}", params={"overwrite": "true"}, json=body)
    assert r.status_code == 200, r.text


async def test_a_package_opens_to_show_its_actions_and_a_binding_what_it_is_bound_to(
        make_app, guest: httpx.Client) -> None:
    package(guest, "con-pkg")
    deploy(guest, "con-pkg/first", ECHO)
    deploy(guest, "con-pkg/second", ECHO)
    package(guest, "con-bound", binding={"namespace": "guest", "name": "con-pkg"})
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await select(pilot, "actions", "con-pkg/")
        assert cell(app, "actions", "con-pkg/", "name") == "▸ con-pkg/"
        assert cell(app, "actions", "con-pkg/", "kind") == "package · 2 actions"
        assert "con-pkg/first" not in row_keys(app, "actions")  # closed: its actions are not rows

        # enter opens it: its actions, indented, right under it; the selection stays on it.
        await pilot.press("enter")
        assert not isinstance(app.screen, ActionScreen)
        keys = row_keys(app, "actions")
        at = keys.index("con-pkg/")
        assert sorted(keys[at + 1:at + 3]) == ["con-pkg/first", "con-pkg/second"]
        assert cell(app, "actions", "con-pkg/", "name") == "▾ con-pkg/"
        assert cell(app, "actions", "con-pkg/first", "name") == "  con-pkg/first"
        assert app._selected("actions") == "con-pkg/"
        await pilot.pause(0.7)  # polls later, it stays open
        assert "con-pkg/first" in row_keys(app, "actions")

        # d on one of its actions describes that action; left goes back to the package, left closes it.
        await select(pilot, "actions", "con-pkg/second")
        await pilot.press("d")
        screen = app.screen
        assert isinstance(screen, ActionScreen)
        await until(pilot, lambda: "/guest/con-pkg/second" in plain(screen.query_one("#describe", Static)),
                    "the packaged action's description")
        await pilot.press("escape", "left")
        assert app._selected("actions") == "con-pkg/"
        await pilot.press("left")
        assert "con-pkg/first" not in row_keys(app, "actions")
        await pilot.press("space")  # space opens and closes too
        assert "con-pkg/first" in row_keys(app, "actions")
        await pilot.press("space")
        assert "con-pkg/first" not in row_keys(app, "actions")

        # Invoke and delete want an action, not a package.
        await pilot.press("i")
        assert app.screen is app.screen_stack[0]

        # A binding says what it is bound to; right opens it with the bound package's actions.
        await select(pilot, "actions", "con-bound/")
        assert cell(app, "actions", "con-bound/", "kind") == "binding → /guest/con-pkg"
        await pilot.press("right")
        await until(pilot, lambda: "con-bound/first" in row_keys(app, "actions"), "the binding's actions")
        assert "2 actions" in cell(app, "actions", "con-bound/", "kind")
        keys = row_keys(app, "actions")
        assert sorted(keys[keys.index("con-bound/") + 1:][:2]) == ["con-bound/first", "con-bound/second"]


async def test_describe_shows_a_sequences_components_and_a_web_actions_url(
        make_app, guest: httpx.Client, backend: Server) -> None:
    package(guest, "con-webpkg")
    deploy(guest, "con-webpkg/page", ECHO, annotations=[{"key": "web-export", "value": True}])
    deploy(guest, "con-web", ECHO, annotations=[{"key": "web-export", "value": True}])
    deploy(guest, "con-step", ECHO)
    r = guest.put("/api/v1/namespaces/_/actions/con-seq", params={"overwrite": "true"},
                  json={"exec": {"kind": "sequence", "components": ["/guest/con-step", "/guest/con-webpkg/page"]}})
    assert r.status_code == 200, r.text
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await select(pilot, "actions", "con-seq")
        assert cell(app, "actions", "con-seq", "kind") == "sequence"
        assert cell(app, "actions", "con-web", "web") == "web"
        assert cell(app, "actions", "con-step", "web") == ""

        # d on the sequence: its components, in order, where an action shows its code.
        await pilot.press("d")
        screen = app.screen
        assert isinstance(screen, ActionScreen)
        await until(pilot, lambda: plain(screen.query_one("#code", Static)), "the components")
        components = plain(screen.query_one("#code", Static))
        assert components.index("1. /guest/con-step") < components.index("2. /guest/con-webpkg/page")
        assert "kind sequence" in plain(screen.query_one("#describe", Static))
        await pilot.press("escape")

        # d on a web action: its URL.
        await select(pilot, "actions", "con-web")
        await pilot.press("d")
        screen = app.screen
        await until(pilot, lambda: "web action" in plain(screen.query_one("#describe", Static)), "the URL")
        url = f"{backend.apihost}/api/v1/web/guest/default/con-web"
        assert url in plain(screen.query_one("#describe", Static))
        await pilot.press("escape")

        # ... and of one in a package, whose URL names the package.
        await select(pilot, "actions", "con-webpkg/")
        await pilot.press("enter")
        await select(pilot, "actions", "con-webpkg/page")
        assert cell(app, "actions", "con-webpkg/page", "web") == "web"
        await pilot.press("d")
        screen = app.screen
        await until(pilot, lambda: "web action" in plain(screen.query_one("#describe", Static)), "the URL")
        assert f"{backend.apihost}/api/v1/web/guest/con-webpkg/page" in plain(screen.query_one("#describe", Static))
    assert httpx.get(url + ".json", params={"name": "web"}).json() == {"greeting": "Hello web"}


async def test_a_sequence_activation_shows_its_components_under_it(make_app, guest: httpx.Client) -> None:
    package(guest, "con-seqpkg")
    deploy(guest, "con-first", ECHO)
    deploy(guest, "con-seqpkg/again", ECHO)
    r = guest.put("/api/v1/namespaces/_/actions/con-twice", params={"overwrite": "true"},
                  json={"exec": {"kind": "sequence", "components": ["/guest/con-first", "/guest/con-seqpkg/again"]}})
    assert r.status_code == 200, r.text
    r = guest.post("/api/v1/namespaces/_/actions/con-twice", params={"blocking": "true"}, json={"name": "seq"})
    assert r.status_code == 200, r.text
    sequence_id, (first, again) = r.json()["activationId"], r.json()["logs"]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: {sequence_id, first, again} <= set(row_keys(app, "activations")),
                    "the sequence and its components")
        keys = row_keys(app, "activations")
        at = keys.index(sequence_id)
        assert keys[at + 1:at + 3] == [first, again]  # under it, in the order they ran
        assert cell(app, "activations", sequence_id, "action") == "con-twice"
        assert cell(app, "activations", sequence_id, "start") == "sequence (2)"
        assert cell(app, "activations", first, "action") == "├ con-first"
        assert cell(app, "activations", again, "action") == "└ con-seqpkg/again"

        # enter on the sequence: its record lists its components' activations with their status.
        await select(pilot, "activations", sequence_id)
        await pilot.press("enter")
        record = app.screen
        assert isinstance(record, RecordScreen)
        log = record.query_one("#logs", Log)
        await until(pilot, lambda: len(log.lines) == 2, "the components")
        assert first in log.lines[0] and "con-first" in log.lines[0] and "success" in log.lines[0]
        assert again in log.lines[1] and "con-seqpkg/again" in log.lines[1] and "success" in log.lines[1]
        assert "Components" in str(record.query_one("#logs-title", Label).content)
        assert plain(record.query_one("#summary", Static)).startswith("success")
        assert "sequence of 2" in plain(record.query_one("#summary", Static))
        # The result is the last component's, which got the first one's result (no name in it).
        assert json.loads(plain(record.query_one("#result", Static))) == {"greeting": "Hello stranger"}


async def test_kill_asks_first_with_cancel_focused_then_cancels_the_activation(
        make_app, guest: httpx.Client, admin: httpx.Client) -> None:
    deploy(guest, "con-sleeper", SLEEPER)
    r = guest.post("/api/v1/namespaces/_/actions/con-sleeper", params={"blocking": "false"}, json={})
    assert r.status_code == 202, r.text
    activation_id = r.json()["activationId"]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: activation_id in row_keys(app, "activations")
                    and cell(app, "activations", activation_id, "status") == "running", "the running row")
        await select(pilot, "activations", activation_id)

        # k asks; Cancel has the focus, so enter backs out.
        await pilot.press("k")
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert activation_id in dialog_text(dialog)
        assert app.focused is dialog.query_one("#cancel", Button)
        await pilot.press("enter")
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.pause(0.5)
        assert activation_id in await in_thread(lambda: running_ids(admin))
        assert guest.get(f"/api/v1/namespaces/_/activations/{activation_id}").status_code == 404
        assert cell(app, "activations", activation_id, "status") == "running"

        # k again, tab to Kill, confirm.
        await select(pilot, "activations", activation_id)
        await pilot.press("k")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("tab")
        assert app.focused is app.screen.query_one("#confirm", Button)
        await pilot.press("enter")
        assert not isinstance(app.screen, ConfirmScreen)
        await until(pilot, lambda: cell(app, "activations", activation_id, "status") == "action developer error",
                    "the row to show the cancelled activation")

    r = guest.get(f"/api/v1/namespaces/_/activations/{activation_id}")
    assert r.status_code == 200, r.text
    assert r.json()["response"]["status"] == "action developer error"
    assert r.json()["response"]["result"] == {"error": CANCELLED}
    assert activation_id not in running_ids(admin)


async def test_kill_needs_a_running_activation(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        assert app.check_action("kill", ()) is None  # disabled outside Activations/Containers
        await pilot.press("k")
        assert app.screen is app.screen_stack[0]


async def test_remove_container_asks_then_destroys_it(make_app, guest: httpx.Client, admin: httpx.Client) -> None:
    deploy(guest, "con-warm", ECHO)
    r = guest.post("/api/v1/namespaces/_/actions/con-warm", params={"blocking": "true"}, json={})
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 5  # the container goes back to the pool just after the answer
    while not (warm := [cid for cid, c in containers(admin).items()
                        if (c["action"] or "").startswith("guest/con-warm@") and c["state"] == "warm"]):
        assert time.monotonic() < deadline, containers(admin)
        time.sleep(0.05)
    assert len(warm) == 1
    container_id = warm[0]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await until(pilot, lambda: container_id in row_keys(app, "containers"), "the container's row")
        assert cell(app, "containers", container_id, "state") == "warm"
        await select(pilot, "containers", container_id)
        await pilot.press("x")
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert container_id in dialog_text(dialog) and "invoker0" in dialog_text(dialog)
        assert app.focused is dialog.query_one("#cancel", Button)
        await pilot.press("tab", "enter")
        assert not isinstance(app.screen, ConfirmScreen)
        await until(pilot, lambda: container_id not in row_keys(app, "containers"), "the row to go")
    assert container_id not in containers(admin)


async def test_delete_needs_the_exact_name_typed(make_app, guest: httpx.Client) -> None:
    deploy(guest, "con-doomed", ECHO)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await select(pilot, "actions", "con-doomed")
        await pilot.press("D")
        dialog = app.screen
        assert isinstance(dialog, TypeToConfirmScreen)
        assert "/guest/con-doomed" in plain(dialog.query_one(".title", Static))
        confirm = dialog.query_one("#confirm", Button)
        assert app.focused is dialog.query_one("#cancel", Button)
        assert confirm.disabled

        await pilot.click("#typed")
        await type_text(pilot, "con-doome")
        assert confirm.disabled
        await pilot.press("enter")  # a wrong name does not submit
        assert app.screen is dialog
        await type_text(pilot, "dX")
        assert confirm.disabled
        await pilot.press("backspace")
        assert not confirm.disabled
        await pilot.press("tab", "tab")
        assert app.focused is confirm
        await pilot.press("enter")
        assert app.screen is app.screen_stack[0]
        await until(pilot, lambda: "con-doomed" not in row_keys(app, "actions"), "the row to go")
    assert guest.get("/api/v1/namespaces/_/actions/con-doomed").status_code == 404


async def test_delete_cancelled_keeps_the_action(make_app, guest: httpx.Client) -> None:
    deploy(guest, "con-kept", ECHO)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await select(pilot, "actions", "con-kept")
        await pilot.press("D")
        assert isinstance(app.screen, TypeToConfirmScreen)
        await pilot.press("escape")
        assert app.screen is app.screen_stack[0]
        await pilot.pause(0.4)
    assert guest.get("/api/v1/namespaces/_/actions/con-kept").status_code == 200


# --- read-only, navigation, refresh --------------------------------------------------------------


async def test_readonly_hides_every_mutating_verb(make_app, guest: httpx.Client) -> None:
    deploy(guest, "con-ro", ECHO)
    app = make_app(readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.connected, "the first poll")
        assert "RO" in topbar(app).split()
        for action in MUTATING:
            assert app.check_action(action, ()) is False, action
        await pilot.press("n")
        assert app.screen is app.screen_stack[0]
        await pilot.press("2")
        await select(pilot, "actions", "con-ro")
        for key in ("i", "D"):
            await pilot.press(key)
            assert app.screen is app.screen_stack[0], key
        keys = plain(app.query_one("#keys", Static))
        assert "Describe" in keys
        for verb in ("Deploy", "Invoke", "Delete", "Kill", "Remove"):
            assert verb not in keys, verb
        # Reading still works.
        await pilot.press("d")
        assert isinstance(app.screen, ActionScreen)
        await pilot.press("escape")
        # ? lists no mutating verb.
        await pilot.press("question_mark")
        text = plain(app.screen.query_one("VerticalScroll Static", Static))
        assert "(describe)" in text and "(deploy)" not in text and "(kill)" not in text
    assert guest.get("/api/v1/namespaces/_/actions/con-ro").status_code == 200


async def test_read_write_topbar_has_no_ro_badge(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.connected, "the first poll")
        bar = topbar(app)
        assert "connected" in bar and "RO" not in bar.split()
        assert app.check_action("deploy", ()) is True


async def test_jump_filter_help_and_refresh_keys(make_app, guest: httpx.Client) -> None:
    for name in ("con-nav-alpha", "con-nav-beta", "con-nav-gamma"):
        deploy(guest, name, ECHO)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        # : jump
        await pilot.press("colon")
        prompt = app.query_one("#prompt", Input)
        assert prompt.has_class("shown") and app.focused is prompt
        await type_text(pilot, "containers")
        await pilot.press("enter")
        assert app.view == "containers"
        assert not prompt.has_class("shown")
        assert app.focused is app.table and app.table.shown == "containers"
        await pilot.press("colon", *"inv", "enter")  # aliases work too
        assert app.view == "invokers"
        await pilot.press("colon", *"zz", "enter")
        assert app.view == "invokers"

        # / filter: rows narrow as you type; enter keeps it; escape clears it.
        await pilot.press("colon", "a", "enter")
        assert app.view == "actions"
        await until(pilot, lambda: {"con-nav-alpha", "con-nav-beta", "con-nav-gamma"} <= set(row_keys(app, "actions")),
                    "the action rows")
        everything = len(row_keys(app, "actions"))
        await pilot.press("slash")
        await type_text(pilot, "nav-b")
        assert row_keys(app, "actions") == ["con-nav-beta"]
        await pilot.press("enter")
        assert not prompt.has_class("shown")
        await pilot.pause(0.4)  # polls later, the filter still holds
        assert row_keys(app, "actions") == ["con-nav-beta"]
        await pilot.press("escape")
        assert len(row_keys(app, "actions")) == everything
        # The last filter is recalled; escape inside the prompt clears it too.
        await pilot.press("slash")
        assert prompt.value == "nav-b"
        await pilot.press("escape")
        assert not prompt.has_class("shown")
        assert len(row_keys(app, "actions")) == everything

        # ? help lists the bindings by id.
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = plain(app.screen.query_one("VerticalScroll Static", Static))
        for binding_id in ("jump", "filter", "deploy", "invoke", "kill", "remove_container", "delete", "describe",
                           "raw", "faster", "slower", "quit"):
            assert f"({binding_id})" in text, binding_id
        await pilot.press("escape")
        assert app.screen is app.screen_stack[0]

        # + / - change the refresh interval, and the top bar says so.
        assert app.refresh_s == 0.3
        await pilot.press("minus")
        assert app.refresh_s == 0.6
        await pilot.press("plus", "plus")
        assert app.refresh_s == 0.25  # the floor
        await pilot.pause(0.6)
        assert "every 0.25 s" in topbar(app)


async def test_unreachable_backend_is_said_and_retried_with_backoff(make_app) -> None:
    apihost = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = make_app(apihost, refresh_s=0.1)
    async with app.run_test(size=SIZE) as pilot:
        delays: list[float] = []
        for failures in (1, 2, 3):
            await until(pilot, lambda: app.failures >= failures, f"failure {failures}")
            assert app.failures == failures
            delays.append(app.next_try - time.monotonic())
        assert delays[0] < delays[1] < delays[2], delays
        await pilot.pause(0.6)
        bar = topbar(app)
        assert "unreachable" in bar and "retrying in" in bar and "connected" not in bar
        assert app.connected is False
        assert f"no Squall at {apihost}" in app.last_error
        # Never an empty-but-fine screen: no data was ever shown.
        assert "waiting for the first data" in page_text(app, "overview")
        await pilot.press("2")
        assert table(app, "actions").row_count == 0
        assert "unreachable" in topbar(app)


def _record(aid: str, name: str, start: int, cause: str | None = None, sequence: bool = False) -> dict[str, Any]:
    record: dict[str, Any] = {
        "activationId": aid, "name": name, "namespace": "guest", "start": start, "duration": 1,
        "annotations": [{"key": "path", "value": f"guest/{name}"},
                        {"key": "kind", "value": "sequence" if sequence else "python:3"}],
        "statusCode": 0, "response": {"status": "success", "statusCode": 0, "success": True}}
    if cause is not None:
        record["cause"] = cause
    return record


def test_activation_rows_nest_sequences_in_sequences_and_keep_unchanged_cells() -> None:
    from types import SimpleNamespace

    from console.views import ActivationRows, Snapshot

    app: Any = SimpleNamespace(theme="t", theme_variables={})
    outer, a, inner, b, c = (_record("o", "outer", 100, sequence=True), _record("a", "a", 110, "o"),
                             _record("i", "inner", 120, "o", sequence=True), _record("b", "b", 130, "i"),
                             _record("c", "c", 140, "i"))
    other = _record("x", "x", 150)
    status = {"running": []}
    rows = ActivationRows()

    # The sequence not listed (still running, or past the window): its components at the top level.
    built = rows.build(app, Snapshot(status, [other, c, b], []), "guest")
    assert built.order == ["x", "c", "b"] and built.cells["c"][1] == "c"

    # Listed newest first; shown each sequence first, its components under it in the order they ran.
    newest_first = [other, c, b, inner, a, outer]
    built = rows.build(app, Snapshot(status, newest_first, []), "guest")
    assert built.order == ["x", "o", "a", "i", "b", "c"]
    names = {key: Text.assemble(built.cells[key][1]).plain for key in built.order}
    assert names == {"x": "x", "o": "outer", "a": "├ a", "i": "└ inner", "b": "  ├ b", "c": "  └ c"}
    assert built.cells["o"][4] == "sequence (2)" and built.cells["i"][4] == "sequence (2)"
    assert built.parents == {"a": "o", "i": "o", "b": "i", "c": "i"}
    again = rows.build(app, Snapshot(status, newest_first, []), "guest")
    assert all(again.cells[k] is built.cells[k] for k in built.order)  # the table sees them as unchanged

    # Causes in a circle (never from Squall) still show each record once.
    loop = [_record("p", "p", 1, "q"), _record("q", "q", 2, "p")]
    assert sorted(rows.build(app, Snapshot(status, loop, []), "guest").order) == ["p", "q"]


async def test_a_backend_without_packages_still_shows_its_actions(clean_home: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/system/status":
            return httpx.Response(200, json={"invokers": [], "queues": {}, "running": [], "activationsPerSecond": 0})
        if request.url.path.endswith("/packages"):
            return httpx.Response(404, json={"error": "The requested resource does not exist.", "code": "x"})
        if request.url.path.endswith("/actions"):
            return httpx.Response(200, json=[{"namespace": "guest", "name": "old", "version": "0.0.1",
                                              "exec": {"kind": "python:3"}, "annotations": [],
                                              "limits": {"memory": 256, "timeout": 60000}, "updated": 0}])
        return httpx.Response(200, json=[])

    client = AsyncApiClient("http://squall.test", "user:key", "guest", transport=httpx.MockTransport(handler))
    app = SquallConsole(client, apihost="http://squall.test", refresh_s=0.3)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            await until(pilot, lambda: row_keys(app, "actions") == ["old"], "the action")
            assert app.connected and app.failures == 0
    finally:
        await client.aclose()


# --- keymap and themes ---------------------------------------------------------------------------


async def test_keymap_rebinds_by_id(make_app, clean_home: Path) -> None:
    (clean_home / "keymap.toml").write_text('deploy = "ctrl+n"\n')
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert "ctrl+n Deploy" in plain(app.query_one("#keys", Static))
        await pilot.press("n")  # the old key no longer deploys
        assert app.screen is app.screen_stack[0]
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, DeployScreen)
        await pilot.press("escape")
        assert app.screen is app.screen_stack[0]


def test_builtin_themes_load_and_define_the_state_colours() -> None:
    themes, problems = theming.discover()
    assert problems == []
    assert len(themes) >= 3
    assert any(t.dark for t in themes.values()) and any(not t.dark for t in themes.values())
    assert theming.DEFAULT_THEME in themes
    for theme in themes.values():
        missing = [v for v in theming.STATE_VARIABLES if v not in theme.variables]
        assert not missing, f"{theme.name} lacks {missing}"
    assert {p.stem for p in theming.BUILTIN_DIR.glob("*.toml")} <= set(themes)


def _theme_file(name: str, leave_out: str | None = None) -> str:
    variables = "\n".join(f'{v} = "#123456"' for v in theming.STATE_VARIABLES if v != leave_out)
    return f'name = "{name}"\ndark = false\nprimary = "#336699"\n\n[variables]\n{variables}\n'


def test_user_themes_are_discovered_and_incomplete_ones_reported(clean_home: Path) -> None:
    (clean_home / "themes").mkdir()
    (clean_home / "themes" / "x.toml").write_text(_theme_file("x"))
    (clean_home / "themes" / "broken.toml").write_text(_theme_file("broken", leave_out="status-running"))
    themes, problems = theming.discover()
    assert "x" in themes and themes["x"].variables["state-offline"] == "#123456"
    assert "broken" not in themes
    assert len(problems) == 1 and "broken.toml" in problems[0] and "status-running" in problems[0]


async def test_console_runs_a_user_theme_and_skips_a_broken_one(make_app, clean_home: Path) -> None:
    (clean_home / "themes").mkdir()
    (clean_home / "themes" / "x.toml").write_text(_theme_file("x"))
    (clean_home / "themes" / "broken.toml").write_text(_theme_file("broken", leave_out="state-healthy"))
    app = make_app(theme="x")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.connected, "the first poll")
        assert app.theme == "x"
        assert "broken" not in app.available_themes
        assert any("state-healthy" in p for p in app.theme_problems)


# --- polling -------------------------------------------------------------------------------------


async def test_verbs_refresh_at_once_without_stacking_polls(clean_home: Path) -> None:
    """Each verb asks for an immediate refresh; that must replace the pending poll, not add a second
    schedule, or a busy operator would multiply the load on the backend."""
    from console.screens import DataChanged

    polls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/system/status":
            polls.append(time.monotonic())
            return httpx.Response(200, json={"invokers": [], "queues": {}, "running": [], "activationsPerSecond": 0})
        return httpx.Response(200, json=[])

    client = AsyncApiClient("http://squall.test", "user:key", "guest", transport=httpx.MockTransport(handler))
    app = SquallConsole(client, apihost="http://squall.test", refresh_s=0.5)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.connected, "the first poll")
            for _ in range(5):
                before = len(polls)
                app.post_message(DataChanged())
                await until(pilot, lambda: len(polls) > before, "the immediate refresh")
            polls.clear()
            await pilot.pause(2.0)
            assert 3 <= len(polls) <= 5, f"{len(polls)} polls in 2 s at one per 0.5 s"
    finally:
        await client.aclose()


async def test_stale_data_is_marked(clean_home: Path) -> None:
    """Data older than two intervals is marked STALE in the top bar."""
    now = [1_800_000_000.0]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/system/status":
            return httpx.Response(200, json={"invokers": [], "queues": {}, "running": [], "activationsPerSecond": 0})
        return httpx.Response(200, json=[])

    client = AsyncApiClient("http://squall.test", "user:key", "guest", transport=httpx.MockTransport(handler))
    app = SquallConsole(client, apihost="http://squall.test", refresh_s=30, clock=lambda: now[0])
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.snapshot is not None, "the first poll")
            await until(pilot, lambda: "updated 0.0 s ago" in topbar(app), "the age")
            assert "STALE" not in topbar(app)
            now[0] += 75
            await until(pilot, lambda: "STALE" in topbar(app), "the stale mark")
            assert "updated 75.0 s ago" in topbar(app)
    finally:
        await client.aclose()
