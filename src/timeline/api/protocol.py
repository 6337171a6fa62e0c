"""uvicorn's HTTP protocols, answering the requests they cannot parse as problem+json.

A request the parser refuses (a malformed request line, a header with no colon, a
bad chunk size) never reaches the app: uvicorn answers it itself, with a plain-text
400. These subclasses keep uvicorn's behaviour (log, answer, close the connection)
and change only the answer, to the API's problem+json naming `request`, with the
security headers every answer carries. uvicorn takes the class as `Config(http=...)`.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from timeline.api.edge import SECURITY_HEADERS, problem_body
from timeline.api.errors import MEDIA_TYPE

REASON = "the server could not parse this as an HTTP/1.1 request"


def _answer() -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = problem_body(400, "malformed-request", "request", REASON)
    headers = [
        (b"content-type", MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *SECURITY_HEADERS,
    ]
    return headers, body


class ProblemH11Protocol(H11Protocol):
    """h11's protocol, its own 400s as problem+json."""

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

    class ProblemHttpToolsProtocol(HttpToolsProtocol):
        """httptools' protocol, its own 400s as problem+json."""

        def send_400_response(self, msg: str) -> None:
            headers, body = _answer()
            lines = [b"HTTP/1.1 400 Bad Request\r\n"]
            for name, value in [*self.server_state.default_headers, *headers]:
                lines.append(name + b": " + value + b"\r\n")
            self.transport.write(b"".join([*lines, b"\r\n", body]))
            self.transport.close()

    return ProblemHttpToolsProtocol


def problem_protocol() -> type[asyncio.Protocol]:
    """The class to pass as uvicorn's `http`: httptools' when installed (uvicorn's own
    choice under "auto"), else h11's."""
    return _httptools_protocol() or ProblemH11Protocol
