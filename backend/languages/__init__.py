"""How each language runs: one module per family (python, nodejs, java), and one shape for all.

The action proxy (actionproxy.py) is the same in every container. Python actions run inside it;
for any other family it starts that family's launcher (see the proxy's docstring for the
protocol). A Language says what its image installs on the shared Debian base, which launcher
files it carries, the launcher's command for a container of a given memory (on this host for the
process runtime, or inside the image), and which exit codes mean the action ran out of memory.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

LAUNCHERS = Path(__file__).resolve().parent.parent / "launchers"
LIB_IN_IMAGE = "/usr/local/lib/squall"


@dataclass(frozen=True)
class Language:
    family: str
    image: str  # the local image of the family's kinds
    apt_packages: tuple[str, ...] = ()  # installed on the shared base, beside python3
    files: tuple[str, ...] = ()  # under backend/launchers/, copied to LIB_IN_IMAGE/launchers/
    oom_exit_codes: frozenset[int] = frozenset()
    # (memory MB, directory of the launchers) -> the launcher's argv; None: runs inside the proxy
    command: Callable[[int, str], list[str]] | None = None
    host_program: str | None = None  # what the process runtime needs on this host
    version_flag: str = "--version"  # how that program says its version (`squall runtime list`)
    prepare: Callable[[Path], None] | None = field(default=None, repr=False)  # build step on a context

    def launcher(self, memory_mb: int, *, in_image: bool) -> list[str] | None:
        if self.command is None:
            return None
        where = f"{LIB_IN_IMAGE}/launchers" if in_image else str(LAUNCHERS)
        return self.command(memory_mb, where)

    def host_missing(self) -> str | None:
        """Why the process runtime cannot run this family here, or None."""
        if self.host_program is None or shutil.which(self.host_program):
            return None
        return f"{self.host_program} is not installed on this host"

    def host_version(self) -> str:
        if self.host_program is None or not shutil.which(self.host_program):
            return ""
        done = subprocess.run([self.host_program, self.version_flag], capture_output=True, text=True, timeout=30)
        line = (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr) else ""
        return line if self.host_program in line else f"{self.host_program} {line}"

    def digest(self) -> str:
        """Part of the image's version label: a launcher change rebuilds the image."""
        h = hashlib.sha256(self.family.encode())
        for name in self.files:
            path = LAUNCHERS / name
            h.update(name.encode())
            h.update(path.read_bytes() if path.is_file() else b"")
        h.update(" ".join(self.apt_packages).encode())
        return h.hexdigest()[:16]


def _registry() -> dict[str, Language]:
    from . import java, nodejs, python

    return {lang.family: lang for lang in (python.LANGUAGE, nodejs.LANGUAGE, java.LANGUAGE)}


LANGUAGES: dict[str, Language] = _registry()


def of_kind(kind: str) -> Language:
    """The language of a kind (`nodejs:18` -> nodejs)."""
    return LANGUAGES[kind.partition(":")[0]]
