"""A synthetic NDJSON log of any length, for the memory test and the import benchmark."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import msgspec

from timeline.domain.events import (
    AssertionRecorded,
    Event,
    SourceRegistered,
    StanceRecorded,
    TimelineOpened,
)
from timeline.domain.values import Citation, Place, Quantity
from timeline.store.codec import encode_data, type_of

BASE = datetime(2020, 10, 1, tzinfo=UTC)
STANCES_PER_ASSERTION = 4


def _line(event: Event, stream: str, version: int, timeline: str | None, i: int) -> bytes:
    stream_type = type(event).stream_type
    reported_at = getattr(event, "reported_at", None)
    if isinstance(event, SourceRegistered):
        reported_at = event.published_at
    return (
        msgspec.json.encode(
            {
                "stream_type": stream_type,
                "stream_id": stream,
                "version": version,
                "type": type_of(event),
                "schema_version": event.schema_version,
                "data": msgspec.Raw(encode_data(event).encode()),
                "metadata": {"actor": "synthetic"},
                "timeline": timeline,
                "reported_at": reported_at,
                "recorded_at": BASE + timedelta(days=400, microseconds=i),
            }
        )
        + b"\n"
    )


def synthetic_log(events: int, slug: str = "synthetic") -> Iterator[bytes]:
    """`events` NDJSON lines: a timeline, a source, then assertions each with a few stances."""
    source_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"synthetic/{slug}/source"))
    yield _line(TimelineOpened(slug=slug, title=f"Synthetic {slug}"), slug, 1, slug, 0)
    yield _line(
        SourceRegistered(source_id=source_id, publisher="Synthetic", title="a synthetic source"),
        source_id,
        1,
        None,
        1,
    )
    i = 2
    n = 0
    while i < events:
        assertion_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"synthetic/{slug}/{n}"))
        reported = BASE + timedelta(minutes=n)
        citations = (Citation(source_id=source_id, quote=f"quote {n}"),)
        yield _line(
            AssertionRecorded(
                assertion_id=assertion_id,
                timeline=slug,
                occurred=f"2020-{9 + n % 2:02d}-{1 + n % 28:02d}",
                kind="shelling",
                summary=f"Synthetic shelling number {n} of a town",
                place=Place(name=f"Town {n % 100}", lat=40.0, lon=46.5, precision="town"),
                actors=("Armenia", "Azerbaijan"),
                quantities=(Quantity(measure="killed", low=n % 7, qualifier="at least"),),
                claimant="a ministry",
                citations=citations,
                reported_at=reported,
            ),
            assertion_id,
            1,
            slug,
            i,
        )
        i += 1
        for k in range(min(STANCES_PER_ASSERTION, events - i)):
            yield _line(
                StanceRecorded(
                    assertion_id=assertion_id,
                    party=f"party {k}",
                    stance="denies" if k % 2 else "confirms",
                    statement=f"statement {k}",
                    citations=citations,
                    reported_at=reported + timedelta(hours=k + 1),
                ),
                assertion_id,
                2 + k,
                slug,
                i,
            )
            i += 1
        n += 1
