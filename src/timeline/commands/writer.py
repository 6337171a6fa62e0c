"""What every command needs: the engine, who is writing, and the wake-up after commit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from timeline.domain.events import Event
from timeline.projections import apply
from timeline.store.append import (
    DEFAULT_IDEMPOTENCY_TTL,
    AppendResult,
    StreamRef,
    append_to_stream,
    find_idempotent,
)
from timeline.store.codec import RecordedEvent, type_of
from timeline.store.db import begin


class WriteContext(msgspec.Struct, frozen=True, kw_only=True):
    """Who writes and how: metadata stored with the events, and the idempotency key."""

    actor: str | None = None
    request_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    idempotency_key: str | None = None
    request_hash: bytes | None = None

    def metadata(self) -> dict[str, Any]:
        return {
            name: value
            for name in ("actor", "request_id", "correlation_id", "causation_id")
            if (value := getattr(self, name)) is not None
        }


NO_CONTEXT = WriteContext()


class Writer:
    """Runs commands: owns the engine, and pokes the feed's notifier after each commit.

    The wake-up is sent after commit and from outside the writing transaction:
    a NOTIFY inside it would serialise every commit.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        on_commit: Callable[[], None] | None = None,
        idempotency_ttl: int = DEFAULT_IDEMPOTENCY_TTL,
    ) -> None:
        self.engine = engine
        self.on_commit = on_commit
        self.idempotency_ttl = idempotency_ttl

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with begin(self.engine) as conn:
            yield conn
        if self.on_commit is not None:
            self.on_commit()

    async def replayed(self, conn: AsyncConnection, ctx: WriteContext) -> AppendResult | None:
        """The first result of a repeated idempotency key, checked before deciding."""
        if ctx.idempotency_key is None or ctx.request_hash is None:
            return None
        return await find_idempotent(
            conn, ctx.idempotency_key, ctx.request_hash, ttl=self.idempotency_ttl
        )

    async def append(
        self,
        conn: AsyncConnection,
        stream: StreamRef,
        expected_version: int | None,
        events: Sequence[Event],
        ctx: WriteContext,
        *,
        timeline: str | None = None,
        use_key: bool = True,
    ) -> AppendResult:
        """Append and apply to the projections in the caller's transaction."""
        result = await append_to_stream(
            conn,
            stream,
            expected_version,
            events,
            idempotency_key=ctx.idempotency_key if use_key else None,
            idempotency_hash=ctx.request_hash if use_key else None,
            idempotency_ttl=self.idempotency_ttl,
            metadata=ctx.metadata(),
            timeline=timeline,
        )
        if result.replayed:
            return result
        assert result.recorded_at is not None
        first = result.version - len(events) + 1
        await apply(
            conn,
            [
                RecordedEvent(
                    position=position,
                    tx_id=0,  # not known here, and no projection needs it
                    stream_type=stream.type,
                    stream_id=stream.id,
                    version=first + i,
                    type=type_of(event),
                    schema_version=event.schema_version,
                    event=event,
                    metadata=ctx.metadata(),
                    timeline=timeline,
                    reported_at=None,
                    recorded_at=result.recorded_at,
                )
                for i, (position, event) in enumerate(zip(result.positions, events, strict=True))
            ],
        )
        return result
