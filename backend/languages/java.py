"""Java: a JVM per warm container running SquallLauncher, with Gson (fetched from Maven Central
when the image is built, or at first use on this host for the process runtime)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from . import LIB_IN_IMAGE, Language

IN_IMAGE = f"{LIB_IN_IMAGE}/launchers/java"


def host_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "squall" / "java"


def command(memory_mb: int, launchers: str) -> list[str]:
    from ..launchers.java.build import ensure_launcher, launcher_command

    if launchers.startswith(LIB_IN_IMAGE):
        classpath = f"{IN_IMAGE}/classes:{IN_IMAGE}/gson.jar"
    else:  # this host: compiled once into the cache (the process runtime calls this off the loop)
        classpath = ensure_launcher(host_cache())
    return launcher_command(classpath, memory_mb)


def compile_classpath() -> str:
    """What a Java action compiles against: Gson's jar (fetched and verified once)."""
    from ..launchers.java.build import ensure_launcher

    return ensure_launcher(host_cache()).split(":")[1]


def prepare(context: Path) -> None:
    """Put the compiled launcher and Gson into an image's build context."""
    from ..launchers.java.build import ensure_launcher

    classes, jar = ensure_launcher(host_cache()).split(":")
    target = context / "launchers" / "java"
    shutil.copytree(classes, target / "classes")
    shutil.copy(jar, target / "gson.jar")


LANGUAGE = Language(
    family="java", image="squall/action-java17:latest", apt_packages=("openjdk-17-jre-headless",),
    files=("java/SquallLauncher.java", "java/build.py"),
    command=command, host_program="java", version_flag="-version", prepare=prepare)
