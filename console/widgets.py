"""Small renderables shared by the console's views: sparklines, bars, state colours."""

from __future__ import annotations

from collections import deque
from typing import Any, Iterable

from rich.text import Text
from textual.app import App

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
