"""Builds the Java action launcher (SquallLauncher.java) and says how to start it.

`ensure_launcher(cache_dir)` downloads Gson from Maven Central (checked against the .sha1 file
published next to it) and compiles the launcher against it, each once: a later call finds both in
the cache and returns at once. `launcher_command(classpath, memory_mb)` is the java argv for a
container of that memory; the proxy appends `<action_dir> <main>`.

Run as a script (`python build.py CACHE_DIR`) it prints the classpath.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

GSON_VERSION = "2.11.0"
MAVEN_CENTRAL = "https://repo.maven.apache.org/maven2"
GSON_URL = f"{MAVEN_CENTRAL}/com/google/code/gson/gson/{GSON_VERSION}/gson-{GSON_VERSION}.jar"
SOURCE = Path(__file__).with_name("SquallLauncher.java")
MAIN_CLASS = "SquallLauncher"
JAVA_RELEASE = "17"
JAVAC_OPTIONS = ("--release", JAVA_RELEASE, "-encoding", "UTF-8", "-proc:none",
                 "-XDstringConcat=inline")
"""-XDstringConcat=inline compiles "a" + b to StringBuilder calls rather than invokedynamic, whose
first bootstrap would cost milliseconds of the first failure's time. They are part of the digest
that names the classes dir, with the source and the Gson version."""

HEAP_FRACTION = 0.65
"""Of the container's memory, the share the Java heap may grow to (-Xmx)..."""
OFF_HEAP_RESERVE_MB = 80
"""...but always leaving this much for what is not heap: the JVM's own memory (about 60 MB
resident once C2 has compiled a busy action: class-data archive, code cache, compiler arenas,
thread stacks, metaspace) and the Python proxy beside it (about 20 MB)."""
MIN_HEAP_MB = 32
"""A floor for tiny containers: below this even a modest request or result fails to fit."""
INITIAL_HEAP_MB = 8
METASPACE_FRACTION = 0.125
MIN_METASPACE_MB = 24
"""-XX:MaxMetaspaceSize: the launcher and Gson use about 2 MB (the JDK's own classes come from
the shared archive); the cap turns an action that loads classes without end into a clean
`OutOfMemoryError: Metaspace` exit instead of a kill by the container's memory limit."""


class LauncherBuildError(Exception):
    """Gson could not be fetched or verified, or the launcher did not compile."""


def ensure_launcher(cache_dir: Path) -> str:
    """The launcher's classpath, "<classes dir>:<gson jar>", building what the cache lacks."""
    cache_dir = Path(cache_dir).resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)
    gson = _ensure_gson(cache_dir)
    classes = _ensure_classes(cache_dir, gson)
    return f"{classes}{os.pathsep}{gson}"


def heap_mb(memory_mb: int) -> int:
    """-Xmx for a container of memory_mb MB: 128 -> 48, 256 -> 166, 512 -> 332."""
    return max(MIN_HEAP_MB, min(int(memory_mb * HEAP_FRACTION), memory_mb - OFF_HEAP_RESERVE_MB))


