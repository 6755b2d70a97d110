"""Entity names the way the ``wsk`` CLI reads them, so that the same arguments mean the same thing.

``name`` and ``pkg/name`` live in the user's own namespace; ``/ns/name`` and ``/ns/pkg/name`` are
fully qualified. The own namespace is the wskprops ``NAMESPACE`` or ``_``, which the server
resolves to the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass

from .common import CliError

FORMS = "NAME, PACKAGE/NAME, /NAMESPACE/NAME or /NAMESPACE/PACKAGE/NAME"


@dataclass(frozen=True)
class QualifiedName:
    """A parsed entity name; ``name`` is empty for a bare ``/namespace``."""

    namespace: str
    package: str | None
    name: str

    @property
    def entity(self) -> str:
        """The name within the namespace: ``pkg/name`` or ``name``."""
        return f"{self.package}/{self.name}" if self.package else self.name

    @property
    def path(self) -> str:
        """``/ns/pkg/name``, as wsk prints entities."""
        return f"/{self.namespace}/{self.entity}" if self.name else f"/{self.namespace}"


def parse_name(text: str, namespace: str) -> QualifiedName:
    """Split ``text`` as wsk does; ``namespace`` is the own one, for names that do not start
    with ``/``."""
    if text.startswith("/"):
        segments = text[1:].split("/")
        if segments and segments[-1] == "":
            segments.pop()  # "/ns/" is "/ns"
        if not segments or not segments[0]:
            raise CliError(f"'{text}' is not a valid name: use {FORMS}")
        ns, rest = segments[0], segments[1:]
    else:
        ns, rest = namespace, text.split("/")
    if len(rest) > 2 or any(not part for part in rest):
        raise CliError(f"'{text}' is not a valid name: use {FORMS}")
    package = rest[0] if len(rest) == 2 else None
    return QualifiedName(ns, package, rest[-1] if rest else "")


def qualify_components(components: str, namespace: str) -> list[str]:
    """``--sequence a,pkg/b,/ns/c``: every component fully qualified on the client, as wsk does
    (``a`` → ``/NS/a``, ``pkg/b`` → ``/NS/pkg/b``, ``/ns/...`` as given), because the server
    reads ``pkg/b`` as namespace ``pkg``."""
    result = []
    for raw in components.split(","):
        component = raw.strip()
        if not component:
            raise CliError(f"--sequence {components!r} has an empty component")
        result.append(component if component.startswith("/") else f"/{namespace}/{component}")
    return result
