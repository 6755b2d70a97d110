"""Runtimes make containers that run the action proxy; the invoker talks to them over a socket.

A Runtime creates Containers: the process runtime (process_runtime.py) as local subprocesses, the
Docker runtime (docker_runtime.py) as hardened containers. What they share is here: the proxy
connection, the log collector, and the Container and Runtime interfaces.
"""

from __future__ import annotations

import asyncio
import functools
import datetime as dt
import hashlib
import json
import logging
import shutil
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import actionproxy, languages
from .activations import DEVELOPER_ERROR
from .errors import truncated_logs
from .jsontext import dumps, loads
from .limits import MB

log = logging.getLogger("squall.runtime")

PROXY_SOURCE = Path(actionproxy.__file__)
SENTINEL = actionproxy.SENTINEL.encode()
LOG_LINE_LIMIT = 4 * MB  # a longer line is replaced by DROPPED_LINE, in every runtime
DROPPED_LINE = f"[a log line longer than {LOG_LINE_LIMIT} bytes was dropped]"
SENTINEL_WAIT_S = 2.0  # how long logs may trail the response before we give up on the sentinels


class RuntimeUnavailable(Exception):
    """This runtime cannot run the action here (its language is not installed, its image is not
    there): the activation ends with this message and `status`, a developer error, since a whisk
    internal error would count against the invoker's health although it runs every other action."""

    status = DEVELOPER_ERROR


def proxy_launcher_args(language: languages.Language, launcher: list[str] | None) -> list[str]:
    """The proxy's arguments for a family that runs in a launcher."""
    if launcher is None:
        return []
    codes = ",".join(str(c) for c in sorted(language.oom_exit_codes))
    return ["--launcher", json.dumps(launcher), "--oom-exit-codes", codes]


class ProxyGone(Exception):
    """The proxy closed the connection or never answered: the container died."""


