"""What every write route shares: its WriteContext, and the 201 it answers."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import msgspec
from litestar import Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.api.auth import actor_of
from timeline.api.caching import cached
from timeline.api.errors import ApiProblem, request_id_of
from timeline.api.replicas import position_header
from timeline.api.state import Reader
from timeline.commands.writer import WriteContext, Written
from timeline.projections.temporal import Temporal
from timeline.store.append import request_hash

T = TypeVar("T")

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def write_context(request: Request[Any, Any, Any], body: msgspec.Struct | None) -> WriteContext:
    """Who writes, the request id, and the idempotency key with a hash of the request."""
    key = request.headers.get("idempotency-key")
    if key is not None and not _KEY.match(key):
        raise ApiProblem(
            400,
            "invalid-idempotency-key",
            "1-255 visible ASCII characters",
            field="Idempotency-Key",
        )
    content = None if body is None else msgspec.to_builtins(body)
    if (where := _nul_at(content)) is not None:
        raise ApiProblem(400, "invalid-text", "text must not contain NUL (\\u0000)", field=where)
    digest = None
    if key is not None:
        digest = request_hash(request.method, request.url.path, content)
    actor = actor_of(request)
    return WriteContext(
        actor=actor,
        request_id=request_id_of(request),
        idempotency_key=key,
        request_hash=digest,
        # Scoped by the API key: another key's same Idempotency-Key is another key.
        idempotency_owner=actor or "",
    )


def _nul_at(value: Any, path: str = "") -> str | None:
    """The path of the first string holding NUL, which PostgreSQL text cannot store."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        items: Any = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for where, item in items:
        if (found := _nul_at(item, where)) is not None:
            return found
    return None


def now() -> datetime:
    """The server's clock, for a `reported_at` or `withdrawn_at` the client left out."""
    return datetime.now(UTC)


async def created(
    reader: Reader,
    result: Written,
    read: Callable[[AsyncConnection, str, Temporal], Awaitable[T | None]],
    location: str,
    *,
    status_code: int = 201,
) -> Response[T]:
    """The resource as this write left it, 201 with a Location.

    A write answers with the view it wrote, as it wrote it (no read, no
    re-encoding). A replayed request wrote nothing: the resource is read at the
    first write's own system time, so it answers exactly what its first run
    answered, whatever came after.
    """
    body: Any = None if result.view is None else msgspec.Raw(result.view)
    if body is None:
        async with reader.read_primary() as conn:
            body = await read(conn, result.stream.id, Temporal(recorded_at=result.recorded_at))
        if body is None:
            raise RuntimeError(f"{result.stream} was written but cannot be read back")
    return cast(
        Response[T],
        cached(
            body,
            None,
            version=result.version,
            status_code=status_code,
            # Its position: a read sending it back as min_position sees this write.
            headers={"Location": location, **position_header(result.positions)},
        ),
    )
