"""What the HTTP server answers itself, before the app: unparseable requests, as problem+json.

Against `timeline serve` (a real uvicorn on a socket), and against uvicorn's h11
protocol in-process, since a machine without httptools runs that one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import select
import socket
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn

from tests.faults.server import serve
from timeline.api.protocol import ProblemH11Protocol, problem_protocol

MALFORMED = [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
    b"POST /v1/timelines HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
]


def _exchange(host: str, port: int, raw: bytes) -> bytes:
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _parse(answer: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return int(status_line.split()[1]), headers, json.loads(body)


def _assert_problem(answer: bytes, raw: bytes) -> None:
    status, headers, body = _parse(answer)
    assert status == 400, (raw, answer)
    assert headers["content-type"] == "application/problem+json", (raw, headers)
    assert headers["x-content-type-options"] == "nosniff"
    assert body["status"] == 400
    assert [e["field"] for e in body["errors"]] == ["request"], body


def test_timeline_serve_answers_an_unparseable_request_with_problem_json(
    database_url: str,
) -> None:
    with serve(database_url) as server:
        url = urlsplit(server.base)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        for raw in MALFORMED:
            _assert_problem(_exchange(host, port, raw), raw)
        # and it goes on serving
        ok = _exchange(host, port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert ok.startswith(b"HTTP/1.1 200"), ok


async def _hello(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@contextlib.asynccontextmanager
async def _uvicorn(protocol: type[asyncio.Protocol]) -> AsyncIterator[int]:
    config = uvicorn.Config(_hello, host="127.0.0.1", port=0, http=protocol, log_level="error")
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no started event
        await asyncio.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await task


@pytest.mark.parametrize("protocol", [ProblemH11Protocol, problem_protocol()])
async def test_each_parser_answers_its_own_400s_with_problem_json(
    protocol: type[asyncio.Protocol],
) -> None:
    async with _uvicorn(protocol) as port:
        for raw in MALFORMED:
            answer = await asyncio.to_thread(_exchange, "127.0.0.1", port, raw)
            _assert_problem(answer, raw)


def _slow(host: str, port: int, parts: list[bytes], pause: float) -> tuple[bytes, float]:
    """Send `parts` `pause` seconds apart (stopping once the server has answered), then
    read until it closes; the answer and how long the connection lived."""
    start = time.monotonic()
    with socket.create_connection((host, port), timeout=30) as sock:
        for part in parts:
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered (or closed): stop sending
            sock.sendall(part)
            time.sleep(pause)
        chunks = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks), time.monotonic() - start


def _assert_timed_out(answer: bytes) -> None:
    status, headers, body = _parse(answer)
    assert status == 408, answer
    assert headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in body["errors"]] == ["request"], body


SLOWLORIS = [b"GET /health HTTP/1.1\r\n", b"Host: x\r\n", b"X-A: 1\r\n", b"X-B: 2\r\n"]


@pytest.mark.parametrize(
    "protocol", [ProblemH11Protocol, problem_protocol()], ids=["h11", "default"]
)
async def test_a_client_slow_with_its_headers_gets_a_408_and_is_dropped(
    protocol: type[asyncio.Protocol],
) -> None:
    """Headers a line every 0.4 s, with 1 s allowed: dropped with a 408 at about 1 s, not
    served when they finally end; a client that sends nothing at all is dropped too."""
    bound = type("Bound", (protocol,), {"header_timeout": 1.0})
    async with _uvicorn(bound) as port:
        answer, lived = await asyncio.to_thread(_slow, "127.0.0.1", port, SLOWLORIS * 3, 0.4)
        _assert_timed_out(answer)
        assert lived < 8, lived  # dropped, not held while the client dribbles on
        silent, lived = await asyncio.to_thread(_slow, "127.0.0.1", port, [], 0)
        _assert_timed_out(silent)
        # A client that sends its headers in time is served, however it splits them.
        ok, _ = await asyncio.to_thread(
            _slow, "127.0.0.1", port, [*SLOWLORIS[:2], b"Connection: close\r\n\r\n"], 0.2
        )
        assert ok.startswith(b"HTTP/1.1 200"), ok


def test_timeline_serve_drops_slow_headers_but_not_a_long_stream(database_url: str) -> None:
    """The deadline is for headers only: an SSE stream outlives it."""
    with serve(database_url, TIMELINE_HEADER_TIMEOUT="1") as server:
        url = urlsplit(server.base)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        answer, _ = _slow(host, port, SLOWLORIS * 3, 0.4)
        _assert_timed_out(answer)
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(b"GET /v1/events/stream HTTP/1.1\r\nHost: x\r\n\r\n")
            first = sock.recv(65536)
            assert first.startswith(b"HTTP/1.1 200"), first
            time.sleep(2.5)  # past the header deadline: the stream is still open
            sock.sendall(b"")
            sock.settimeout(0.5)
            with contextlib.suppress(TimeoutError):
                assert sock.recv(65536) != b""  # a heartbeat, or nothing yet; never EOF
