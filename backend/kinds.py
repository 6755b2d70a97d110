"""The runtime manifest: every kind Squall knows, each family's default, and what is deprecated.

Clients send `<family>:default` (the `wsk` CLI does for a `.py` file); the controller resolves it
here. The images module builds what this lists, and `GET /api/v1` shows it to clients.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import EntityError, malformed
from .languages import LANGUAGES

SEQUENCE = "sequence"
BLACKBOX = "blackbox"
BUILTIN = "builtin"  # whisk.system's feed actions, carried out by the controller itself (no user may create one)


@dataclass(frozen=True)
class RuntimeKind:
    kind: str
    family: str
    default: bool = False
    deprecated: bool = False

    @property
    def image(self) -> str | None:
        """The local image that runs it (its family's); None for a deprecated kind."""
        return None if self.deprecated else LANGUAGES[self.family].image

    def to_json(self) -> dict[str, Any]:
        """One entry of the info document's `runtimes`, in OpenWhisk's shape."""
        return {"kind": self.kind, "image": self.image or "", "deprecated": self.deprecated,
                "default": self.default, "attached": False, "requireMain": False}


MANIFEST: tuple[RuntimeKind, ...] = (
    RuntimeKind("python:3", "python", default=True),
    RuntimeKind("python:3.11", "python"),  # the same image: its python3 is 3.11
    # OpenWhisk retired Python 2; actions brought from there are readable and deletable only.
    RuntimeKind("python:2", "python", deprecated=True),
    # The newest LTS in this machine's Debian sources (bookworm: 18).
    RuntimeKind("nodejs:18", "nodejs", default=True),
    RuntimeKind("java:17", "java", default=True),
)

KINDS: dict[str, RuntimeKind] = {k.kind: k for k in MANIFEST}
DEFAULT_KIND = next(k.kind for k in MANIFEST if k.family == "python" and k.default)


def family_default(family: str) -> str | None:
    return next((k.kind for k in MANIFEST if k.family == family and k.default), None)


def deprecated_message(kind: str) -> str:
    return (f"The '{kind}' runtime is no longer supported. "
            "You may read and delete but not update or invoke this action.")


def is_deprecated(kind: str) -> bool:
    runtime = KINDS.get(kind)
    return runtime is not None and runtime.deprecated


def resolve(kind: str) -> str:
    """The kind an action is stored with: `<family>:default` (or a bare family) becomes the family's
    default; an unknown kind is a 400 that lists the known ones, a deprecated one OpenWhisk's 400."""
    family, _, version = kind.partition(":")
    if version in ("default", ""):
        default = family_default(family)
        if default is not None:
            return default
    runtime = KINDS.get(kind)
    if runtime is None:
        known = ", ".join(sorted(k.kind for k in MANIFEST if not k.deprecated))
        raise EntityError(400, malformed(f"kind '{kind}' not in Set({known})"))
    if runtime.deprecated:
        raise EntityError(400, deprecated_message(kind))
    return kind


def runtimes_doc() -> dict[str, list[dict[str, Any]]]:
    families: dict[str, list[dict[str, Any]]] = {}
    for runtime in MANIFEST:
        families.setdefault(runtime.family, []).append(runtime.to_json())
    return families


def image_of(kind: str) -> str:
    runtime = KINDS.get(kind)
    if runtime is None or runtime.image is None:
        raise KeyError(kind)
    return runtime.image


def images() -> dict[str, str]:
    """Kind -> image of every kind that can run."""
    return {k.kind: k.image for k in MANIFEST if k.image is not None}