def launcher_command(classpath: str, memory_mb: int) -> list[str]:
    """The java argv that starts the launcher in a container of `memory_mb` MB.

    Each flag and why (timings from a 2-core machine, JDK 17, 256 MB):
      -Xmx<heap_mb()>m   the heap's limit, 65 % of the memory but leaving 80 MB for everything
            else (see OFF_HEAP_RESERVE_MB), so that an action that allocates too much fails as a
            Java OutOfMemoryError (see below) rather than being killed by the memory limit.
      -Xms8m   start with a small heap and grow it on demand. The JVM's default initial heap is
            1/64 of the machine's (or cgroup's) memory, capped at -Xmx; an allocation-heavy
            action then ran ~15 % faster (fewer young collections) but the container's resident
            size grew from ~75 MB to ~112 MB. Footprint wins: containers are packed on a host.
      -XX:MaxMetaspaceSize   the same reasoning for class metadata (see METASPACE_FRACTION).
      -XX:OnOutOfMemoryError=kill -9 %p   the first OutOfMemoryError ends the JVM instead of
            leaving a half-broken warm container, and by SIGKILL, as the kernel's OOM killer would:
            the proxy reports exactly that as out of memory. (-XX:+ExitOnOutOfMemoryError would
            exit with 3, which an action's own System.exit(3) cannot be told from.)
      -XX:+UseSerialGC   one action runs at a time in a container of a core or two and a small
            heap: the serial collector has the smallest footprint, no GC threads and the
            shortest start, and its pauses are short for heaps this size.
      -XX:TieredStopAtLevel=1 is NOT used. C1 alone made no difference to the start (~85 ms to
            {"ok":true}) and saved 20-30 MB of resident memory and some of the first runs' time,
            but once warm an allocation- and collection-heavy action ran 1.3-1.6x slower (37-45
            ms against 27-31 ms) and the launcher's own round trip 0.10 against 0.03-0.06 ms.
            The JVM stays up for warm runs; those are what C2 is for.
      -Xshare:auto   map the JDK's class-data sharing archive (its classes, pre-parsed), and
            start without it where the JDK has none: with it ~85 ms to {"ok":true}, without
            (-Xshare:off) ~140 ms.
      -XX:-UsePerfData   no hsperfdata file mmapped under /tmp: nothing written there, a little
            less to do at start; only jps/jstat lose sight of the JVM.
      -XX:+DisplayVMOutputToStderr, -Xlog:disable -Xlog:all=warning:stderr   the JVM's own
            messages go to stderr, never into the action's stdout (without the first, the
            "Terminating due to java.lang.OutOfMemoryError" line is printed to stdout).
      -Dfile.encoding=UTF-8   the default charset whatever the container's locale, as OpenWhisk's
            Java images set it (the launcher also writes System.out/err as UTF-8 itself).
      --add-opens java.base/java.util=ALL-UNNAMED   lets the launcher write into the map behind
            System.getenv() (Collections$UnmodifiableMap.m) to give the action its __OW_ variables.
      --add-opens java.base/java.lang=ALL-UNNAMED   the other half of how Java 8 code set the
            environment (java.lang.ProcessEnvironment's fields): actions written for OpenWhisk's
            Java 8 runtime that do so themselves keep working on 17.
    """
    heap = heap_mb(memory_mb)
    metaspace = max(MIN_METASPACE_MB, int(memory_mb * METASPACE_FRACTION))
    return [
        "java",  # looked up on PATH where the launcher runs (in the container, not here)
        f"-Xmx{heap}m",
        f"-Xms{min(INITIAL_HEAP_MB, heap)}m",
        f"-XX:MaxMetaspaceSize={metaspace}m",
        "-XX:OnOutOfMemoryError=kill -9 %p",
        "-XX:+UseSerialGC",
        "-Xshare:auto",
        "-XX:-UsePerfData",
        "-XX:+DisplayVMOutputToStderr",
        "-Xlog:disable",
        "-Xlog:all=warning:stderr",
        "-Dfile.encoding=UTF-8",
        "--add-opens", "java.base/java.util=ALL-UNNAMED",
        "--add-opens", "java.base/java.lang=ALL-UNNAMED",
        "-cp", classpath,
        MAIN_CLASS,
    ]


def _ensure_gson(cache_dir: Path) -> Path:
    """gson-<version>.jar in the cache; present only once verified (it is renamed in whole)."""
    jar = cache_dir / f"gson-{GSON_VERSION}.jar"
    if jar.is_file():
        return jar
    try:
        with httpx.Client(timeout=60.0, follow_redirects=True) as client:
            published = client.get(GSON_URL + ".sha1")
            published.raise_for_status()
            body = client.get(GSON_URL)
            body.raise_for_status()
    except httpx.HTTPError as ex:
        raise LauncherBuildError(f"cannot download {GSON_URL}: {ex}") from ex
    # A Maven .sha1 file is the hex digest, sometimes followed by the file's name.
    words = published.text.split()
    expected = words[0].lower() if words else ""
    actual = hashlib.sha1(body.content).hexdigest()
    if actual != expected:
        raise LauncherBuildError(
            f"{GSON_URL}: SHA-1 {actual} does not match the published {expected or '(empty)'}")
    _write_atomically(jar, body.content)
    return jar


def _ensure_classes(cache_dir: Path, gson: Path) -> Path:
    """classes-<digest>/ with SquallLauncher.class, the digest naming what it was built from."""
    source = SOURCE.read_bytes()
    recipe = "\0".join([f"gson={GSON_VERSION}", *JAVAC_OPTIONS]).encode()
    digest = hashlib.sha256(source + b"\0" + recipe).hexdigest()[:16]
    classes = cache_dir / f"classes-{digest}"
    if (classes / f"{MAIN_CLASS}.class").is_file():
        return classes
    building = Path(tempfile.mkdtemp(prefix=".classes-", dir=cache_dir))
    building.chmod(0o755)  # mkdtemp makes it 0700; the JVM may run as another user
    try:
        result = subprocess.run(
            [_tool("javac"), *JAVAC_OPTIONS, "-cp", str(gson), "-d", str(building), str(SOURCE)],
            capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise LauncherBuildError(
                f"javac failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        try:
            building.rename(classes)  # whole, or not at all: never a half-written classes dir
        except OSError:
            # Someone else built it meanwhile (or left a broken one): use theirs if complete.
            if not (classes / f"{MAIN_CLASS}.class").is_file():
                shutil.rmtree(classes, ignore_errors=True)
                building.rename(classes)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return classes


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it 0600; the JVM may run as another user
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _tool(name: str) -> str:
    """A JDK tool: from $JAVA_HOME/bin when set, else the one on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / name).is_file():
        return str(Path(java_home) / "bin" / name)
    found = shutil.which(name)
    if found is None:
        raise LauncherBuildError(f"{name} not found: install a JDK 17 or set JAVA_HOME")
    return found


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: build.py CACHE_DIR")
    print(ensure_launcher(Path(sys.argv[1])))
