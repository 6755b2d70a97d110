"""The HTTP protocol Squall serves on sends a response's head and body together, keeps pipelined
responses in order, and delivers a response in full before it closes the connection."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, AsyncIterator

import pytest
import uvicorn

from backend.api.coalescing import CoalescingHttpProtocol


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = (await receive()).get("body", b"") or scope["path"].encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
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


async def test_a_response_arrives_in_one_piece(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    for _ in range(20):  # each response's first read holds its head and its body
        writer.write(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
        first = await asyncio.wait_for(reader.read(65536), 5)
        assert first.startswith(b"HTTP/1.1 200") and first.endswith(b"\r\n\r\n/one"), first
    writer.close()


async def test_pipelined_responses_stay_in_order(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n")
    data = await read_until(reader, b"\r\n\r\n/two")
    assert data.index(b"/one") < data.index(b"HTTP/1.1 200", 1) < data.index(b"/two")
    writer.close()


async def test_a_response_is_whole_before_the_connection_closes(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(b"POST /one HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello")
    data = await asyncio.wait_for(reader.read(), 5)  # to EOF: the server closed it
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\nhello"), data
    writer.close()
