"""The Docker runtime: each action container is a hardened Docker container running the proxy.

The invoker reaches the proxy over a unix socket in a bind-mounted directory (never the container's
IP: most containers have no network at all), and reads the container's stdout and stderr through
an attach stream. A blackbox action's container (its own image) is the exception: it serves on
TCP port 8080 on an isolated network, and the invoker connects to its address there (blackbox.py).
The docker SDK blocks, so every call runs in a thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

from . import blackbox, kinds, languages
from . import errors as X
from .actionproxy import OOM_EXIT_CODE
from .images import ACTION_UID, PROXY_CODE_IN_IMAGE, SOCKET_DIR, image_is_current
from .kinds import BLACKBOX, DEFAULT_KIND, image_of
from .runtimes import (INVOKER_LABEL, Container, LogLines, ProxyConnection, ProxyGone, Runtime,
                       RuntimeUnavailable, proxy_launcher_args)

log = logging.getLogger("squall.docker")

PIDS_LIMIT = 64
TMPFS_SIZE = "64m"
LOG_MAX_SIZE = "10m"
START_TIMEOUT_S = 30.0


HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"


def memory_limits(memory_mb: int) -> dict[str, str]:
    """The container's memory and memory+swap (so no swap), at its start and when lowered."""
    limit = f"{memory_mb}m"
    return {"mem_limit": limit, "memswap_limit": limit}


def hardening(memory_mb: int, network: bool) -> dict[str, Any]:
    """The container settings of the contract page (docker-py keywords)."""
    import docker.types

    return {
        "network_mode": "bridge" if network else "none",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "read_only": True,
        "tmpfs": {"/tmp": f"size={TMPFS_SIZE}"},
        "pids_limit": PIDS_LIMIT,
        **memory_limits(memory_mb),
        "ulimits": [docker.types.Ulimit(name="nofile", soft=1024, hard=1024)],
        "log_config": docker.types.LogConfig(type="json-file",
                                             config={"max-size": LOG_MAX_SIZE, "max-file": "1"}),
    }


class DockerContainer(Container):
    def __init__(self, runtime: "DockerRuntime", container_id: str, name: str, kind: str, memory_mb: int,
                 directory: Path | None) -> None:
        super().__init__()
        self.runtime = runtime
        self.docker_id = container_id
        self.id = name
        self.kind = kind
        self.memory_mb = memory_mb
        self.directory = directory
        self._destroyed = False
        self.lines = LogLines(self.logs)
        self._pipes: list[_LogFifo] = []

    def read_log_pipes(self, directory: Path, keep_open: list[int]) -> None:
        """Read the proxy's stdout and stderr from FIFOs in its socket directory (the proxy writes
        there when it finds them): each activation's lines, sentinels included, then skip the
        container's shim, dockerd and an attach stream read in a thread (warm at c=32 that path
        cost the machine 1.7 ms of CPU per invoke, this one 1.1 ms). Adds to `keep_open` write
        ends that keep the pipes from ending before the proxy opens them: close them once it
        answers."""
        loop = asyncio.get_running_loop()
        for stream in ("stdout", "stderr"):
            path = directory / stream
            os.mkfifo(path, 0o600)
            os.chown(path, ACTION_UID, ACTION_UID)
            read_end = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            self._pipes.append(_LogFifo(loop, read_end, self.lines, stream))
            keep_open.append(os.open(path, os.O_WRONLY | os.O_NONBLOCK))

    def follow_output(self, loop: asyncio.AbstractEventLoop) -> None:
        """A blackbox image's proxy writes to its own stdout: stream it from Docker in a thread."""
        stream = self.runtime.api.attach(self.docker_id, stdout=True, stderr=True, stream=True, logs=True,
                                         demux=True)

        def pump() -> None:
            try:
                for out, err in stream:
                    for name, data in (("stdout", out), ("stderr", err)):
                        if data:
                            loop.call_soon_threadsafe(self.lines.data, name, data)
            except Exception:  # the container went away mid-stream
                pass
            finally:
                for name in ("stdout", "stderr"):
                    try:
                        loop.call_soon_threadsafe(self.lines.end, name)
                    except RuntimeError:  # the loop is closed: nobody waits for these logs
                        pass

        threading.Thread(target=pump, name=f"logs-{self.id}", daemon=True).start()

    async def resize(self, memory_mb: int) -> None:
        await asyncio.to_thread(self.runtime.api.update_container, self.docker_id, **memory_limits(memory_mb))
        self.memory_mb = memory_mb

    async def out_of_memory(self) -> bool:
        for _ in range(20):
            state = (await asyncio.to_thread(self.runtime.api.inspect_container, self.docker_id))["State"]
            if not state.get("Running"):  # killed by the kernel, or the proxy said so (a JVM's own OOM)
                return bool(state.get("OOMKilled")) or state.get("ExitCode") == OOM_EXIT_CODE
            await asyncio.sleep(0.05)
        return False

    async def destroy(self) -> None:
        if self._destroyed:
            return
        self._destroyed = True
        if self.connection is not None:
            self.connection.close()
        for pipe in self._pipes:
            pipe.close()
        await asyncio.to_thread(self.runtime.remove, self.docker_id)
        if self.directory is not None:  # a blackbox container has no socket directory
            await asyncio.to_thread(shutil.rmtree, self.directory, True)


