"""The console's modal screens: confirmations, the deploy form, invoke, and record viewers.

Every backend call runs in a worker; handlers only post results back, so the screen never waits.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any, Sequence

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, Input, Label, Log, Select, Static, TextArea

from .cli import CliError, read_exec
from .cli.web import action_url
from .client import ApiError, AsyncApiClient
from .views import SEQUENCE, action_path, notes, web_mark
from .widgets import status_text


class DataChanged(Message):
    """A verb changed the backend: refresh now rather than at the next poll."""


class ConfirmScreen(ModalScreen[bool]):
    """Asks before a destructive verb; names the exact target; Cancel has the focus."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel", id="confirm.cancel")]

    def __init__(self, title: str, detail: str, verb: str) -> None:
        super().__init__(classes="dialog")
        self.title_text, self.detail, self.verb = title, detail, verb

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(self.title_text, classes="title")
            yield Static(self.detail)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.verb, id="confirm", variant="error")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")


class TypeToConfirmScreen(ModalScreen[bool]):
    """For irreversible deletes: the operator types the name before the button works."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel", id="confirm.cancel")]

    def __init__(self, title: str, name: str, verb: str) -> None:
        super().__init__(classes="dialog")
        self.title_text, self.target, self.verb = title, name, verb

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(self.title_text, classes="title")
            yield Static(f"This cannot be undone. Type [b]{self.target}[/b] to confirm.")
            yield Input(placeholder=self.target, id="typed")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.verb, id="confirm", variant="error", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Input.Changed, "#typed")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value != self.target

    @on(Input.Submitted, "#typed")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value == self.target:
            self.dismiss(True)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm" and self.query_one("#typed", Input).value == self.target)


class PathSuggester(Suggester):
    """Completes file paths as they are typed (tab or right arrow accepts)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        path = Path(os.path.expanduser(value))
        folder, stem = (path, "") if value.endswith("/") else (path.parent, path.name)
        try:
            names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()
                           if p.name.startswith(stem) and not p.name.startswith("."))
        except OSError:
            return None
        if not names:
            return None
        head = value[: len(value) - len(stem)] if stem else value
        return head + names[0]


