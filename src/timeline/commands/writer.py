"""The one way a command runs: load, decide, append and apply, in one place.

Modelled on Emmett's `handleCommandWithDecider`: a handler names what to load
(a `Target`) and which domain decision to run; `Writer.run` does the rest, in
two round trips on one autocommit connection:

1. `load_target`: the streams the decision reads, the live projection rows the
   write will change, and the server's clock (the write's recorded_at), in one
   statement. Then the decision runs, in Python, on a snapshot of committed
   state, with no transaction open.
2. `store.append.write`: one call of `timeline_write`, its own transaction:
   the idempotency key (checked there, once, under a lock on it), the
   optimistic-concurrency check of every stream against the version loaded,
   the events, the projection rows planned from them
   (projections.write.plan_write) and the key's record, committed together.

The answer (the resource as written) is built from the rows planned for the
write, with the positions the log assigned, so nothing is read back. A decision
that refuses (a domain error, a stale If-Match) may be the replay of a request
whose first run changed what it decides on: with an idempotency key, the key is
looked up then, and a live one answers with the first result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.commands.errors import StaleVersion
from timeline.commands.load import Loaded, Target, load_target
from timeline.domain.assertions import Assertion
from timeline.domain.errors import DomainError
from timeline.domain.events import AssertionRecorded, Event
from timeline.projections.present import new_timeline_page
from timeline.projections.sources import source_view_of_row
from timeline.projections.write import Planned, plan_write, resolved, resolved_view
from timeline.store.append import (
    DEFAULT_IDEMPOTENCY_TTL,
    Append,
    AppendResult,
    Key,
    StreamRef,
    find_idempotent,
    write,
)
from timeline.store.codec import encode_data
from timeline.store.db import connect

S = TypeVar("S")


class WriteContext(msgspec.Struct, frozen=True, kw_only=True):
    """Who writes and how: metadata stored with the events, and the idempotency key."""

    actor: str | None = None
    request_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    idempotency_key: str | None = None
    request_hash: bytes | None = None
    # Whose key it is (the API key's actor): keys are scoped by it, never global.
    idempotency_owner: str = ""

    def metadata(self) -> dict[str, Any]:
        return {
            name: value
            for name in ("actor", "request_id", "correlation_id", "causation_id")
            if (value := getattr(self, name)) is not None
        }


NO_CONTEXT = WriteContext()


class Reaction(msgspec.Struct, frozen=True, kw_only=True):
    """Events a policy appends to another loaded stream, in the same write as the command's."""

    stream: StreamRef
    events: Sequence[Event]
    causation_id: str


class Written(AppendResult, frozen=True, kw_only=True):
    """The write's result, and `view`: the JSON of the resource as written.

    `view` is None for a replay (nothing was written: the caller reads the
    resource at the first write's recorded_at) and for a resource the write
    does not hold whole (a retitled timeline's page of assertions).
    """

    view: bytes | None = None


Decide = Callable[[Loaded[S]], Sequence[Event]]
React = Callable[[Loaded[S]], Iterable[Reaction]]

_view_encoder = msgspec.json.Encoder()


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
        # Each of the two statements is a transaction of its own: no BEGIN, no COMMIT.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def run(
        self,
        target: Target[S],
        decide: Decide[S],
        ctx: WriteContext = NO_CONTEXT,
        *,
        react: React[S] | None = None,
    ) -> Written:
        """Load `target`, decide, and write the events with their projection rows."""
        async with connect(self._autocommit) as conn:
            loaded = await load_target(conn, target)
            try:
                expected = target.expected_version
                if expected is not None and loaded.state is not None and expected != loaded.version:
                    raise StaleVersion(expected, loaded.version)
                events = decide(loaded)
            except (DomainError, StaleVersion):
                if (first := await self._first_result(conn, ctx)) is not None:
                    return first
                raise
            appends = [_append(target.stream, loaded, loaded.state, events, ctx.metadata())]
            for reaction in react(loaded) if react is not None else ():
                if reaction.events:
                    because = _reaction_context(ctx, reaction.causation_id)
                    state = loaded.citing.get(reaction.stream.id)
                    appends.append(
                        _append(reaction.stream, loaded, state, reaction.events, because)
                    )
            planned = plan_write(loaded.read, appends)
            result = await write(
                conn,
                appends,
                recorded_at=loaded.read.clock,
                key=self._key(ctx),
                rows=planned.rows,
            )
        if result.replayed:
            return Written(**msgspec.structs.asdict(result))
        if self.on_commit is not None:
            self.on_commit()
        view = _answer(target.stream, planned, result, opened=loaded.version == 0)
        return Written(**msgspec.structs.asdict(result), view=view)

    def _key(self, ctx: WriteContext) -> Key | None:
        if ctx.idempotency_key is None or ctx.request_hash is None:
            return None
        return Key(
            ctx.idempotency_key, ctx.request_hash, self.idempotency_ttl, ctx.idempotency_owner
        )

    async def _first_result(self, conn: Any, ctx: WriteContext) -> Written | None:
        """The first result of a live idempotency key (IdempotencyKeyReused on other content)."""
        key = self._key(ctx)
        if key is None:
            return None
        found = await find_idempotent(conn, key.key, key.request_hash, ttl=key.ttl, owner=key.owner)
        return None if found is None else Written(**msgspec.structs.asdict(found))


def _append(
    stream: StreamRef,
    loaded: Loaded[Any],
    state: object,
    events: Sequence[Event],
    metadata: dict[str, Any],
) -> Append:
    """Events for `stream` after the version loaded, each encoded once."""
    return Append(
        stream=stream,
        expected=loaded.version_of(stream),
        events=events,
        data=[encode_data(e) for e in events],
        metadata=metadata,
        timeline=_timeline_of(stream, state, events),
    )


def _timeline_of(stream: StreamRef, state: object, events: Sequence[Event]) -> str | None:
    """The timeline an event belongs to, stored with it for the feed's filter."""
    if stream.type == "timeline":
        return stream.id
    if stream.type == "assertion":
        if isinstance(state, Assertion):
            return state.timeline
        if events and isinstance(events[0], AssertionRecorded):
            return events[0].timeline
    return None


def _reaction_context(ctx: WriteContext, causation_id: str) -> dict[str, Any]:
    return WriteContext(
        actor=ctx.actor,
        request_id=ctx.request_id,
        correlation_id=ctx.correlation_id or ctx.request_id,
        causation_id=causation_id,
    ).metadata()


def _answer(
    stream: StreamRef, planned: Planned, result: AppendResult, *, opened: bool
) -> bytes | None:
    """The resource the write leaves, as JSON: its planned row with the positions assigned."""
    row = planned.written.get(stream)
    if row is None:
        return None
    positions = [e.position for e in result.events]
    if stream.type == "assertion":
        return resolved_view(row["view"], row["last_position"], positions).encode()
    row = {**row, "last_position": resolved(row["last_position"], positions)}
    if stream.type == "source":
        return _view_encoder.encode(source_view_of_row(row))
    if opened:
        return _view_encoder.encode(new_timeline_page(row))
    return None
