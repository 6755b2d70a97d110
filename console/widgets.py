"""Small renderables and a diff-updating table, shared by the console's views."""

from __future__ import annotations

from collections import deque
from typing import Any, Iterable, Mapping, Sequence

from rich.text import Text
from textual.app import App
from textual.widgets import DataTable

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Iterable[float], width: int = 30) -> str:
    """The last `width` values as block characters scaled to their maximum."""
    data = list(values)[-width:]
    if not data:
        return ""
    top = max(data)
    if top <= 0:
        return BARS[0] * len(data)
    return "".join(BARS[min(len(BARS) - 1, int(v / top * (len(BARS) - 1) + 0.5))] for v in data)


def bar(used: float, total: float, width: int = 16) -> str:
    if total <= 0:
        return "░" * width
    filled = max(0, min(width, round(used / total * width)))
    return "█" * filled + "░" * (width - filled)


class History:
    """A bounded series for sparklines: one value per refresh."""

    def __init__(self, size: int = 120) -> None:
        self.values: deque[float] = deque(maxlen=size)

    def add(self, value: float) -> None:
        self.values.append(value)

    def spark(self, width: int = 30) -> str:
        return sparkline(self.values, width)

    @property
    def last(self) -> float:
        return self.values[-1] if self.values else 0.0


STATUS_VARIABLE = {
    "success": "status-success", "application error": "status-application-error",
    "action developer error": "status-developer-error", "whisk internal error": "status-internal-error",
    "running": "status-running",
}
STATE_VARIABLE = {"healthy": "state-healthy", "unhealthy": "state-unhealthy",
                  "unresponsive": "state-unresponsive", "offline": "state-offline"}


def coloured(app: App[Any], text: str, variable: str | None) -> Text:
    """`text` in the theme's colour for a state or status variable (bold, so it reads without colour)."""
    if variable is None:
        return Text(text)
    colour = app.theme_variables.get(variable)
    return Text(text, style=f"bold {colour}" if colour else "bold")


def status_text(app: App[Any], status: str) -> Text:
    return coloured(app, status, STATUS_VARIABLE.get(status))


def state_text(app: App[Any], state: str) -> Text:
    return coloured(app, state, STATE_VARIABLE.get(state))


def highlighted(cell: Any, needle: str) -> Any:
    """A cell with the filter's matches highlighted (case-insensitive)."""
    if not needle:
        return cell
    text = cell.copy() if isinstance(cell, Text) else Text(str(cell))
    text.highlight_words([needle], style="reverse", case_sensitive=False)
    return text


def sync_table(table: DataTable[Any], rows: Mapping[str, Sequence[Any]], needle: str = "",
               order: Sequence[str] | None = None, key_column: str | None = None) -> None:
    """Make `table` show `rows` (key -> cells) by diffing: add, update and remove rows in place, so
    the cursor and scroll position survive a refresh (clear() would reset them). With `order`, rows
    are sorted by it, through the column (`key_column`) that shows each row's key."""
    needle = needle.lower()
    if needle:
        rows = {k: v for k, v in rows.items() if any(needle in str(c).lower() for c in v)}
    columns = list(table.columns)
    present = {row_key.value for row_key in table.rows}
    for key in present - rows.keys():
        table.remove_row(key)
    for key, cells in rows.items():
        # Text, not str: DataTable parses a str cell as markup each time it renders it, and any
        # update re-renders every visible cell.
        cells = [highlighted(c if isinstance(c, Text) else Text(str(c)), needle) for c in cells]
        if key in present:
            for column, old, new in zip(columns, table.get_row(key), cells):
                if str(old) != str(new) or (isinstance(new, Text) and getattr(old, "style", None) != new.style):
                    table.update_cell(key, column, new)
        else:
            table.add_row(*cells, key=key)
    if order is not None and key_column is not None:
        rank = {key: i for i, key in enumerate(order)}
        if [row.key.value for row in table.ordered_rows] != [k for k in order if k in rows]:
            table.sort(key_column, key=lambda cell: rank.get(str(cell), len(rank)))
