"""What every HTTP request meets first, before any route: one pure ASGI middleware.

- **Query strings** are checked once for what no parameter may hold: a NUL
  (PostgreSQL text cannot store it), bytes that are not UTF-8, or a broken
  percent-escape. Each is a 400 problem+json naming the parameter, so no
  route ever passes such a value to the database.
- **Write bodies** must be JSON: a POST with a body whose Content-Type is not
  `application/json` (or `application/*+json`) is a 415 naming Content-Type.
- **Headers** past MAX_HEADER_BYTES in all (request line included) are a 431.
- **HEAD** is served for every GET route: the GET runs and its body is dropped,
  its headers (Content-Length, ETag) kept (RFC 9110 §9.3.2).
- **OPTIONS** answers `Allow` with the methods its path really has (HEAD with
  every GET), from the app's own routes: Litestar's automatic answer lists the
  methods of only one of the handlers that share a path.
- **Security headers** on every response: `X-Content-Type-Options: nosniff`
  and `Referrer-Policy: no-referrer`; `Vary: Origin` too when CORS is on. An
  HTML answer that sets no `Content-Security-Policy` of its own gets a
  restrictive one (`STRICT_CSP`); the docs UI (api/docs_ui.py) and the viewer
  (web/) set their own.
"""

from __future__ import annotations

import re
from http import HTTPStatus

import msgspec
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from timeline.api.errors import MEDIA_TYPE, PROBLEM_BASE

SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)

MAX_HEADER_BYTES = 16 * 1024

# Nothing but the page itself: no scripts, frames, forms, plugins or outside fetches.
STRICT_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def with_default_csp(headers: list[tuple[bytes, bytes]], path: str) -> list[tuple[bytes, bytes]]:
    """`headers` with a Content-Security-Policy when they are an HTML answer's without one."""
    html = csp = False
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"content-type" and value.lower().startswith(b"text/html"):
            html = True
        elif lowered == b"content-security-policy":
            csp = True
    if not html or csp:
        return headers
    return [*headers, (b"content-security-policy", STRICT_CSP.encode())]


def with_allow(headers: list[tuple[bytes, bytes]], methods: str) -> list[tuple[bytes, bytes]]:
    """`headers` with Allow replaced by `methods`."""
    return [(n, v) for n, v in headers if n.lower() != b"allow"] + [(b"allow", methods.encode())]


def allowed_methods(routes: dict[str, set[str]]) -> dict[str, str]:
    """Each path template's Allow value: its methods, HEAD beside GET (served by this edge)."""
    allow = {}
    for path, methods in routes.items():
        every = set(methods) | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
        allow[path] = ", ".join(sorted(every))
    return allow


_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def query_problem(query: bytes) -> tuple[str, str] | None:
    """(parameter, reason) for the first parameter no route may receive, else None."""
    for part in query.split(b"&"):
        if not part:
            continue
        raw_name, _, raw_value = part.partition(b"=")
        name = _decode(raw_name)
        shown = name if isinstance(name, str) and "\x00" not in name else "query"
        for raw in (raw_name, raw_value):
            if _ESCAPE.search(raw):
                return shown, "a broken percent-escape (use %XX)"
            text = _decode(raw)
            if text is None:
                return shown, "not UTF-8"
            if "\x00" in text:
                return shown, "must not contain NUL (%00)"
    return None


def _decode(raw: bytes) -> str | None:
    from urllib.parse import unquote_to_bytes

    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return None


def body_problem(scope: Scope) -> str | None:
    """Why a POST's body cannot be JSON, from its headers alone; None when it may be."""
    if scope.get("method") != "POST":
        return None
    content_type = length = None
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            content_type = value.decode("latin-1").split(";")[0].strip().lower()
        elif name == b"content-length":
            length = value
    if length == b"0" or content_type == "application/json":
        return None
    if content_type is not None and re.fullmatch(r"application/[\w.+-]*\+json", content_type):
        return None
    shown = content_type or "none"
    return f"send the body as application/json (got {shown})"


def problem_body(status: int, slug: str, field: str, reason: str) -> bytes:
    """A problem+json body naming `field`, for answers given before any route runs."""
    return msgspec.json.encode(
        {
            "type": PROBLEM_BASE + slug,
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": f"{field}: {reason}",
            "errors": [{"field": field, "message": reason}],
        }
    )


async def _refuse(send: Send, status: int, body: bytes) -> None:
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            *SECURITY_HEADERS,
        ],
    }
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(start)
    await send(end)


def with_vary_origin(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` with Origin in Vary (merged into a Vary already there)."""
    out, seen = [], False
    for name, value in headers:
        if name.lower() == b"vary":
            seen = True
            if b"origin" not in value.lower():
                value = value + b", Origin"
        out.append((name, value))
    return out if seen else [*out, (b"vary", b"Origin")]


def edge_middleware(
    app: ASGIApp, *, vary_origin: bool = False, allow: dict[str, str] | None = None
) -> ASGIApp:
    """Refuse unusable query strings, serve HEAD as GET without a body, add security headers;
    with `vary_origin` (CORS is on) every answer says it varies by Origin, so no shared
    cache serves one origin's answer to another. `allow` maps a route's path template to
    the Allow an OPTIONS there answers (`allowed_methods`)."""
    allow = allow or {}

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await app(scope, receive, send)
            return
        size = len(scope.get("raw_path") or b"") + len(scope.get("query_string", b""))
        size += sum(len(name) + len(value) + 4 for name, value in scope.get("headers", ()))
        if size > MAX_HEADER_BYTES:
            too_big = f"the request line and headers exceed {MAX_HEADER_BYTES} bytes"
            await _refuse(send, 431, problem_body(431, "headers-too-large", "headers", too_big))
            return
        found = query_problem(scope.get("query_string", b""))
        if found is not None:
            await _refuse(send, 400, problem_body(400, "invalid-parameter", *found))
            return
        if (reason := body_problem(scope)) is not None:
            await _refuse(
                send, 415, problem_body(415, "unsupported-media-type", "Content-Type", reason)
            )
            return
        head = scope.get("method") == "HEAD"
        options = scope.get("method") == "OPTIONS"
        if head:
            scope = {**scope, "method": "GET"}  # type: ignore[assignment]

        done = False

        async def send_secured(message: Message) -> None:
            nonlocal done
            if done:
                raise _HeadDone
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ()), *SECURITY_HEADERS]
                headers = with_default_csp(headers, scope.get("path", ""))
                methods = allow.get(scope.get("path_template", "")) if options else None
                if methods and any(name.lower() == b"allow" for name, _ in headers):
                    headers = with_allow(headers, methods)
                message["headers"] = with_vary_origin(headers) if vary_origin else headers
            elif head and message["type"] == "http.response.body":
                # The headers are all a HEAD needs: end the response at its first body
                # part, and stop the route (a stream would otherwise run on).
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                done = True
                raise _HeadDone
            await send(message)

        try:
            await app(scope, receive, send_secured)
        except Exception:
            # Litestar re-raises an error after the response started as its own (or, from
            # a stream, in an exception group): once a HEAD is answered, that is ours.
            if not done:
                raise

    return middleware


class _HeadDone(Exception):
    """Raised into the route once a HEAD's headers have gone out."""
