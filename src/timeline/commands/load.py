"""Load aggregates by folding their streams: the write path's source of truth.

A command names what it loads with a `Target`: the stream it writes (its
aggregate) and what else its decision reads (the timeline, the sources cited,
the assertions citing a source). `load_target` reads all of it, with the live
projection rows the write will change and the server's clock, in one round
trip (projections.write.load_for_write), and folds each stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.domain import assertions, sources, timelines
from timeline.domain.assertions import Assertion
from timeline.domain.events import AssertionEvent, SourceEvent, TimelineEvent
from timeline.domain.sources import Source
from timeline.domain.timelines import Timeline
from timeline.projections.write import ForWrite, load_for_write
from timeline.store.append import StreamRef
from timeline.store.codec import RecordedEvent
from timeline.store.read import read_stream, read_streams

S = TypeVar("S")


def timeline_stream(slug: str) -> StreamRef:
    return StreamRef("timeline", slug)


def source_stream(source_id: str) -> StreamRef:
    return StreamRef("source", source_id)


def assertion_stream(assertion_id: str) -> StreamRef:
    return StreamRef("assertion", assertion_id)


def _timeline(recorded: Sequence[RecordedEvent]) -> Timeline | None:
    return timelines.fold(cast(TimelineEvent, r.event) for r in recorded)


def _source(recorded: Sequence[RecordedEvent]) -> Source | None:
    return sources.fold(cast(SourceEvent, r.event) for r in recorded)


def _assertion(recorded: Sequence[RecordedEvent]) -> Assertion | None:
    return assertions.fold((r.version, cast(AssertionEvent, r.event)) for r in recorded)


@dataclass(frozen=True)
class Target(Generic[S]):
    """What a command loads: the stream it writes, how to fold it, and what else it reads.

    `expected_version` is the version the writer saw (If-Match), checked
    against the loaded stream before deciding; `citing` loads every assertion
    whose current citations include that source.
    """

    stream: StreamRef
    fold: Callable[[Sequence[RecordedEvent]], S | None]
    expected_version: int | None = None
    timelines: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    citing: str | None = None


def timeline_target(slug: str, expected_version: int | None = None) -> Target[Timeline]:
    return Target(timeline_stream(slug), _timeline, expected_version)


def source_target(
    source_id: str,
    expected_version: int | None = None,
    *,
    sources: Iterable[str] = (),
    citing: str | None = None,
) -> Target[Source]:
    return Target(
        source_stream(source_id),
        _source,
        expected_version,
        sources=tuple(sources),
        citing=citing,
    )


def assertion_target(
    assertion_id: str,
    expected_version: int | None = None,
    *,
    timelines: Iterable[str] = (),
    sources: Iterable[str] = (),
) -> Target[Assertion]:
    return Target(
        assertion_stream(assertion_id),
        _assertion,
        expected_version,
        timelines=tuple(timelines),
        sources=tuple(sources),
    )


@dataclass(frozen=True)
class Loaded(Generic[S]):
    """What a decision reads: the target's state and version, and the aggregates it named."""

    state: S | None
    version: int
    timelines: dict[str, Timeline | None]
    sources: dict[str, Source | None]
    citing: dict[str, Assertion]
    read: ForWrite  # the events and live rows as read, for the write's projection rows

    def version_of(self, stream: StreamRef) -> int:
        """The last version of a stream this load read (0: none)."""
        recorded = self.read.streams.get(stream)
        return recorded[-1].version if recorded else 0


async def load_target(conn: AsyncConnection, target: Target[S]) -> Loaded[S]:
    """Everything `target` names, folded, in one round trip."""
    wanted = [
        target.stream,
        *map(timeline_stream, target.timelines),
        *map(source_stream, target.sources),
    ]
    read = await load_for_write(conn, wanted, citing=target.citing)
    streams = read.streams
    own = streams[target.stream]
    citing: dict[str, Assertion] = {}
    for stream, recorded in streams.items():
        if stream.type == "assertion" and stream not in wanted and recorded:
            state = _assertion(recorded)
            if state is not None:
                citing[stream.id] = state
    return Loaded(
        state=target.fold(own),
        version=own[-1].version if own else 0,
        timelines={slug: _timeline(streams[timeline_stream(slug)]) for slug in target.timelines},
        sources={sid: _source(streams[source_stream(sid)]) for sid in target.sources},
        citing=citing,
        read=read,
    )


# -- single aggregates, outside a command (the demo loader, the CLI) -----------


async def load_timeline(conn: AsyncConnection, slug: str) -> Timeline | None:
    return _timeline(await read_stream(conn, timeline_stream(slug)))


async def load_source(conn: AsyncConnection, source_id: str) -> Source | None:
    return _source(await read_stream(conn, source_stream(source_id)))


async def load_assertion(conn: AsyncConnection, assertion_id: str) -> Assertion | None:
    return _assertion(await read_stream(conn, assertion_stream(assertion_id)))


class Many(msgspec.Struct, frozen=True, kw_only=True):
    """Aggregates by id, None for those that do not exist."""

    timelines: dict[str, Timeline | None]
    sources: dict[str, Source | None]
    assertions: dict[str, Assertion | None]


async def load_many(
    conn: AsyncConnection,
    *,
    timeline_slugs: Iterable[str] = (),
    source_ids: Iterable[str] = (),
    assertion_ids: Iterable[str] = (),
) -> Many:
    """Every named aggregate, folded from streams read in one round trip."""
    slugs, source_set, assertion_set = set(timeline_slugs), set(source_ids), set(assertion_ids)
    streams = await read_streams(
        conn,
        [
            *map(timeline_stream, slugs),
            *map(source_stream, source_set),
            *map(assertion_stream, assertion_set),
        ],
    )
    return Many(
        timelines={slug: _timeline(streams[timeline_stream(slug)]) for slug in slugs},
        sources={sid: _source(streams[source_stream(sid)]) for sid in source_set},
        assertions={aid: _assertion(streams[assertion_stream(aid)]) for aid in assertion_set},
    )
