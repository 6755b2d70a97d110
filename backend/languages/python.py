"""Python: the action runs inside the proxy itself (no launcher hop), on the image's python3."""

from __future__ import annotations

from . import Language

LANGUAGE = Language(family="python", image="squall/action-python3:latest")
