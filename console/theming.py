"""Console themes: TOML files in the project's themes/ and in $SQUALL_HOME/themes, as Textual themes.

Each theme defines the state colours as variables, so that every widget colours an invoker state or
an activation status the same way, whatever theme is on.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual.theme import Theme

from .client import squall_home

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "themes"
DEFAULT_THEME = "squall-dark"

STATE_VARIABLES = (
    "state-healthy", "state-unhealthy", "state-unresponsive", "state-offline",
    "status-success", "status-application-error", "status-developer-error", "status-internal-error",
    "status-running",
)

# What a theme that leaves a state colour out falls back to.
FALLBACK = {
    "state-healthy": "ansi_green", "state-unhealthy": "ansi_yellow", "state-unresponsive": "ansi_yellow",
    "state-offline": "ansi_red", "status-success": "ansi_green", "status-application-error": "ansi_yellow",
    "status-developer-error": "ansi_magenta", "status-internal-error": "ansi_red",
    "status-running": "ansi_blue",
}

_FIELDS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground", "background",
           "surface", "panel", "boost")


class ThemeError(Exception):
    pass


def load_theme(path: Path) -> Theme:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as ex:
        raise ThemeError(f"{path}: {ex}") from None
    if not isinstance(data.get("name"), str) or not isinstance(data.get("primary"), str):
        raise ThemeError(f"{path}: a theme needs at least `name` and `primary`")
    variables = {k: str(v) for k, v in (data.get("variables") or {}).items()}
    missing = [v for v in STATE_VARIABLES if v not in variables]
    if missing:
        raise ThemeError(f"{path}: the theme does not define {', '.join(missing)}")
    return Theme(name=data["name"], dark=bool(data.get("dark", True)), variables=variables,
                 **{f: data[f] for f in _FIELDS if isinstance(data.get(f), str)})


def theme_dirs() -> list[Path]:
    return [BUILTIN_DIR, squall_home() / "themes"]


def discover() -> tuple[dict[str, Theme], list[str]]:
    """Every theme found (a user's file overrides a built-in of the same name), and the problems."""
    themes: dict[str, Theme] = {}
    problems: list[str] = []
    for directory in theme_dirs():
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                theme = load_theme(path)
            except ThemeError as ex:
                problems.append(str(ex))
                continue
            themes[theme.name] = theme
    return themes, problems
