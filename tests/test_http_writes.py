"""The HTTP protocol Squall serves on sends a response's head and body together, keeps pipelined
responses in order, and delivers a response in full before it closes the connection; so does its
whole-response extension (the invoke route's answer)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, AsyncIterator

import pytest
import uvicorn

from backend.api.coalescing import WHOLE_RESPONSE, CoalescingHttpProtocol


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Echoes the body (or the path); a path under /whole answers through the extension."""
    body = (await receive()).get("body", b"") or scope["path"].encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    if scope["path"].startswith("/whole"):
        await scope["extensions"][WHOLE_RESPONSE](200, headers, body)
        return
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
async def server() -> AsyncIterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", loop="none", http=CoalescingHttpProtocol)
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve(sockets=[sock]))
    while not srv.started:
        await asyncio.sleep(0.01)
    yield sock.getsockname()[1]
    srv.should_exit = True
    await task


async def read_until(reader: asyncio.StreamReader, end: bytes) -> bytes:
    data = b""
    while not data.endswith(end):
        chunk = await asyncio.wait_for(reader.read(65536), 5)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    return data


@pytest.mark.parametrize("path", [b"/one", b"/whole"])
async def test_a_response_arrives_in_one_piece(server: int, path: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    for _ in range(20):  # each response's first read holds its head and its body
        writer.write(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path)
        first = await asyncio.wait_for(reader.read(65536), 5)
        assert first.startswith(b"HTTP/1.1 200") and first.endswith(b"\r\n\r\n" + path), first
        head = first.split(b"\r\n\r\n")[0].lower()
        assert b"\r\ndate: " in head and head.count(b"content-length") == 1, head
    writer.close()


@pytest.mark.parametrize("first,second", [(b"/one", b"/two"), (b"/whole1", b"/whole2"), (b"/whole1", b"/two")])
async def test_pipelined_responses_stay_in_order(server: int, first: bytes, second: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\nGET %s HTTP/1.1\r\nHost: x\r\n\r\n" % (first, second))
    data = await read_until(reader, b"\r\n\r\n" + second)
    assert data.index(first) < data.index(b"HTTP/1.1 200", 1) < data.index(second)
    writer.close()


@pytest.mark.parametrize("request_line,header", [(b"POST /one HTTP/1.1", b"Connection: close\r\n"),
                                                 (b"POST /whole HTTP/1.1", b"Connection: close\r\n"),
                                                 (b"POST /whole HTTP/1.0", b"")])
async def test_a_response_is_whole_before_the_connection_closes(server: int, request_line: bytes,
                                                                header: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(request_line + b"\r\nHost: x\r\n" + header + b"Content-Length: 5\r\n\r\nhello")
    data = await asyncio.wait_for(reader.read(), 5)  # to EOF: the server closed it
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\nhello"), data
    assert b"\r\nconnection: close\r\n" in data.lower()
    writer.close()


async def test_a_body_sent_after_100_continue_reaches_the_app(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(b"POST /whole HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
    assert await read_until(reader, b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(b"hello")
    data = await read_until(reader, b"hello")
    assert data.startswith(b"HTTP/1.1 200"), data
    writer.close()
