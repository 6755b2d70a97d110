"""What the LiveTable shows, without drawing it: a sheet's rows by key, its cursor and its folds,
and a page of Rich renderables.

A sheet takes the rows of every poll and keeps each row it already had (and the strips drawn for
it) when its cells did not change; the cursor stays on its row's key, not its position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from rich.console import RenderableType
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

PADDING = 1  # blank cells either side of each column
Look = tuple[Style, Style | None]  # the style beneath a row's cells, and the one over them


def highlighted(cell: Text, needle: str) -> Text:
    """The cell with the filter's matches highlighted (case-insensitive)."""
    if not needle or needle not in cell.plain.lower():
        return cell
    text = cell.copy()
    text.highlight_words([needle], style="reverse", case_sensitive=False)
    return text


def _same(old: Sequence[Text], new: Sequence[Text]) -> bool:
    return len(old) == len(new) and all(
        a.plain == b.plain and a.style == b.style and a.spans == b.spans for a, b in zip(old, new))


@dataclass(eq=False)
class Sheet:
    """One table: its rows by key in order, the cursor, and each row drawn in each look.

    A row may be a fold (a folder of other rows): `folds` says which rows are, and whether each is
    open; `parents` names the fold each row shown inside one belongs to. The sheet's owner opens
    and closes folds (it gives the rows inside an open one); the table only asks it to."""

    columns: list[str]
    keys: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    rows: dict[str, tuple[Text, ...]] = field(default_factory=dict)
    given: dict[str, Sequence[Text | str]] = field(default_factory=dict)  # the cells object last given
    needle: str = ""
    widths: list[int] = field(default_factory=list)
    cursor: int = 0
    scroll_y: int = 0  # kept while another sheet is shown
    strips: dict[str, dict[Look, Strip]] = field(default_factory=dict)
    header: Strip | None = None
    folds: dict[str, bool] = field(default_factory=dict)  # fold row -> open
    parents: dict[str, str] = field(default_factory=dict)  # row inside a fold -> the fold's row

    def __post_init__(self) -> None:
        self.widths = [len(c) for c in self.columns]

    @property
    def row_count(self) -> int:
        return len(self.keys)

    @property
    def selected_key(self) -> str | None:
        return self.keys[self.cursor] if self.keys else None

    def cell(self, key: str, column: str) -> Text:
        return self.rows[key][self.columns.index(column)]

    def index_of(self, key: str) -> int:
        return self.index[key]

    def width(self) -> int:
        return sum(self.widths) + 2 * PADDING * len(self.widths)

    def sync(self, rows: Mapping[str, Sequence[Text | str]], order: Sequence[str] | None, needle: str,
             folds: Mapping[str, bool] | None = None, parents: Mapping[str, str] | None = None) -> bool:
        """Take `rows` in `order`, those matching `needle` only; True if anything shown changed.
        A row given as the same cells object as last time is taken as unchanged without a look."""
        needle = needle.lower()
        if needle != self.needle:
            self.given.clear()
            self.needle = needle
        self.folds, self.parents = dict(folds or {}), dict(parents or {})
        # At the top the cursor stays there, like tail -f; anywhere else it stays on its row.
        selected = self.selected_key if self.cursor > 0 else None
        fresh: dict[str, tuple[Text, ...]] = {}
        given: dict[str, Sequence[Text | str]] = {}
        for key in (order if order is not None else rows):
            cells = rows.get(key)
            if cells is None or key in given:
                continue
            old = self.rows.get(key)
            if old is not None and self.given.get(key) is cells:
                fresh[key], given[key] = old, cells
                continue
            texts = tuple(c if isinstance(c, Text) else Text(str(c)) for c in cells)
            if needle:
                if not any(needle in c.plain.lower() for c in texts):
                    continue
                texts = tuple(highlighted(c, needle) for c in texts)
            if old is not None and _same(old, texts):
                texts = old  # unchanged: its strips stay
            else:
                self.strips.pop(key, None)
            fresh[key], given[key] = texts, cells
        for key in self.rows.keys() - fresh.keys():
            self.strips.pop(key, None)
        keys = list(fresh)
        changed = keys != self.keys or any(self.rows.get(k) is not v for k, v in fresh.items())
        self.rows, self.given, self.keys = fresh, given, keys
        self.index = {k: i for i, k in enumerate(keys)}
        widths = [len(c) for c in self.columns]
        for cells in fresh.values():
            for i, text in enumerate(cells[:len(widths)]):
                if text.cell_len > widths[i]:
                    widths[i] = text.cell_len
        if widths != self.widths:
            self.widths = widths
            self.strips.clear()
            self.header = None
            changed = True
        if selected in self.index:
            self.cursor = self.index[selected]
        self.cursor = max(0, min(self.cursor, len(keys) - 1))
        return changed


@dataclass(eq=False)
class Page:
    """Rich renderables one under the other, drawn to the widget's width: a view without rows."""

    renderables: list[RenderableType] = field(default_factory=list)
    lines: list[Strip] | None = None  # drawn for `width`
    width: int = 0
    scroll_y: int = 0


NO_SHEET = Sheet([])