class DeployScreen(ModalScreen[dict[str, Any] | None]):
    """Deploy or update an action: name, file (with completion), kind, memory, timeout, parameters."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="deploy.cancel")]

    FROM_FILE = "from the file"

    def __init__(self, name: str = "", path: str = "", kinds: Sequence[str] = ()) -> None:
        super().__init__(classes="dialog")
        self.initial_name, self.initial_path = name, path
        self.kinds = list(kinds)  # the server's (GET /api/v1), offered beside inferring from the file

    def compose(self) -> ComposeResult:
        with Vertical(classes="box wide"):
            yield Label("Deploy an action", classes="title")
            yield Input(self.initial_name, placeholder="name", id="name")
            yield Input(self.initial_path, placeholder="file: hello.py, hello.js, hello.jar or action.zip",
                        id="path", suggester=PathSuggester())
            with Horizontal(classes="row"):
                choices = [(f"kind: {self.FROM_FILE}", self.FROM_FILE), *((k, k) for k in self.kinds)]
                yield Select(choices, value=self.FROM_FILE, allow_blank=False, id="kind")
                yield Input("", placeholder="main (Java: the class)", id="main")
                yield Input("256", placeholder="memory MB", id="memory", type="integer")
                yield Input("60000", placeholder="timeout ms", id="timeout", type="integer")
            yield Label("Default parameters (JSON object)")
            yield TextArea("{}", id="params", classes="json")
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Deploy", id="deploy", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#name" if not self.initial_name else "#path", Input).focus()

    def _fail(self, message: str) -> None:
        self.query_one("#error", Static).update(message)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#deploy")
    def _deploy(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        path = os.path.expanduser(self.query_one("#path", Input).value.strip())
        if not name:
            return self._fail("The action needs a name.")
        try:
            kind = str(self.query_one("#kind", Select).value)
            exec_ = read_exec(path, None if kind == self.FROM_FILE else kind,
                              self.query_one("#main", Input).value.strip() or None)
        except CliError as ex:  # the CLI's message, as a sentence in the form
            return self._fail(str(ex)[:1].upper() + str(ex)[1:])
        try:
            params = json.loads(self.query_one("#params", TextArea).text or "{}")
            if not isinstance(params, dict):
                raise ValueError("not an object")
        except ValueError as ex:
            return self._fail(f"Parameters must be a JSON object ({ex}).")
        try:
            memory = int(self.query_one("#memory", Input).value)
            timeout = int(self.query_one("#timeout", Input).value)
        except ValueError:
            return self._fail("Memory and timeout must be whole numbers.")
        self.dismiss({"name": name, "body": {
            "exec": exec_,
            "limits": {"memory": memory, "timeout": timeout},
            "parameters": [{"key": k, "value": v} for k, v in params.items()]}})


class InvokeScreen(ModalScreen[None]):
    """Invoke an action with a JSON parameter editor, and show what came back."""

    BINDINGS = [Binding("escape", "dismiss", "Close", id="invoke.close"),
                Binding("ctrl+r", "invoke", "Invoke", id="invoke.run")]

    def __init__(self, client: AsyncApiClient, name: str) -> None:
        super().__init__(classes="dialog")
        self.client, self.action_name = client, name

    def compose(self) -> ComposeResult:
        with Vertical(classes="box wide"):
            yield Label(f"Invoke {self.action_name}", classes="title")
            yield Label("Parameters (JSON object)")
            yield TextArea("{}", id="params", classes="json")
            yield Static("", id="outcome")
            yield VerticalScroll(Static("", id="result"), classes="result")
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close")
                yield Button("Invoke (ctrl+r)", id="invoke", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#params", TextArea).focus()

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss()

    @on(Button.Pressed, "#invoke")
    def action_invoke(self) -> None:
        try:
            params = json.loads(self.query_one("#params", TextArea).text or "{}")
            if not isinstance(params, dict):
                raise ValueError("not an object")
        except ValueError as ex:
            self.query_one("#outcome", Static).update(f"Parameters must be a JSON object ({ex}).")
            return
        self.query_one("#outcome", Static).update("invoking…")
        self._invoke(params)

    @work(exclusive=True, group="invoke")
    async def _invoke(self, params: dict[str, Any]) -> None:
        try:
            invocation = await self.client.invoke(self.action_name, params, blocking=True)
        except ApiError as ex:
            self.query_one("#outcome", Static).update(Text(f"error: {ex}", style="bold red"))
            return
        body = invocation.body
        if invocation.status == 202:
            self.query_one("#outcome", Static).update(f"still running: activation {invocation.id}")
            return
        status = body.get("response", {}).get("status", "?")
        outcome = Text.assemble(status_text(self.app, status), f"  {body.get('duration', '?')} ms  ",
                                f"activation {invocation.id}")
        self.query_one("#outcome", Static).update(outcome)
        result = body.get("response", {}).get("result")
        self.query_one("#result", Static).update(Syntax(json.dumps(result, indent=2, ensure_ascii=False), "json"))
        self.app.post_message(DataChanged())


class RecordScreen(ModalScreen[None]):
    """An activation: its summary, logs and result (`l` logs, `y` raw JSON); a sequence's, its
    components' activations with their status instead of logs."""

    BINDINGS = [Binding("escape", "dismiss", "Back", id="record.back"),
                Binding("y", "raw", "Raw JSON", id="record.raw")]

    def __init__(self, client: AsyncApiClient, activation_id: str) -> None:
        super().__init__(classes="dialog")
        self.client, self.activation_id = client, activation_id
        self.record: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="box wide tall"):
            yield Label(f"Activation {self.activation_id}", classes="title")
            yield Static("loading…", id="summary")
            yield Label("Logs", id="logs-title")
            yield Log(id="logs", max_lines=10_000, classes="logs")
            yield Label("Result")
            yield VerticalScroll(Static("", id="result"), classes="result")

    def on_mount(self) -> None:
        self._load()

    @work(exclusive=True)
    async def _load(self) -> None:
        try:
            record = await self.client.get_activation(self.activation_id)
        except ApiError as ex:
            self.query_one("#summary", Static).update(Text(f"error: {ex}", style="bold red"))
            return
        self.record = record
        annotations = notes(record)
        status = record["response"]["status"]
        sequence = annotations.get("kind") == SEQUENCE
        start = f"sequence of {len(record.get('logs') or [])}" if sequence else \
            "cold" if "initTime" in annotations else "warm"
        what = action_path(record, annotations)
        where = what if what.startswith("/") else f"{record['namespace']}/{what}"
        self.query_one("#summary", Static).update(Text.assemble(
            status_text(self.app, status), f"   {where}:{record['version']}   {record['duration']} ms   {start}"
            f"   wait {annotations.get('waitTime', '-')} ms   init {annotations.get('initTime', '-')} ms"))
        self.query_one("#result", Static).update(
            Syntax(json.dumps(record["response"].get("result"), indent=2, ensure_ascii=False), "json"))
        log = self.query_one("#logs", Log)
        if not sequence:
            log.write_lines(record.get("logs") or ["(no logs)"])
            return
        # A sequence's logs are its components' activation ids, in the order they ran.
        self.query_one("#logs-title", Label).update("Components, in the order they ran")
        ids = [str(i) for i in record.get("logs") or []]
        components = await asyncio.gather(*(self.client.get_activation(i) for i in ids), return_exceptions=True)
        log.write_lines([component_line(n, aid, c) for n, (aid, c) in enumerate(zip(ids, components), start=1)]
                        or ["(no component ran)"])

    def action_raw(self) -> None:
        if self.record is not None:
            self.app.push_screen(JsonScreen(f"Activation {self.activation_id}", self.record))