class DockerRuntime(Runtime):
    name = "docker"
    isolates = True

    def __init__(self, work_dir: Path, api_host: str) -> None:
        import docker

        self.work_dir = work_dir
        self.api_host = api_host
        # Invoker ids repeat across installations on one engine; the instance label keeps them apart.
        self.instance = hashlib.sha256(str(work_dir.resolve()).encode()).hexdigest()[:12]
        # Every container holds one connection for its attach stream, so the pool must be large.
        self.client = docker.from_env(max_pool_size=256)
        self.api = self.client.api
        self.blackbox = blackbox.BlackboxNetwork(self.client)
        self.hosts = work_dir / "hosts"  # what the engine writes for a `none` container
        if not self.hosts.exists() or self.hosts.read_text() != HOSTS:
            # Whole or not at all: another invoker of this installation may be binding it.
            work_dir.mkdir(parents=True, exist_ok=True)
            written = work_dir / f"hosts.{os.getpid()}"
            written.write_text(HOSTS)
            os.replace(written, self.hosts)

    @staticmethod
    def unavailable_reason(kind: str = DEFAULT_KIND) -> str | None:
        """None when the engine answers and the kind's image is present and current."""
        try:
            import docker

            client = docker.from_env(timeout=3)
            client.ping()
        except Exception as ex:
            return f"no Docker engine answers ({str(ex).splitlines()[0][:100]})"
        image = image_of(kind)
        if not image_is_current(client, image):
            return (f"the runtime image {image} is missing or stale; "
                    f"build it with `squall runtime build {kind}`")
        return None

    @staticmethod
    def stale_kinds() -> list[str]:
        """The kinds whose images are missing or stale (they cannot run until rebuilt)."""
        import docker

        client = docker.from_env(timeout=5)
        return [kind for kind, image in kinds.images().items() if not image_is_current(client, image)]

    async def create(self, kind: str, memory_mb: int, *, network: bool = False,
                     labels: dict[str, str] | None = None, image: str | None = None) -> Container:
        if image is not None or kind == BLACKBOX:
            if image is None:
                raise blackbox.BlackboxStartupError("A blackbox action needs an image.")
            return await self._create_blackbox(image, memory_mb, labels or {})
        image = image_of(kind)
        name = "squall-" + uuid.uuid4().hex[:12]
        directory = self.container_dir(name, labels)
        directory.mkdir(parents=True)
        os.chown(directory, ACTION_UID, ACTION_UID)
        language = languages.of_kind(kind)
        command = None
        launcher = language.launcher(memory_mb, in_image=True)
        if launcher is not None:  # the image's own command, with this container's memory in it
            command = ["python3", "-u", "-s", PROXY_CODE_IN_IMAGE, "--socket", f"{SOCKET_DIR}/action.sock",
                       *proxy_launcher_args(language, launcher)]
        try:
            config = await asyncio.to_thread(self._create, image, name, directory, kind, memory_mb, network,
                                             labels or {}, command)
        except BaseException:
            await asyncio.to_thread(shutil.rmtree, directory, True)
            raise
        container = DockerContainer(self, config, name, kind, memory_mb, directory)
        container.resizable = launcher is None
        keep_open: list[int] = []
        try:
            container.read_log_pipes(directory, keep_open)
            await asyncio.to_thread(self.api.start, config)
            container.connection = ProxyConnection(str(directory / "action.sock"))
            await container.connection.connect(asyncio.get_running_loop().time() + START_TIMEOUT_S)
        except BaseException:
            await container.destroy()
            raise
        finally:
            for fd in keep_open:  # the proxy holds the pipes now: its exit ends them
                os.close(fd)
        return container

    def _create(self, image: str, name: str, directory: Path, kind: str, memory_mb: int, network: bool,
                labels: dict[str, str], command: list[str] | None) -> str:
        import docker.errors

        binds = {str(directory): {"bind": SOCKET_DIR, "mode": "rw"}}
        if not network:
            binds[str(self.hosts)] = {"bind": "/etc/hosts", "mode": "ro"}
        host_config = self.api.create_host_config(binds=binds, **hardening(memory_mb, network))
        try:
            # Without network, also no libnetwork sandbox: runc still gives the container a
            # namespace of its own with only loopback, as `none` does, but the engine skips its
            # sandbox and the prestart hook that re-executes dockerd, 40 % of a start here (and
            # writes no /etc/hosts: `binds` brings the one it would have written).
            created = self.api.create_container(
                image, command=command, name=name, user=f"{ACTION_UID}:{ACTION_UID}",
                network_disabled=not network, environment={"__OW_API_HOST": self.api_host},
                labels={"squall.kind": kind, "squall.instance": self.instance, **labels}, host_config=host_config)
        except docker.errors.ImageNotFound:
            raise RuntimeUnavailable(f"The runtime image of {kind} ({image}) is not built on this invoker's "
                                     f"host: squall runtime build {kind}") from None
        return created["Id"]

    async def _create_blackbox(self, image: str, memory_mb: int, labels: dict[str, str]) -> Container:
        """A container of the action's own image on the isolated network (never a `network`
        annotation's bridge): the image's command serves the protocol on port 8080."""
        await self.blackbox.ready()
        name = "squall-" + uuid.uuid4().hex[:12]
        config = await asyncio.to_thread(self._create_blackbox_container, image, name, memory_mb, labels)
        container = DockerContainer(self, config, name, BLACKBOX, memory_mb, None)
        try:
            loop = asyncio.get_running_loop()
            container.follow_output(loop)
            await asyncio.to_thread(self.api.start, config)
            address, pid = await asyncio.to_thread(self._joined, config)
            try:
                await asyncio.to_thread(blackbox.remove_default_route, pid)
            except blackbox.BlackboxUnavailable:
                if not await self._running(config):  # it exited meanwhile: no namespace to enter
                    raise blackbox.BlackboxStartupError(X.ABNORMAL_INIT) from None
                raise
            container.connection = ProxyConnection(host=address, port=blackbox.PORT)
            deadline = loop.time() + START_TIMEOUT_S
            while True:  # in short steps, so that an image that exits at once is told at once
                try:
                    await container.connection.connect(min(deadline, loop.time() + 0.5))
                    break
                except ProxyGone:
                    if not await self._running(config):
                        raise blackbox.BlackboxStartupError(X.ABNORMAL_INIT) from None
                    if loop.time() > deadline:
                        raise blackbox.BlackboxStartupError(
                            f"The action's image '{image}' did not listen on port {blackbox.PORT} "
                            f"within {START_TIMEOUT_S:.0f} seconds.") from None
        except BaseException:
            await container.destroy()
            raise
        return container

    def _create_blackbox_container(self, image: str, name: str, memory_mb: int, labels: dict[str, str]) -> str:
        import docker.errors

        settings = {**hardening(memory_mb, False), "network_mode": blackbox.NETWORK, "sysctls": blackbox.SYSCTLS}
        host_config = self.api.create_host_config(**settings)
        try:  # never a pull: the image is local, as the runtime images are
            created = self.api.create_container(
                image, name=name, user=f"{ACTION_UID}:{ACTION_UID}", environment={"__OW_API_HOST": self.api_host},
                labels={"squall.kind": BLACKBOX, "squall.image": image, "squall.instance": self.instance, **labels},
                host_config=host_config)
        except docker.errors.ImageNotFound:
            raise blackbox.BlackboxStartupError(blackbox.image_pull_error(image)) from None
        return created["Id"]

    async def _running(self, container_id: str) -> bool:
        return bool((await asyncio.to_thread(self.api.inspect_container, container_id))["State"].get("Running"))

    def _joined(self, container_id: str) -> tuple[str, int]:
        """The container's address on the isolated network, and its process (for its namespace)."""
        attrs = self.api.inspect_container(container_id)
        address = (attrs["NetworkSettings"]["Networks"].get(blackbox.NETWORK) or {}).get("IPAddress")
        if not attrs["State"].get("Running"):
            raise blackbox.BlackboxStartupError(X.ABNORMAL_INIT)
        if not address:
            raise blackbox.BlackboxUnavailable(f"The blackbox container got no address on {blackbox.NETWORK}.")
        return address, int(attrs["State"]["Pid"])

    def remove(self, container_id: str) -> None:
        import docker.errors

        try:
            self.api.remove_container(container_id, force=True, v=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as ex:
            if "already in progress" not in str(ex):
                log.warning("could not remove container %s: %s", container_id[:12], ex)

    async def remove_leftovers(self, invoker_id: int) -> int:
        """Remove every container labelled with this invoker's id (at start and at stop)."""
        found = await asyncio.to_thread(
            self.api.containers, all=True,
            filters={"label": [f"{INVOKER_LABEL}={invoker_id}", f"squall.instance={self.instance}"]})
        for c in found:
            await asyncio.to_thread(self.remove, c["Id"])
        await self._remove_dirs(invoker_id)
        return len(found)



class _LogFifo:
    """One of a container's log FIFOs, read on the loop. Not through `connect_read_pipe`: uvloop
    closes a pipe's fd and then the file object it was given, which closes that fd number a
    second time; a socket another thread had just opened there (docker-py's, in the executor)
    then failed with EBADF (a CI run: a memory hog's record said whisk internal error)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int, lines: LogLines, stream: str) -> None:
        self._loop = loop
        self._fd = fd
        self._lines = lines
        self._stream = stream
        loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._lines.data(self._stream, data)
        else:
            self.close()  # no writer is left: the proxy exited

    def close(self) -> None:
        """Stop reading and close the fd, once; what was read so far ends the stream's lines."""
        if self._fd < 0:
            return
        self._loop.remove_reader(self._fd)
        os.close(self._fd)
        self._fd = -1
        self._lines.end(self._stream)
