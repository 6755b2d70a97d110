"""Entity names, namespaces and fully qualified names (`/namespace/package/action`) as OpenWhisk has them."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass

from .errors import NAME_ILLEGAL, NAMESPACE_ILLEGAL, EntityError

SYSTEM_NAMESPACE = "whisk.system"
DEFAULT_NAMESPACE = "guest"
DEFAULT_PACKAGE = "default"  # in web action URLs: the action is in no package
OWN_NAMESPACE = "_"

_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_@ .&-]{0,254}[A-Za-z0-9_@.&-])?", re.ASCII)


def valid_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name))


def check_name(name: str) -> str:
    if not valid_name(name):
        raise EntityError(400, NAME_ILLEGAL)
    return name


def check_namespace(name: str) -> str:
    if not valid_name(name):
        raise EntityError(400, NAMESPACE_ILLEGAL)
    return name


def new_key() -> tuple[str, str]:
    """A namespace key in OpenWhisk's shape: a uuid and a 64-character secret."""
    return str(uuid.uuid4()), secrets.token_urlsafe(48)[:64]


@dataclass(frozen=True)
class EntityName:
    """An entity in a namespace, maybe inside a package: `/ns/pkg/name` or `/ns/name`."""

    namespace: str
    package: str | None
    name: str

    @property
    def path(self) -> str:
        """Where the entity lives: `ns` or `ns/pkg` (an action document's `namespace`)."""
        return f"{self.namespace}/{self.package}" if self.package else self.namespace

    @property
    def relative(self) -> str:
        """The name inside its namespace: `pkg/name` or `name` (how activations are filtered)."""
        return f"{self.package}/{self.name}" if self.package else self.name

    def __str__(self) -> str:
        return f"/{self.path}/{self.name}"

    @classmethod
    def of_path(cls, path: str, name: str) -> "EntityName":
        """From a document's `namespace` (`ns` or `ns/pkg`) and `name`."""
        namespace, _, package = path.partition("/")
        return cls(namespace, package or None, name)


def parse_fqn(text: str, own_namespace: str) -> EntityName | None:
    """`/ns/pkg/name`, `/ns/name`, `pkg/name` or `name` (the last two in one's own namespace);
    `_` as the namespace is one's own. None when it is not such a name."""
    if text.startswith("/"):
        parts = text[1:].split("/")
        if len(parts) not in (2, 3):
            return None
        namespace = own_namespace if parts[0] == OWN_NAMESPACE else parts[0]
        rest = parts[1:]
    else:
        parts = text.split("/")
        if len(parts) not in (1, 2):
            return None
        namespace, rest = own_namespace, parts
    if not valid_name(namespace) or not all(valid_name(p) for p in rest):
        return None
    return EntityName(namespace, rest[0] if len(rest) == 2 else None, rest[-1])
