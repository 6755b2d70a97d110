"""uvicorn's HTTP protocol with a response's writes sent as one, and a whole response in one call.

uvicorn writes a response's head and its body in two `transport.write` calls, and uvloop sends
each at once: two syscalls, and a client that reads as soon as data arrives wakes twice. Here the
writes made during one step of the loop are joined and sent right after it, in one syscall. In
interleaved A/B rounds of blocking invokes at c=32 that served 10 % more (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

from ..busypoll import BusyPoll

# The ASGI scope extension (scope["extensions"]) that sends a whole response at once: await it
# with the status, the headers (Content-Length among them) and the body.
WHOLE_RESPONSE = "squall.whole_response"
# The same without waiting, from any callback: False (nothing written) while the client does not
# read what it was sent, or once it is gone or a response was started.
WHOLE_RESPONSE_NOW = "squall.whole_response_now"


class CoalescingTransport:
    """The connection's transport, its writes gathered until the loop's next callback."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._loop = asyncio.get_running_loop()  # made in connection_made, on the loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending = []
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()  # what was written goes out before the connection ends
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(p) for p in self._pending)

    def __getattr__(self, name: str) -> Any:  # reading, flow control, extra info: the transport's own
        return getattr(self._transport, name)


class CoalescingHttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, busy_poll: BusyPoll | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._busy_poll = busy_poll
        self._answered_at = 0.0  # when the last response went out, until the next request's bytes
        self._next_request_s: float | None = None  # how long this caller took to send one after a response

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport))  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        if self._answered_at:
            self._next_request_s = self.loop.time() - self._answered_at
            self._answered_at = 0.0
        super().data_received(data)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope:  # not an upgrade
            extensions = self.scope.setdefault("extensions", {})
            extensions[WHOLE_RESPONSE] = functools.partial(_send_whole, cycle)
            extensions[WHOLE_RESPONSE_NOW] = functools.partial(_write_whole, cycle)

    def on_response_complete(self) -> None:
        """A whole response goes out at once, not a loop turn later: that turn was one more
        wakeup between an answer and its caller (at c=1, one loop iteration per invoke)."""
        self.transport.flush()  # type: ignore[attr-defined]
        super().on_response_complete()
        if self._busy_poll is not None:  # a caller on a kept-alive connection may send the next one soon
            self._answered_at = self.loop.time()
            self._busy_poll.expect(self.loop, self._next_request_s)


async def _send_whole(cycle: RequestResponseCycle, status: int, headers: list[tuple[bytes, bytes]],
                      body: bytes) -> None:
    """What the cycle's two ASGI sends do for a response whose headers are the app's own and
    carry its Content-Length, without checking those headers again: the invoke route's answer
    (its two sends cost more than the rest of its writing, profiled in docs/benchmarks.md)."""
    if cycle.flow.write_paused and not cycle.disconnected:
        await cycle.flow.drain()
    if cycle.response_started:
        raise RuntimeError("a response was already started")
    _write_whole(cycle, status, headers, body)


def _write_whole(cycle: RequestResponseCycle, status: int, headers: list[tuple[bytes, bytes]],
                 body: bytes) -> bool:
    if cycle.disconnected or cycle.response_started or cycle.flow.write_paused:
        return False
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    content = [STATUS_LINE[status]]
    for name, value in (*cycle.default_headers, *headers):
        content += (name, b": ", value, b"\r\n")
    if not cycle.keep_alive:
        content.append(b"connection: close\r\n")
    content += (b"\r\n", body)
    cycle.transport.write(b"".join(content))
    cycle.response_complete = True
    cycle.message_event.set()
    if not cycle.keep_alive:
        cycle.transport.close()
    cycle.on_response()
    return True