class ProxyConnection:
    """A minimal HTTP/1.1 client over one kept-alive connection: a unix socket (`path`), or TCP
    (`host`, `port`) for a blackbox container, which serves its own image's proxy on its address.

    One container runs one activation at a time, so one connection with no pool is all the hot path
    needs, and it avoids the per-request cost of a general client (see performance-notes.md). It is
    a protocol, not a stream pair: the answer is parsed in the one callback that brings its bytes,
    where a StreamReader took a future and a loop turn per header line.
    """

    def __init__(self, path: str | None = None, *, host: str | None = None, port: int | None = None) -> None:
        if (path is None) == (host is None or port is None):
            raise ValueError("a proxy connection needs a socket path, or a host and a port")
        self.path = path
        self.host = host
        self.port = port
        self._protocol: _ProxyProtocol | None = None

    async def _open(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        if self.path is not None:
            _, self._protocol = await loop.create_unix_connection(_ProxyProtocol, self.path)
            return
        # A container still starting may drop the SYN rather than refuse it: bound each attempt.
        attempt = max(0.05, min(1.0, deadline - loop.time()))
        _, self._protocol = await asyncio.wait_for(loop.create_connection(_ProxyProtocol, self.host, self.port),
                                                   attempt)

    async def connect(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        delay = 0.002
        # Over TCP any OSError (refused, unreachable, timed out) may be a container still starting.
        retried = (FileNotFoundError, ConnectionRefusedError) if self.path is not None else (OSError,)
        while True:
            try:
                await self._open(deadline)
                return
            except retried:
                if loop.time() > deadline:
                    raise ProxyGone("the action proxy did not start listening") from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.01)  # a cold start waits on this: do not overshoot by much

    def request(self, path: str, body: bytes, timeout_s: float) -> asyncio.Future[tuple[int, bytes]]:
        """A POST sent at once (from any callback, so the invoker can send a /run in the step
        that hands it the activation): the future of the answer's status and body, which fails
        with TimeoutError after `timeout_s` (the connection is then useless, as is the container)
        or ProxyGone if the proxy closed it; cancelling it gives the answer up."""
        protocol = self._protocol
        if protocol is None or protocol.transport is None:
            raise ProxyGone("not connected")
        loop = asyncio.get_running_loop()
        answer = protocol.answer = loop.create_future()
        timer = loop.call_later(timeout_s, _expire, answer)
        protocol.transport.write(
            b"POST %s HTTP/1.1\r\nHost: action\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (path.encode(), len(body)) + body)
        answer.add_done_callback(functools.partial(_answered, protocol, timer))
        return answer

    def close(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self._protocol = None


def _answered(protocol: _ProxyProtocol, timer: asyncio.TimerHandle, answer: asyncio.Future[tuple[int, bytes]]) -> None:
    """Scheduled before the waiting task's wakeup, so it runs first: the next request finds the
    protocol free."""
    timer.cancel()
    if protocol.answer is answer:
        protocol.answer = None


def _expire(answer: asyncio.Future[tuple[int, bytes]]) -> None:
    if not answer.done():
        answer.set_exception(TimeoutError())


class _ProxyProtocol(asyncio.Protocol):
    """Bytes in, one answer out: `answer` is the future of the request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.answer: asyncio.Future[tuple[int, bytes]] | None = None
        self._buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self.answer is None or self.answer.done():
            return
        buffer = self._buffer
        head_end = buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        try:
            start_line, length = actionproxy.read_head(buffer, head_end)
            status = int(start_line[1])
        except (ValueError, IndexError) as ex:
            self.answer.set_exception(ProxyGone(f"not an HTTP answer: {ex}"))
            return
        end = head_end + 4 + length
        if len(buffer) < end:
            return
        body = bytes(buffer[head_end + 4:end])
        del buffer[:end]
        self.answer.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ProxyGone(str(exc) if exc else "connection closed"))


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
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
            except TimeoutError:
                break
        lines, self._lines = self._lines, []
        self._ended = {"stdout": False, "stderr": False}
        return truncate_logs(lines, limit_bytes)


class LogLines:
    """A container's stdout and stderr as bytes arrive, cut into lines for its LogCollector: a
    line over LOG_LINE_LIMIT is reported dropped as soon as it is that long, and skipped to its end."""

    def __init__(self, logs: LogCollector) -> None:
        self.logs = logs
        self._partial = {"stdout": bytearray(), "stderr": bytearray()}
        self._dropping = {"stdout": False, "stderr": False}

    def data(self, stream: str, data: bytes) -> None:
        partial = self._partial[stream]
        start = 0
        while (newline := data.find(b"\n", start)) >= 0:
            if self._dropping[stream]:
                self._dropping[stream] = False
            elif partial:
                partial += data[start:newline + 1]
                self.logs.feed(stream, bytes(partial))
                partial.clear()
            else:
                self.logs.feed(stream, data[start:newline + 1])
            start = newline + 1
        if start < len(data) and not self._dropping[stream]:
            partial += data[start:]
            if len(partial) > LOG_LINE_LIMIT:
                self.logs.dropped(stream)
                partial.clear()
                self._dropping[stream] = True

    def end(self, stream: str) -> None:
        """The stream closed (the container is gone): a last line without its newline counts."""
        if self._partial[stream]:
            self.logs.feed(stream, bytes(self._partial[stream]))
            self._partial[stream].clear()
        self.logs.close(stream)


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
        return loads(self.body)


class Container(ABC):
    """One action container: a proxy the invoker initializes once and runs many times."""

    id: str
    kind: str
    memory_mb: int
    # Whether `resize` can lower its memory: not where the limit is in the language process's own
    # settings from its start (a JVM's heap), which a new limit would not reach.
    resizable = False

    def __init__(self) -> None:
        self.logs = LogCollector()
        self.connection: ProxyConnection | None = None

    async def _call(self, path: str, payload: dict[str, Any], timeout_s: float) -> RunOutcome:
        return await self.outcome(self._request(path, payload, timeout_s))

    def _request(self, path: str, payload: dict[str, Any], timeout_s: float) -> asyncio.Future[tuple[int, bytes]] | None:
        assert self.connection is not None
        try:
            return self.connection.request(path, dumps(payload), timeout_s)
        except ProxyGone:
            return None

    def run_now(self, payload: dict[str, Any], timeout_s: float) -> asyncio.Future[tuple[int, bytes]] | None:
        """`run`'s request sent at once, from any callback: await `outcome` of what it returns."""
        return self._request("/run", payload, timeout_s)

    @staticmethod
    async def outcome(answer: asyncio.Future[tuple[int, bytes]] | None) -> RunOutcome:
        if answer is None:
            return RunOutcome(gone=True)
        try:
            status, data = await answer
            return RunOutcome(status, data)
        except TimeoutError:
            return RunOutcome(timed_out=True)
        except ProxyGone:
            return RunOutcome(gone=True)

    async def init(self, payload: dict[str, Any], timeout_s: float) -> RunOutcome:
        return await self._call("/init", {"value": payload}, timeout_s)

    async def run(self, payload: dict[str, Any], timeout_s: float) -> RunOutcome:
        return await self._call("/run", payload, timeout_s)

    async def resize(self, memory_mb: int) -> None:
        """Lower the memory limit of a container nothing has run in yet, so that a prewarmed one
        serves an action that asks for less (a cold start costs ten times as much)."""
        raise NotImplementedError(f"{type(self).__name__} cannot change its memory limit")

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
                     labels: dict[str, str] | None = None, image: str | None = None) -> Container:
        """Start a container for `kind` and wait until its proxy accepts connections; `image` is a
        blackbox action's own image (kind `blackbox`), which only an isolating runtime can run."""

    async def remove_leftovers(self, invoker_id: int) -> int:
        """Remove containers a previous run of this invoker left behind."""
        return 0
