"""wsk-style properties files and where Squall keeps them.

The same format as ``~/.wskprops``, so that credentials can be shared with the real ``wsk`` CLI.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Wskprops:
    """The settings of a wsk-style properties file; a missing key is ``None``."""

    apihost: str | None = None
    auth: str | None = None
    namespace: str | None = None
    #: Every key of the file, upper-cased, in case a caller wants one we do not model.
    extra: dict[str, str] = field(default_factory=dict, repr=False)


def load_wskprops(path: str | os.PathLike[str]) -> Wskprops:
    """Parse a wsk CLI properties file (``KEY=VALUE`` lines; blanks and ``#`` comments ignored).

    The same format as ``~/.wskprops`` so that files can be shared with the real ``wsk`` CLI.
    Raises ``FileNotFoundError`` if the file does not exist.
    """
    values: dict[str, str] = {}
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip().upper()] = value
    return Wskprops(
        apihost=values.get("APIHOST") or None,
        auth=values.get("AUTH") or None,
        namespace=values.get("NAMESPACE") or None,
        extra=values,
    )


def squall_home() -> Path:
    """Where Squall keeps its state and credentials: ``$SQUALL_HOME``, else ``~/.squall``."""
    env = os.environ.get("SQUALL_HOME")
    return Path(env).expanduser() if env else Path.home() / ".squall"


def user_props_path() -> Path:
    """The properties file holding the default (guest) credentials."""
    return squall_home() / "wskprops"


def admin_props_path() -> Path:
    """The properties file holding the admin credentials for the ``/api/v1/system`` endpoints."""
    return squall_home() / "admin.wskprops"


def normalize_apihost(apihost: str) -> str:
    """Return a base URL: wskprops often hold a bare ``host:port``, which httpx cannot use."""
    host = apihost.strip()
    if "://" not in host:
        host = "http://" + host
    return host.rstrip("/")
