"""The process runtime: the action proxy as a local subprocess with rlimits. Fast and
dependency-free, but it does not isolate untrusted code (the Docker runtime does)."""

from __future__ import annotations

import asyncio
import ctypes
import os
import resource
import shutil
import signal
import sys
import uuid
from pathlib import Path

from . import actionproxy, languages
from .kinds import BLACKBOX
from .limits import MB
from .runtimes import (
    LOG_LINE_LIMIT, PROXY_SOURCE, Container, ProxyConnection, Runtime, RuntimeUnavailable, log, proxy_launcher_args,
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
