"""Stored views: each projection row's `view` is its state's view as the API documents it,
and a page serves them byte for byte.

The expected views are made here, by hand, from the domain's own fold of the
events in the log: not with the projection code that wrote them.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.projections.world import World, at, killed
from timeline.commands.writer import Writer
from timeline.domain import assertions as domain
from timeline.projections.temporal import Temporal
from timeline.projections.timelines import get_timeline_json
from timeline.store.append import StreamRef
from timeline.store.codec import RecordedEvent
from timeline.store.read import read_stream

_state = msgspec.json.Decoder(domain.Assertion)
# The fields of an assertion as DESIGN §5 and the OpenAPI document list them, in order.
_PAGE_FIELDS = [
    "slug",
    "title",
    "description",
    "region",
    "version",
    "assertions",
    "next_cursor",
    "last_position",
]


async def _world(writer: Writer) -> tuple[World, list[str], Temporal]:
    world = await World(writer).open()
    ids = [
        await world.record(at(5), occurred=f"2020-10-{day:02d}", quantities=killed(day))
        for day in (3, 1, 2)
    ]
    await world.revise(ids[0], at(9), quantities=killed(30), reason="update")
    await world.revise(ids[0], at(7), quantities=killed(20), reason="backfill")
    await world.stance(ids[1], at(8), "denies")
    await world.retract(ids[2], at(10))
    async with writer.engine.connect() as conn:
        retracted = (
            await conn.execute(
                text("SELECT max(recorded_at) FROM events WHERE stream_id = :id"), {"id": ids[2]}
            )
        ).scalar_one()
    return world, ids, Temporal(recorded_at=retracted - timedelta(microseconds=1))


def _expected_view(state: domain.Assertion, recorded_at: datetime, last_position: int) -> Any:
    """The view of `state` as the API documents it, as decoded JSON."""
    s = json.loads(msgspec.json.encode(state))
    stances = ["party", "stance", "statement", "citations", "reported_at"]
    return {
        "id": s["assertion_id"],
        "timeline": s["timeline"],
        "version": s["version"],
        "status": s["status"],
        "occurred": s["occurred"]["text"],
        "occurred_start": s["occurred"]["start"],
        "occurred_end": s["occurred"]["end"],
        "kind": s["kind"],
        "summary": s["summary"],
        "place": s["place"],
        "actors": s["actors"],
        "quantities": s["quantities"],
        "claimant": s["claimant"],
        "citations": s["citations"],
        "stances": [{k: stance[k] for k in stances} for stance in s["stances"]],
        "first_reported_at": s["first_reported_at"],
        "last_reported_at": s["last_reported_at"],
        "recorded_at": json.loads(msgspec.json.encode(recorded_at)),
        "dataset_row": s["dataset_row"],
        "last_position": last_position,
    }


def _expected_at(recorded: list[RecordedEvent], temporal: Temporal) -> Any | None:
    """The view `temporal` shows of one stream, folded by the domain from its log."""
    held = [
        r for r in recorded if temporal.recorded_at is None or r.recorded_at <= temporal.recorded_at
    ]
    known = [r for r in held if temporal.known_at is None or r.reported_at <= temporal.known_at]
    state = domain.fold(((r.version, r.event) for r in held), temporal.known_at)
    if state is None:
        return None
    return _expected_view(state, max(r.recorded_at for r in known), max(r.position for r in known))


async def _logs(conn: AsyncConnection, ids: list[str]) -> dict[str, list[RecordedEvent]]:
    return {i: await read_stream(conn, StreamRef("assertion", i)) for i in ids}


async def test_every_current_view_is_the_domains_fold_of_its_log_as_documented(
    engine: AsyncEngine, writer: Writer
) -> None:
    _, ids, _ = await _world(writer)
    async with engine.connect() as conn:
        logs = await _logs(conn, ids)
        for assertion_id in ids:
            stored = await conn.scalar(
                text("SELECT view FROM projections.assertions WHERE assertion_id = :id"),
                {"id": assertion_id},
            )
            expected = _expected_at(logs[assertion_id], Temporal())
            view = json.loads(stored)
            assert view == expected
            assert list(view) == list(expected), "the fields are served in the documented order"


async def test_every_revision_rows_view_is_the_view_of_its_state(
    engine: AsyncEngine, writer: Writer
) -> None:
    world, ids, _ = await _world(writer)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT state::text AS state, recorded_at, last_position, view "
                    "FROM projections.revisions WHERE timeline = :slug"
                ),
                {"slug": world.slug},
            )
        ).all()
    assert len(rows) > len(ids)
    for row in rows:
        expected = _expected_view(_state.decode(row.state), row.recorded_at, row.last_position)
        assert json.loads(row.view) == expected


async def test_a_page_serves_the_views_the_domain_folds_at_each_date(
    engine: AsyncEngine, writer: Writer
) -> None:
    world, ids, before_last = await _world(writer)
    probes = [Temporal(), Temporal(known_at=at(8)), Temporal(known_at=at(6)), before_last]
    async with engine.connect() as conn:
        logs = await _logs(conn, ids)
        for temporal in probes:
            views: list[Any] = []
            cursor = None
            for _ in range(3):
                page = await get_timeline_json(conn, world.slug, temporal, cursor=cursor, limit=2)
                assert page is not None
                body = json.loads(msgspec.json.encode(page))
                assert list(body) == _PAGE_FIELDS
                assert len(body["assertions"]) == (2 if cursor is None else 1)
                views += body["assertions"]
                cursor = body["next_cursor"]
                if cursor is None:
                    break
            assert cursor is None
            expected = [v for i in ids if (v := _expected_at(logs[i], temporal)) is not None]
            expected.sort(key=lambda v: (v["occurred_start"], v["id"]))
            assert views == expected, temporal