def component_line(n: int, activation_id: str, record: dict[str, Any] | BaseException) -> str:
    """One component of a sequence's record: its place, id, action, status and duration."""
    if not isinstance(record, dict):
        return f"{n:>2}. {activation_id}  ({record})"
    return (f"{n:>2}. {activation_id}  {action_path(record, notes(record))}  {record['response']['status']}  "
            f"{record.get('duration', '-')} ms")


class JsonScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss", "Back", id="json.back")]

    def __init__(self, title: str, data: Any, language: str = "json") -> None:
        super().__init__(classes="dialog")
        self.title_text, self.data, self.language = title, data, language

    def compose(self) -> ComposeResult:
        text = self.data if isinstance(self.data, str) else json.dumps(self.data, indent=2, ensure_ascii=False)
        with Vertical(classes="box wide tall"):
            yield Label(self.title_text, classes="title")
            yield VerticalScroll(Static(Syntax(text, self.language, line_numbers=self.language != "json")))


class ActionScreen(ModalScreen[None]):
    """An action: its description (with its URL if it is a web action) and its code, or a
    sequence's components (`y` raw JSON)."""

    BINDINGS = [Binding("escape", "dismiss", "Back", id="action.back"),
                Binding("y", "raw", "Raw JSON", id="action.raw")]

    def __init__(self, client: AsyncApiClient, name: str) -> None:
        super().__init__(classes="dialog")
        self.client, self.action_name = client, name
        self.doc: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="box wide tall"):
            yield Label(f"Action {self.action_name}", classes="title")
            yield Static("loading…", id="describe")
            yield VerticalScroll(Static("", id="code"), classes="result tall")

    def on_mount(self) -> None:
        self._load()

    @work(exclusive=True)
    async def _load(self) -> None:
        try:
            doc = await self.client.get_action(self.action_name, code=True)
        except ApiError as ex:
            self.query_one("#describe", Static).update(Text(f"error: {ex}", style="bold red"))
            return
        self.doc = doc
        exec_, limits = doc["exec"], doc["limits"]
        sequence = exec_["kind"] == SEQUENCE
        params = ", ".join(f"{p['key']}={json.dumps(p['value'])}" for p in doc.get("parameters", [])
                           if not (sequence and p["key"] == "_actions")) or "none"  # _actions: the components
        lines = [f"/{doc['namespace']}/{doc['name']}  version {doc['version']}  kind {exec_['kind']}"
                 + ("" if sequence else f"  main {exec_.get('main', 'main')}"),
                 f"memory {limits['memory']} MB  timeout {limits['timeout']} ms  logs {limits['logs']} MB"
                 f"  concurrency {limits['concurrency']}", f"parameters: {params}"]
        if mark := web_mark(doc):
            raw = " (raw HTTP)" if mark == "web raw" else ""
            lines.append(f"web action{raw}: {action_url(self.client.apihost, doc)}")
        self.query_one("#describe", Static).update(Text("\n".join(lines)))
        if sequence:
            components = exec_.get("components") or []
            self.query_one("#code", Static).update(Text("\n".join(
                ["components, in the order they run:"] + [f"{n:>3}. {c}" for n, c in enumerate(components, 1)])))
            return
        code = "(a zip archive)" if exec_.get("binary") else exec_.get("code", "")
        self.query_one("#code", Static).update(Syntax(code, "python", line_numbers=True))

    def action_raw(self) -> None:
        if self.doc is not None:
            self.app.push_screen(JsonScreen(f"Action {self.action_name}", self.doc))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss", "Back", id="help.back"),
                Binding("question_mark", "dismiss", "Back", show=False)]

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__(classes="dialog")
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = "\n".join(f"  [b]{keys:<12}[/b] {what}" for keys, what in self.rows)
        with Vertical(classes="box wide tall"):
            yield Label("Keys", classes="title")
            yield VerticalScroll(Static(table))
            yield Static("Rebind any key by its id in $SQUALL_HOME/keymap.toml, e.g.  deploy = \"ctrl+n\"")
