"""Request ids and structured access logs, as one pure ASGI middleware.

Every response carries `X-Request-ID` (the client's, when it sent a sane one);
every request is logged once on the `timeline.access` logger, its fields in
`record.fields` (rendered as one JSON line by `timeline.api.logs`).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("timeline.access")

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# Query parameters that may carry a credential: their values never reach a log.
_SECRET = re.compile(
    r"(?i)(^|&)((?:api[_-]?)?key|token|access[_-]?token|secret|password|authorization|auth)=[^&]*"
)


def redacted(query: str) -> str:
    """The query string with credential values replaced: `key=[redacted]`."""
    return _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}=[redacted]", query)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE_ID.match(text) else None
    return None


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Give each HTTP request an id, echo it in X-Request-ID, and log the request once."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        header = request_id.encode()
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", header))
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "request", extra={"fields": _fields(scope, status, request_id, started)}
                )

    return middleware


def _fields(scope: Scope, status: int, request_id: str, started: float) -> dict[str, Any]:
    client = scope.get("client")
    entry: dict[str, Any] = {
        "event": "request",
        "request_id": request_id,
        "method": scope.get("method"),
        "path": scope.get("path"),
        "query": redacted(scope.get("query_string", b"").decode("latin-1")),
        "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 2),
        "client": client[0] if client else None,
    }
    return entry
