"""uvicorn's HTTP protocols, answering the requests they cannot parse as problem+json.

A request the parser refuses (a malformed request line, a header with no colon, a
bad chunk size) never reaches the app: uvicorn answers it itself, with a plain-text
400. These subclasses keep uvicorn's behaviour (log, answer, close the connection)
and change only the answer, to the API's problem+json naming `request`, with the
security headers every answer carries. uvicorn takes the class as `Config(http=...)`.

They also give a client a deadline for a request's line and headers (uvicorn has
none: a client sending a header a byte a minute, or nothing at all after
connecting, would hold its connection for ever). Past it the answer is a 408
problem+json and the connection is closed. The clock starts when the connection
opens and when a request's first byte arrives, and stops once its headers are in;
a body, a long answer and an SSE stream are not bound by it, and idle keep-alive
connections are uvicorn's own `timeout_keep_alive`'s.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from timeline.api.edge import SECURITY_HEADERS, problem_body
from timeline.api.errors import MEDIA_TYPE

REASON = "the server could not parse this as an HTTP/1.1 request"
HEADER_TIMEOUT = 10.0  # seconds; TIMELINE_HEADER_TIMEOUT


def _answer(
    status: int = 400, kind: str = "malformed-request", reason: str = REASON
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = problem_body(status, kind, "request", reason)
    headers = [
        (b"content-type", MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *SECURITY_HEADERS,
    ]
    return headers, body


class _HeaderDeadline:
    """A deadline for a request's line and headers, on either of uvicorn's protocols."""

    header_timeout: float = HEADER_TIMEOUT
    transport: asyncio.Transport
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm(self) -> None:
        if self._deadline is None:
            loop = asyncio.get_running_loop()
            self._deadline = loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        reason = f"the request's line and headers took longer than {self.header_timeout:g} s"
        headers, body = _answer(408, "request-timeout", reason)
        lines = [b"HTTP/1.1 408 Request Timeout\r\n"]
        lines += [name + b": " + value + b"\r\n" for name, value in headers]
        self.transport.write(b"".join([*lines, b"\r\n", body]))
        self.transport.close()


class ProblemH11Protocol(_HeaderDeadline, H11Protocol):
    """h11's protocol, its own 400s as problem+json, with a deadline for headers."""

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # IDLE with bytes in: a request line or headers only partly here.
        if self.conn.their_state is h11.IDLE and self.conn.trailing_data[0]:
            self._arm()
        else:
            self._disarm()

    def send_400_response(self, msg: str) -> None:
        headers, body = _answer()
        event = h11.Response(status_code=400, headers=headers, reason=b"Bad Request")
        for part in (event, h11.Data(data=body), h11.EndOfMessage()):
            output = self.conn.send(part)
            if output:
                self.transport.write(output)
        self.transport.close()


def _httptools_protocol() -> type[asyncio.Protocol] | None:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # httptools is optional in uvicorn; h11 is always there
        return None

    class ProblemHttpToolsProtocol(_HeaderDeadline, HttpToolsProtocol):
        """httptools' protocol, its own 400s as problem+json, with a deadline for headers."""

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def send_400_response(self, msg: str) -> None:
            headers, body = _answer()
            lines = [b"HTTP/1.1 400 Bad Request\r\n"]
            for name, value in [*self.server_state.default_headers, *headers]:
                lines.append(name + b": " + value + b"\r\n")
            self.transport.write(b"".join([*lines, b"\r\n", body]))
            self.transport.close()

    return ProblemHttpToolsProtocol


def problem_protocol(header_timeout: float = HEADER_TIMEOUT) -> type[asyncio.Protocol]:
    """The class to pass as uvicorn's `http`: httptools' when installed (uvicorn's own
    choice under "auto"), else h11's; its clients get `header_timeout` seconds for a
    request's line and headers."""
    base = _httptools_protocol() or ProblemH11Protocol
    return type(base.__name__, (base,), {"header_timeout": header_timeout})
