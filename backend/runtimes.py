"""Runtimes make containers that run the action proxy; the invoker talks to them over a unix socket.

A Runtime creates Containers. The process runtime (here) runs the proxy as a local subprocess with
rlimits: fast and dependency-free, but it does not isolate untrusted code. The Docker runtime adds
real isolation behind the same interface.
"""

from __future__ import annotations

import asyncio
import ctypes
import datetime as dt
import hashlib
import json
import logging
import os
import resource
import shutil
import signal
import sys
import tempfile
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import actionproxy, languages
from .errors import truncated_logs
from .limits import MB

log = logging.getLogger("squall.runtime")

PROXY_SOURCE = Path(actionproxy.__file__)
SENTINEL = actionproxy.SENTINEL.encode()
PR_SET_PDEATHSIG = 1
LOG_LINE_LIMIT = 4 * MB  # a longer line is replaced by DROPPED_LINE, in every runtime
DROPPED_LINE = f"[a log line longer than {LOG_LINE_LIMIT} bytes was dropped]"
SENTINEL_WAIT_S = 2.0  # how long logs may trail the response before we give up on the sentinels


class RuntimeUnavailable(Exception):
    """This runtime cannot run the kind here (its language is not installed)."""


def proxy_launcher_args(language: languages.Language, launcher: list[str] | None) -> list[str]:
    """The proxy's arguments for a family that runs in a launcher."""
    if launcher is None:
        return []
    codes = ",".join(str(c) for c in sorted(language.oom_exit_codes))
    return ["--launcher", json.dumps(launcher), "--oom-exit-codes", codes]


class ProxyGone(Exception):
    """The proxy closed the connection or never answered: the container died."""


