"""What every write route shares: its declaration, its WriteContext, the 201 it answers,
and the `new` and `change` dependencies that run its command."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.api.auth import actor_of, require_write
from timeline.api.caching import cached, if_match_version
from timeline.api.docs import IdempotencyKey, IfMatch
from timeline.api.errors import ApiProblem, request_id_of
from timeline.api.replicas import position_header
from timeline.api.state import Reader
from timeline.commands.writer import WriteContext, Writer, Written
from timeline.projections.temporal import Temporal
from timeline.store.append import request_hash

T = TypeVar("T")
C = TypeVar("C")

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


def write_route(
    path: str, summary: str, operation_id: str, responses: dict[int, ResponseSpec]
) -> post:
    """What every write route declares: its path, summary and operation id, the write
    guard, its errors and the bearer key."""
    return post(
        path,
        summary=summary,
        operation_id=operation_id,
        guards=[require_write],
        responses=responses,
        security=[{"bearer": []}],
    )


@dataclass(frozen=True)
class Write:
    """What a write route runs its command with (a dependency: `new` or `change`)."""

    request: Request[Any, Any, Any]
    writer: Writer
    reader: Reader
    if_match: str | None = None

    async def new(
        self,
        handler: Callable[[Writer, C, WriteContext], Awaitable[Written]],
        cmd: C,
        body: msgspec.Struct,
        read: Callable[[AsyncConnection, str, Temporal], Awaitable[T | None]],
        path: str,
    ) -> Response[T]:
        """Run a command that makes a stream; 201 at `path` + the new stream's id."""
        result = await handler(self.writer, cmd, write_context(self.request, body))
        return await created(self.reader, result, read, path + result.stream.id)

    async def change(
        self,
        handler: Callable[[Writer, C, WriteContext, int | None], Awaitable[Written]],
        cmd: C,
        body: msgspec.Struct,
        read: Callable[[AsyncConnection, str, Temporal], Awaitable[T | None]],
        path: str,
        *,
        required: bool = False,
    ) -> Response[T]:
        """Run a command on an existing stream, at the version If-Match names (if any)."""
        # A revision must send If-Match: without it, 428 before the body is looked at.
        expected = if_match_version(self.if_match, required=True) if required else None
        ctx = write_context(self.request, body)
        if not required:
            expected = if_match_version(self.if_match, required=False)
        result = await handler(self.writer, cmd, ctx, expected)
        return await created(self.reader, result, read, path + result.stream.id)


def provide_new(
    request: Request[Any, Any, Any],
    writer: NamedDependency[Writer],
    reader: NamedDependency[Reader],
    idempotency_key: IdempotencyKey = None,
) -> Write:
    """A write that makes a stream: it may carry an Idempotency-Key."""
    return Write(request, writer, reader)


def provide_change(
    request: Request[Any, Any, Any],
    writer: NamedDependency[Writer],
    reader: NamedDependency[Reader],
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Write:
    """A write to an existing stream: If-Match and an Idempotency-Key, both optional here."""
    return Write(request, writer, reader, if_match)


WRITES = {
    "new": Provide(provide_new, sync_to_thread=False),
    "change": Provide(provide_change, sync_to_thread=False),
}
