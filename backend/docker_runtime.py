"""The Docker runtime: each action container is a hardened Docker container running the proxy.

The invoker reaches the proxy over a unix socket in a bind-mounted directory (never the container's
IP: most containers have no network at all), and reads the container's stdout and stderr through
an attach stream. The docker SDK blocks, so every call runs in a thread, never on the event loop.
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

from . import languages
from .images import ACTION_UID, PROXY_PATH_IN_IMAGE, SOCKET_DIR, image_is_current, proxy_version
from .kinds import DEFAULT_KIND, image_of
from .runtimes import INVOKER_LABEL, LOG_LINE_LIMIT, Container, ProxyConnection, Runtime, proxy_launcher_args

log = logging.getLogger("squall.docker")

PIDS_LIMIT = 64
TMPFS_SIZE = "64m"
LOG_MAX_SIZE = "10m"
START_TIMEOUT_S = 30.0


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
        "mem_limit": f"{memory_mb}m",
        "memswap_limit": f"{memory_mb}m",
        "ulimits": [docker.types.Ulimit(name="nofile", soft=1024, hard=1024)],
        "log_config": docker.types.LogConfig(type="json-file",
                                             config={"max-size": LOG_MAX_SIZE, "max-file": "1"}),
    }


class DockerContainer(Container):
    def __init__(self, runtime: "DockerRuntime", container_id: str, name: str, kind: str, memory_mb: int,
                 directory: Path) -> None:
        super().__init__()
        self.runtime = runtime
        self.docker_id = container_id
        self.id = name
        self.kind = kind
        self.memory_mb = memory_mb
        self.directory = directory
        self._destroyed = False

    def follow_output(self, loop: asyncio.AbstractEventLoop) -> None:
        """Stream stdout and stderr into the log collector from a thread of its own."""
        stream = self.runtime.api.attach(self.docker_id, stdout=True, stderr=True, stream=True, logs=True,
                                         demux=True)

        def pump() -> None:
            partial = {"stdout": b"", "stderr": b""}
            skipping = {"stdout": False, "stderr": False}  # inside a line already reported as dropped
            try:
                for out, err in stream:
                    for name, data in (("stdout", out), ("stderr", err)):
                        if not data:
                            continue
                        lines = (partial[name] + data).split(b"\n")
                        partial[name] = lines.pop()
                        for line in lines:
                            if skipping[name]:
                                skipping[name] = False
                                continue
                            loop.call_soon_threadsafe(self.logs.feed, name, line + b"\n")
                        if len(partial[name]) > LOG_LINE_LIMIT and not skipping[name]:
                            loop.call_soon_threadsafe(self.logs.dropped, name)
                            partial[name], skipping[name] = b"", True
                        elif skipping[name]:
                            partial[name] = b""
            except Exception:  # the container went away mid-stream
                pass
            finally:
                for name in ("stdout", "stderr"):
                    if partial[name]:
                        loop.call_soon_threadsafe(self.logs.feed, name, partial[name] + b"\n")
                    try:
                        loop.call_soon_threadsafe(self.logs.close, name)
                    except RuntimeError:  # the loop is closed: nobody waits for these logs
                        pass

        threading.Thread(target=pump, name=f"logs-{self.id}", daemon=True).start()

    async def out_of_memory(self) -> bool:
        for _ in range(20):
            state = (await asyncio.to_thread(self.runtime.api.inspect_container, self.docker_id))["State"]
            if not state.get("Running"):
                return bool(state.get("OOMKilled"))
            await asyncio.sleep(0.05)
        return False

    async def destroy(self) -> None:
        if self._destroyed:
            return
        self._destroyed = True
        if self.connection is not None:
            self.connection.close()
        await asyncio.to_thread(self.runtime.remove, self.docker_id)
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

    @staticmethod
    def unavailable_reason() -> str | None:
        """None when the engine answers and the python:3 image is present and current."""
        try:
            import docker

            client = docker.from_env(timeout=3)
            client.ping()
        except Exception as ex:
            return f"no Docker engine answers ({str(ex).splitlines()[0][:100]})"
        image = image_of(DEFAULT_KIND)
        if not image_is_current(client, image):
            return (f"the runtime image {image} (proxy {proxy_version()}) is missing or stale; "
                    "build it with `squall runtime build`")
        return None

    async def create(self, kind: str, memory_mb: int, *, network: bool = False,
                     labels: dict[str, str] | None = None) -> Container:
        image = image_of(kind)
        name = "squall-" + uuid.uuid4().hex[:12]
        directory = self.container_dir(name, labels)
        directory.mkdir(parents=True)
        os.chown(directory, ACTION_UID, ACTION_UID)
        language = languages.of_kind(kind)
        command = None
        launcher = language.launcher(memory_mb, in_image=True)
        if launcher is not None:  # the image's own command, with this container's memory in it
            command = ["python3", "-u", "-s", PROXY_PATH_IN_IMAGE, "--socket", f"{SOCKET_DIR}/action.sock",
                       *proxy_launcher_args(language, launcher)]
        config = await asyncio.to_thread(self._create, image, name, directory, kind, memory_mb, network,
                                         labels or {}, command)
        container = DockerContainer(self, config, name, kind, memory_mb, directory)
        try:
            container.follow_output(asyncio.get_running_loop())
            await asyncio.to_thread(self.api.start, config)
            container.connection = ProxyConnection(str(directory / "action.sock"))
            await container.connection.connect(asyncio.get_running_loop().time() + START_TIMEOUT_S)
        except BaseException:
            await container.destroy()
            raise
        return container

    def _create(self, image: str, name: str, directory: Path, kind: str, memory_mb: int, network: bool,
                labels: dict[str, str], command: list[str] | None) -> str:
        host_config = self.api.create_host_config(
            binds={str(directory): {"bind": SOCKET_DIR, "mode": "rw"}}, **hardening(memory_mb, network))
        created = self.api.create_container(
            image, command=command, name=name, user=f"{ACTION_UID}:{ACTION_UID}",
            environment={"__OW_API_HOST": self.api_host},
            labels={"squall.kind": kind, "squall.instance": self.instance, **labels}, host_config=host_config)
        return created["Id"]

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