class ProxyConnection:
    """A minimal HTTP/1.1 client over one kept-alive unix-socket connection.

    One container runs one activation at a time, so one connection with no pool is all the hot path
    needs, and it avoids the per-request cost of a general client (see performance-notes.md).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        delay = 0.002
        while True:
            try:
                self._reader, self._writer = await asyncio.open_unix_connection(self.path, limit=64 * MB)
                return
            except (FileNotFoundError, ConnectionRefusedError):
                if loop.time() > deadline:
                    raise ProxyGone("the action proxy did not start listening") from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self._writer is None or self._reader is None:
            raise ProxyGone("not connected")
        try:
            self._writer.write(
                b"POST %s HTTP/1.1\r\nHost: action\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % (path.encode(), len(body)) + body)
            await self._writer.drain()
            status_line = await self._reader.readline()
            if not status_line:
                raise ProxyGone("connection closed")
            status = int(status_line.split(b" ", 2)[1])
            length = 0
            while True:
                header = await self._reader.readline()
                if header in (b"\r\n", b"\n"):
                    break
                if not header:
                    raise ProxyGone("connection closed")
                name, _, value = header.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            return status, await self._reader.readexactly(length)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError) as ex:
            raise ProxyGone(str(ex)) from None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _timestamp() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LogCollector:
    """Cuts a container's stdout and stderr into per-activation logs at the proxy's sentinels."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._ended: dict[str, bool] = {"stdout": False, "stderr": False}
        self._closed: dict[str, bool] = {"stdout": False, "stderr": False}
        self._changed = asyncio.Event()

    def feed(self, stream: str, line: bytes) -> None:
        if line.rstrip(b"\r\n") == SENTINEL:
            self._ended[stream] = True
        elif len(line) > LOG_LINE_LIMIT:
            self.dropped(stream)
            return
        else:
            self._lines.append(f"{_timestamp()} {stream}: {line.decode('utf-8', 'replace').rstrip(chr(10))}")
        self._changed.set()

    def dropped(self, stream: str) -> None:
        """A line too long to keep: say so in its place."""
        self._lines.append(f"{_timestamp()} {stream}: {DROPPED_LINE}")
        self._changed.set()

    def close(self, stream: str) -> None:
        self._closed[stream] = True
        self._changed.set()

    async def collect(self, limit_bytes: int, wait_s: float = SENTINEL_WAIT_S) -> list[str]:
        """This activation's lines: those before the sentinels on both streams (or what is there)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while not all(self._ended[s] or self._closed[s] for s in self._ended):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                break
        lines, self._lines = self._lines, []
        self._ended = {"stdout": False, "stderr": False}
        return truncate_logs(lines, limit_bytes)


def truncate_logs(lines: list[str], limit_bytes: int) -> list[str]:
    total = 0
    for i, line in enumerate(lines):
        total += len(line.encode())
        if total > limit_bytes:
            return lines[:i] + [truncated_logs(limit_bytes)]
    return lines


@dataclass
class RunOutcome:
    """What came back from /init or /run: a response, or the reason there was none."""

    status: int = 0
    body: bytes = b""
    timed_out: bool = False
    gone: bool = False  # the container died: crashed or killed

    def json(self) -> Any:
        return json.loads(self.body)


class Container(ABC):
    """One action container: a proxy the invoker initializes once and runs many times."""

    id: str
    kind: str
    memory_mb: int

    def __init__(self) -> None:
        self.logs = LogCollector()
        self.connection: ProxyConnection | None = None

    async def _call(self, path: str, payload: dict[str, Any], timeout_s: float) -> RunOutcome:
        assert self.connection is not None
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            status, data = await asyncio.wait_for(self.connection.post(path, body), timeout_s)
            return RunOutcome(status, data)
        except TimeoutError:
            return RunOutcome(timed_out=True)
        except ProxyGone:
            return RunOutcome(gone=True)

    async def init(self, payload: dict[str, Any], timeout_s: float) -> RunOutcome:
        return await self._call("/init", {"value": payload}, timeout_s)

    async def run(self, payload: dict[str, Any], timeout_s: float) -> RunOutcome:
        return await self._call("/run", payload, timeout_s)

    @abstractmethod
    async def out_of_memory(self) -> bool:
        """After the container died: was it killed for exceeding its memory?"""

    @abstractmethod
    async def destroy(self) -> None:
        """Stop the container and remove what it left behind; safe to call twice."""


INVOKER_LABEL = "squall.invoker"


def run_dir(home: Path) -> Path:
    """Where an installation's container sockets live: short, since a unix socket path must fit
    in 108 bytes whatever $SQUALL_HOME is, and distinct per installation."""
    digest = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"squall-{digest}"


class Runtime(ABC):
    name: str
    isolates: bool
    work_dir: Path

    def container_dir(self, name: str, labels: dict[str, str] | None) -> Path:
        """Where a container's socket lives: under its invoker's own directory."""
        return self.work_dir / f"invoker{(labels or {}).get(INVOKER_LABEL, 'x')}" / name

    async def _remove_dirs(self, invoker_id: int) -> int:
        root = self.work_dir / f"invoker{invoker_id}"
        if not root.exists():
            return 0
        stale = list(root.iterdir())
        await asyncio.to_thread(shutil.rmtree, root, True)
        return len(stale)

    @abstractmethod
    async def create(self, kind: str, memory_mb: int, *, network: bool = False,
                     labels: dict[str, str] | None = None) -> Container:
        """Start a container for `kind` and wait until its proxy accepts connections."""

    async def remove_leftovers(self, invoker_id: int) -> int:
        """Remove containers a previous run of this invoker left behind."""
        return 0


def _limit_resources(memory_mb: int, address_space: bool) -> None:
    """In the child before exec: the action's memory as address space (not for a JIT runtime,
    which reserves far more than it uses: its launcher gets a heap limit instead), few files, no
    core dumps."""
    os.setsid()
    try:  # die with the invoker, even when it is SIGKILLed
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if address_space:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb * MB, memory_mb * MB))
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class ProcessContainer(Container):
    def __init__(self, kind: str, memory_mb: int, directory: Path, process: asyncio.subprocess.Process) -> None:
        super().__init__()
        self.id = directory.name
        self.kind = kind
        self.memory_mb = memory_mb
        self.directory = directory
        self.process = process
        self._readers = [
            asyncio.create_task(self._pump("stdout", process.stdout)),
            asyncio.create_task(self._pump("stderr", process.stderr)),
        ]

    async def _pump(self, stream: str, source: asyncio.StreamReader | None) -> None:
        assert source is not None
        try:
            while True:
                try:
                    line = await source.readline()
                except ValueError:  # one line over the reader's limit: drop it, keep the pipe drained
                    self.logs.dropped(stream)
                    continue
                if not line:
                    break
                self.logs.feed(stream, line)
        except ConnectionError:
            pass
        finally:
            self.logs.close(stream)

    async def out_of_memory(self) -> bool:
        try:
            code = await asyncio.wait_for(self.process.wait(), 1.0)
        except TimeoutError:
            return False
        return code == actionproxy.OOM_EXIT_CODE

    async def destroy(self) -> None:
        if self.connection is not None:
            self.connection.close()
        if self.process.returncode is None:
            try:
                os.killpg(self.process.pid, 9)
            except ProcessLookupError:
                pass
        try:
            await asyncio.wait_for(self.process.wait(), 5.0)
        except TimeoutError:
            log.warning("container %s did not exit after SIGKILL", self.id)
        for task in self._readers:
            task.cancel()
        await asyncio.to_thread(shutil.rmtree, self.directory, True)


class ProcessRuntime(Runtime):
    """The action proxy as a local subprocess: its own process group, rlimits, killed on timeout."""

    name = "process"
    isolates = False

    def __init__(self, work_dir: Path, api_host: str, python: str = sys.executable) -> None:
        self.work_dir = work_dir
        self.api_host = api_host
        self.python = python

    async def create(self, kind: str, memory_mb: int, *, network: bool = False,
                     labels: dict[str, str] | None = None) -> Container:
        language = languages.of_kind(kind)
        missing = language.host_missing()
        if missing is not None:
            raise RuntimeUnavailable(f"the process runtime cannot run {kind}: {missing}")
        launcher = await asyncio.to_thread(language.launcher, memory_mb, in_image=False)  # may compile
        directory = self.container_dir(uuid.uuid4().hex[:12], labels)
        directory.mkdir(parents=True)
        tmp = directory / "tmp"
        tmp.mkdir()
        socket_path = directory / "action.sock"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), "TMPDIR": str(tmp),
            "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "LANG": "C.UTF-8", "__OW_API_HOST": self.api_host,
        }
        process = await asyncio.create_subprocess_exec(
            self.python, "-u", "-s", str(PROXY_SOURCE), "--socket", str(socket_path),
            *proxy_launcher_args(language, launcher),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=tmp, env=env, limit=LOG_LINE_LIMIT,
            preexec_fn=lambda: _limit_resources(memory_mb, address_space=launcher is None),
        )
        container = ProcessContainer(kind, memory_mb, directory, process)
        container.connection = ProxyConnection(str(socket_path))
        try:
            loop = asyncio.get_running_loop()
            await container.connection.connect(loop.time() + 10.0)
        except BaseException:
            await container.destroy()
            raise
        return container

    async def remove_leftovers(self, invoker_id: int) -> int:
        """Action processes die with the invoker (PDEATHSIG); what is left is their directories."""
        return await self._remove_dirs(invoker_id)
