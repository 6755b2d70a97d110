"""The process runtime: the action proxy as a local subprocess with rlimits. Fast and
dependency-free, but it does not isolate untrusted code (the Docker runtime does)."""

from __future__ import annotations

import asyncio
import ctypes
import os
import resource
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from . import actionproxy, languages
from .kinds import BLACKBOX
from .limits import MB
from .runtimes import (
    PROXY_SOURCE, Container, LogCollector, LogLines, ProxyConnection, Runtime, RuntimeUnavailable, log,
    proxy_launcher_args,
)

PR_SET_PDEATHSIG = 1


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


class _ProxyProcess(asyncio.SubprocessProtocol):
    """The proxy's stdout and stderr, cut into lines for the container's log collector right in the
    callback that reads them (two reader tasks per container woke twice per activation for the
    sentinels alone), and its exit."""

    def __init__(self, logs: LogCollector) -> None:
        self.lines = LogLines(logs)
        self.exited: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self.lines.data(_STREAMS[fd], data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd in _STREAMS:
            self.lines.end(_STREAMS[fd])

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


_STREAMS = {1: "stdout", 2: "stderr"}


class ProcessContainer(Container):
    def __init__(self, kind: str, memory_mb: int, directory: Path) -> None:
        super().__init__()
        self.id = directory.name
        self.kind = kind
        self.memory_mb = memory_mb
        self.directory = directory
        self.process: asyncio.SubprocessTransport | None = None
        self.protocol = _ProxyProcess(self.logs)

    async def _wait(self, timeout_s: float) -> int | None:
        """The proxy's exit code, or None if it is still running after `timeout_s`."""
        try:
            await asyncio.wait_for(asyncio.shield(self.protocol.exited), timeout_s)
        except TimeoutError:
            return None
        return self.process.get_returncode() if self.process is not None else None

    async def resize(self, memory_mb: int) -> None:
        assert self.process is not None
        resource.prlimit(self.process.get_pid(), resource.RLIMIT_AS, (memory_mb * MB, memory_mb * MB))
        self.memory_mb = memory_mb

    async def out_of_memory(self) -> bool:
        return await self._wait(1.0) == actionproxy.OOM_EXIT_CODE

    async def destroy(self) -> None:
        if self.connection is not None:
            self.connection.close()
        if self.process is None:
            return
        if self.process.get_returncode() is None:
            try:
                os.killpg(self.process.get_pid(), 9)
            except ProcessLookupError:
                pass
        if not self.protocol.exited.done() and await self._wait(5.0) is None:
            log.warning("container %s did not exit after SIGKILL", self.id)
        self.process.close()
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
                     labels: dict[str, str] | None = None, image: str | None = None) -> Container:
        if image is not None or kind == BLACKBOX:  # an image of any make: only Docker can run it
            from .blackbox import process_runtime_refusal

            raise process_runtime_refusal()
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
        container = ProcessContainer(kind, memory_mb, directory)
        container.resizable = launcher is None  # its memory is the proxy's address space
        container.process, _ = await asyncio.get_running_loop().subprocess_exec(
            lambda: container.protocol, self.python, "-u", "-s", str(PROXY_SOURCE), "--socket", str(socket_path),
            *proxy_launcher_args(language, launcher),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp, env=env,
            preexec_fn=lambda: _limit_resources(memory_mb, address_space=launcher is None),
        )
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
