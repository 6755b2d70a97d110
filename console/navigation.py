"""Getting around the console: `:` jumps to a view (`:ns NAME` switches namespace), `/` filters the
rows (the last filter is recalled), `esc` goes back (clears a filter), `?` lists every key, `+`/`-`
change the refresh."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.widgets import Input

from .screens import HelpScreen
from .selection import ConsoleState
from .verbs import MUTATING
from .views import VIEWS

ALIASES = {"queues": "overview", "ov": "overview", "act": "activations", "co": "containers",
           "inv": "invokers", "a": "actions", "tr": "triggers", "ru": "rules"}


class Navigation(ConsoleState):
    """The prompt (`:` and `/`), help, back and the refresh speed."""

    last_filter: str
    prompt_mode: str  # "jump", "filter" or "" (closed)

    def action_show(self, view: str) -> None:
        self.show(view)

    def action_faster(self) -> None:
        self.refresh_s = max(0.25, self.refresh_s / 2)
        self.notify(f"refreshing every {self.refresh_s:g} s")

    def action_slower(self) -> None:
        self.refresh_s = min(30.0, self.refresh_s * 2)
        self.notify(f"refreshing every {self.refresh_s:g} s")

    def action_help(self) -> None:
        rows = [(b.key_display or b.key, f"{b.description}  [dim]({b.id})[/dim]") for b in self.BINDINGS
                if isinstance(b, Binding) and b.id and (not self.readonly or b.id not in MUTATING)]
        rows += [("ctrl+p", "command palette: every verb and view"), (":ns NAME", "switch namespace"),
                 ("arrows", "move the selection; left/right show a wide table's other columns"),
                 ("→ ← space", "open and close a package in the Actions view (enter opens one too)"),
                 ("pgup pgdn", "a screenful up or down; home and end: first and last row")]
        self.push_screen(HelpScreen(rows))

    def action_jump(self) -> None:
        self._open_prompt("jump", ":", "")

    def action_filter(self) -> None:
        self._open_prompt("filter", "/", self.filters.get(self.view) or self.last_filter)

    def _open_prompt(self, mode: str, marker: str, value: str) -> None:
        prompt = self.query_one("#prompt", Input)
        self.prompt_mode = mode
        prompt.placeholder = ("  ".join(f"{marker}{v}" for v in (*VIEWS, "ns NAME")) if mode == "jump"
                              else "filter rows (esc clears)")
        prompt.value = value
        prompt.add_class("shown")
        prompt.focus()

    def _close_prompt(self) -> None:
        prompt = self.query_one("#prompt", Input)
        prompt.remove_class("shown")
        self.prompt_mode = ""
        self.table.focus()

    @on(Input.Changed, "#prompt")
    def _prompt_changed(self, event: Input.Changed) -> None:
        if self.prompt_mode == "filter" and self.view != "overview":
            self.filters[self.view] = event.value
            self.render_sheet(self.view)

    @on(Input.Submitted, "#prompt")
    def _prompt_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip().lstrip(":")
        if self.prompt_mode == "filter":
            self.last_filter = value or self.last_filter
        elif value.startswith("ns "):
            self.namespace = value[3:].strip()
            self.client.namespace = self.namespace
            self.snapshot = None
            self.expanded.clear()
            self.poll()
        elif value:
            view = ALIASES.get(value, value)
            if view in VIEWS:
                self.show(view)
            else:
                self.notify(f"no view named {value}", severity="warning")
        self._close_prompt()

    def action_back(self) -> None:
        if self.prompt_mode:
            if self.prompt_mode == "filter":
                self.filters.pop(self.view, None)
                self.render_sheet(self.view)
            self._close_prompt()
        elif self.filters.get(self.view):
            self.filters.pop(self.view)
            self.render_sheet(self.view)
