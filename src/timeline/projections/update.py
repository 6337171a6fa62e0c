"""How events change the read models: the one `apply`, run by writes and by rebuilds.

`apply` takes any batch of recorded events (one append's, or a rebuild's
thousands) and changes the tables of whatever schema the connection's
`schema_translate_map` points `projections` at.

Assertion streams are re-folded whole with the domain's `knowledge_order` and
`evolve` (see history.py) and the result is compared with the live revision
rows: unchanged rows stay, rows whose state or interval changed are closed at
the new event's recorded_at and inserted afresh (bitemporal), and an open
known_to cut by an event at the end of knowledge order is cut in place.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import msgspec
from msgspec import UNSET
from sqlalchemy import Table, Text, and_, bindparam, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import UserDefinedType

from timeline.domain.assertions import Assertion, Change
from timeline.domain.events import (
    AssertionEvent,
    AssertionRecorded,
    SourceEvent,
    SourceRegistered,
    SourceUpdated,
    SourceWithdrawn,
    TimelineEvent,
    TimelineOpened,
    TimelineRetitled,
)
from timeline.domain.sources import Source
from timeline.domain.sources import fold as fold_source
from timeline.domain.timelines import Timeline
from timeline.domain.timelines import fold as fold_timeline
from timeline.projections.history import (
    Revision,
    Step,
    citations_of,
    extend,
    follows,
    reason_of,
    revisions,
)
from timeline.projections.present import view_json
from timeline.projections.tables import assertions, sources, timelines
from timeline.projections.tables import revisions as revisions_table
from timeline.store.append import PENDING, Append, ProjectionRows, StreamRef
from timeline.store.codec import RecordedEvent, decode_data, encode_data, type_of
from timeline.store.db import copy_records, fetch
from timeline.store.read import read_stream, record_to_recorded

_encoder = msgspec.json.Encoder()
_state_decoder = msgspec.json.Decoder(Assertion)
_changes_decoder = msgspec.json.Decoder(list[Change])


class RawJson(UserDefinedType[str]):
    """A jsonb bind that takes JSON text as is (msgspec already encoded it)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "jsonb"


def _json(value: Any) -> str:
    return _encoder.encode(value).decode()


# -- timelines and sources ----------------------------------------------------


def _unset_free(event: msgspec.Struct, names: Iterable[str]) -> dict[str, Any]:
    return {name: value for name in names if (value := getattr(event, name)) is not UNSET}


async def _apply_timeline(conn: AsyncConnection, r: RecordedEvent) -> None:
    common = {"version": r.version, "recorded_at": r.recorded_at, "last_position": r.position}
    match r.event:
        case TimelineOpened() as e:
            await conn.execute(
                insert(timelines)
                .values(
                    slug=e.slug, title=e.title, description=e.description, region=e.region, **common
                )
                .on_conflict_do_nothing()
            )
        case TimelineRetitled() as e:
            changes = _unset_free(e, ("title", "description", "region"))
            await conn.execute(
                update(timelines).where(timelines.c.slug == e.slug).values(**changes, **common)
            )


async def _apply_source(conn: AsyncConnection, r: RecordedEvent) -> None:
    common = {"version": r.version, "recorded_at": r.recorded_at, "last_position": r.position}
    where = sources.c.source_id == r.stream_id
    match r.event:
        case SourceRegistered() as e:
            fields = msgspec.structs.asdict(e)
            fields["credits"] = list(e.credits)
            await conn.execute(
                insert(sources)
                .values(**fields, status="active", withdrawal_reason="", **common)
                .on_conflict_do_nothing()
            )
        case SourceUpdated() as e:
            changes = _unset_free(
                e,
                (
                    "publisher",
                    "title",
                    "url",
                    "published_at",
                    "published_at_note",
                    "language",
                    "via",
                ),
            )
            if e.credits is not UNSET:
                changes["credits"] = list(e.credits)
            await conn.execute(update(sources).where(where).values(**changes, **common))
        case SourceWithdrawn() as e:
            await conn.execute(
                update(sources)
                .where(where)
                .values(
                    status="withdrawn",
                    withdrawn_at=e.withdrawn_at,
                    withdrawal_reason=e.reason,
                    **common,
                )
            )


# -- assertions ---------------------------------------------------------------


@dataclass
class _Row:
    """A revision row held in memory while a batch is applied."""

    rev: Revision
    recorded_from: datetime
    recorded_to: datetime | None = None
    known_cut_at: datetime | None = None
    in_db: bool = False
    dirty: bool = False


def _same(old: Revision, new: Revision) -> bool:
    """Same state, diffs and start; rows read back hold JSON shapes (lists, not tuples)."""
    return (
        old.state == new.state
        and old.known_from == new.known_from
        and old.last_position == new.last_position
        and _changes_decoder.decode(_encoder.encode(old.changes))
        == _changes_decoder.decode(_encoder.encode(new.changes))
    )


def step_of(r: RecordedEvent) -> Step:
    return Step(
        version=r.version,
        position=r.position,
        event=cast(AssertionEvent, r.event),
        event_type=r.type,
        schema_version=r.schema_version,
        event_data=encode_data(r.event),
        recorded_at=r.recorded_at,
    )


_LIVE_COLUMNS = (
    revisions_table.c.assertion_id,
    revisions_table.c.version,
    revisions_table.c.recorded_from,
    revisions_table.c.known_from,
    revisions_table.c.known_to,
    revisions_table.c.known_cut_at,
    revisions_table.c.position,
    revisions_table.c.event_type,
    revisions_table.c.schema_version,
    sql_cast(revisions_table.c.event_data, Text).label("event_data"),
    revisions_table.c.event_recorded_at,
    sql_cast(revisions_table.c.state, Text).label("state"),
    sql_cast(revisions_table.c.changes, Text).label("changes"),
    revisions_table.c.last_position,
    revisions_table.c.recorded_at,
)


async def _load_live(conn: AsyncConnection, ids: list[str]) -> dict[str, dict[int, _Row]]:
    """The live revision rows of these streams, by assertion and version."""
    live: dict[str, dict[int, _Row]] = defaultdict(dict)
    if not ids:
        return live
    rows = await conn.execute(
        select(*_LIVE_COLUMNS).where(
            revisions_table.c.assertion_id.in_(ids), revisions_table.c.recorded_to.is_(None)
        )
    )
    for row in rows:
        step = Step(
            version=row.version,
            position=row.position,
            event=cast(
                AssertionEvent, decode_data(row.event_type, row.schema_version, row.event_data)
            ),
            event_type=row.event_type,
            schema_version=row.schema_version,
            event_data=row.event_data,
            recorded_at=row.event_recorded_at,
        )
        rev = Revision(
            step=step,
            state=_state_decoder.decode(row.state),
            changes=_changes_decoder.decode(row.changes),
            known_from=row.known_from,
            known_to=row.known_to,
            last_position=row.last_position,
            recorded_at=row.recorded_at,
        )
        live[row.assertion_id][row.version] = _Row(
            rev, row.recorded_from, known_cut_at=row.known_cut_at, in_db=True
        )
    return live


async def _missing_steps(
    conn: AsyncConnection, assertion_id: str, after: int, before: int
) -> list[Step]:
    """Versions after..before of a stream, read from the log.

    The feed orders by writing transaction, so a rebuild can meet version n+1
    before version n (its transaction took an id first but appended later).
    Version n is committed by then: read it from the log instead of waiting.
    """
    recorded = await read_stream(conn, StreamRef("assertion", assertion_id))
    return [step_of(r) for r in recorded if after < r.version < before]


def _advance(rows: dict[int, _Row], step: Step, closed: list[_Row]) -> None:
    """Fold one more event into a stream's rows, as the store holds it at its recorded_at."""
    at = step.recorded_at
    for row in rows.values():
        # recorded time never runs backwards within a stream (see docs/projections.md)
        at = max(at, row.recorded_from, row.known_cut_at or row.recorded_from)
    last = next((row for row in rows.values() if row.rev.known_to is None), None)
    if last is not None and step.version not in rows and follows(last.rev, step):
        # The common case, an event at the end of knowledge order: only the last
        # row's open interval is cut, so fold one step instead of the whole stream.
        last.rev, added = extend(last.rev, step)
        last.known_cut_at = at
        last.dirty = True
        rows[step.version] = _Row(added, at)
        return
    history = [row.rev.step for row in rows.values() if row.rev.version != step.version]
    for rev in revisions([*history, step]):
        old = rows.get(rev.version)
        if old is not None and _same(old.rev, rev):
            if old.rev.known_to != rev.known_to:
                if old.rev.known_to is not None:
                    # a re-cut of a closed interval: supersede, never edit history
                    old = _supersede(rows, old, rev, at, closed)
                    continue
                old.rev = rev
                old.known_cut_at = at
                old.dirty = True
            continue
        if old is not None:
            _supersede(rows, old, rev, at, closed)
        else:
            rows[rev.version] = _Row(rev, at)


def _supersede(
    rows: dict[int, _Row], old: _Row, rev: Revision, at: datetime, closed: list[_Row]
) -> _Row:
    old.recorded_to = at
    old.dirty = True
    if old.in_db or old.recorded_from < at:
        closed.append(old)
    new = _Row(rev, at)
    rows[rev.version] = new
    return new


def _state_row(rev: Revision) -> dict[str, Any]:
    state = rev.state
    quotes = " ".join(c.quote for c in state.citations if c.quote)
    statements = " ".join(s.statement for s in state.stances if s.statement)
    return {
        "timeline": state.timeline,
        "occurred_start": state.occurred.start,
        "occurred_end": state.occurred.end,
        "kind": state.kind,
        "status": state.status,
        "actors": list(state.actors),
        "place_name": state.place.name if state.place else None,
        "claimant": state.claimant,
        "cited_sources": sorted({c.source_id for c in state.citations}),
        "search_text": " ".join(p for p in (state.summary, quotes, statements) if p),
        "state": _json(state),
        "last_position": rev.last_position,
        "recorded_at": rev.recorded_at,
        "view": view_json(state, recorded_at=rev.recorded_at, last_position=rev.last_position),
    }


def _revision_row(assertion_id: str, row: _Row) -> dict[str, Any]:
    rev = row.rev
    return {
        "assertion_id": assertion_id,
        "version": rev.version,
        "recorded_from": row.recorded_from,
        "recorded_to": row.recorded_to,
        "known_from": rev.known_from,
        "known_to": rev.known_to,
        "known_cut_at": row.known_cut_at,
        "position": rev.step.position,
        "event_type": rev.step.event_type,
        "schema_version": rev.step.schema_version,
        "event_data": rev.step.event_data,
        "reported_at": rev.step.event.reported_at,
        "event_recorded_at": rev.step.recorded_at,
        "changes": _json(rev.changes),
        "reason": reason_of(rev.step.event),
        "citations": _json(citations_of(rev.step.event)),
        **_state_row(rev),
    }


_JSON_BINDS = {name: bindparam(name, type_=RawJson()) for name in ("state",)}

_INSERT_REVISIONS = insert(revisions_table).values(
    {
        **_JSON_BINDS,
        "event_data": bindparam("event_data", type_=RawJson()),
        "changes": bindparam("changes", type_=RawJson()),
        "citations": bindparam("citations", type_=RawJson()),
    }
)

_UPDATE_REVISIONS = (
    update(revisions_table)
    .where(
        and_(
            revisions_table.c.assertion_id == bindparam("b_assertion_id"),
            revisions_table.c.version == bindparam("b_version"),
            revisions_table.c.recorded_from == bindparam("b_recorded_from"),
        )
    )
    .values(
        recorded_to=bindparam("b_recorded_to"),
        known_to=bindparam("b_known_to"),
        known_cut_at=bindparam("b_known_cut_at"),
    )
)

_upsert = insert(assertions).values(_JSON_BINDS)
_UPSERT_ASSERTIONS = _upsert.on_conflict_do_update(
    index_elements=[assertions.c.assertion_id],
    set_={
        name: _upsert.excluded[name]
        for name in (c.name for c in assertions.columns)
        if name not in ("assertion_id", "search")
    },
)


class RowCache:
    """The live revision rows of the streams a rebuild applied last, kept between its batches.

    Sound only while nothing else writes the tables it mirrors (a rebuild's own
    build schema), and only as long as each batch commits: a rebuild that fails
    drops it with everything else. Holds at most `streams` streams.
    """

    def __init__(self, streams: int = 20_000) -> None:
        self.streams = streams
        self._rows: OrderedDict[str, dict[int, _Row]] = OrderedDict()

    def take(self, ids: Iterable[str]) -> dict[str, dict[int, _Row]]:
        return {i: rows for i in ids if (rows := self._rows.pop(i, None)) is not None}

    def keep(self, assertion_id: str, rows: dict[int, _Row]) -> None:
        for row in rows.values():
            row.in_db, row.dirty = True, False
        self._rows[assertion_id] = rows
        while len(self._rows) > self.streams:
            self._rows.popitem(last=False)


@dataclass
class Changes:
    """The row writes of a batch: new revision rows, cuts and closures of rows in the
    table, and the current rows of assertions that had one (`currents`) or none (`firsts`)."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    firsts: list[dict[str, Any]] = field(default_factory=list)
    currents: list[dict[str, Any]] = field(default_factory=list)


def fold_stream(
    assertion_id: str, rows: dict[int, _Row], steps: Sequence[Step], changes: Changes
) -> dict[str, Any] | None:
    """Advance a stream's live rows by `steps` (the versions after theirs, in order), and
    record in `changes` the row writes that takes; the new current row, or None when the
    stream shows nothing (it does not begin with its recording)."""
    if not rows and not isinstance(steps[0].event, AssertionRecorded):
        return None
    into = changes.currents if rows else changes.firsts
    closed: list[_Row] = []
    for step in steps:
        _advance(rows, step, closed)
    for row in [*closed, *rows.values()]:
        if not row.in_db:
            if row.recorded_to is None or row.recorded_to > row.recorded_from:
                changes.inserts.append(_revision_row(assertion_id, row))
        elif row.dirty:
            changes.updates.append(
                {
                    "assertion_id": assertion_id,
                    "version": row.rev.version,
                    "recorded_from": row.recorded_from,
                    "recorded_to": row.recorded_to,
                    "known_to": row.rev.known_to,
                    "known_cut_at": row.known_cut_at,
                }
            )
    current = next(row.rev for row in rows.values() if row.rev.known_to is None)
    written = {"assertion_id": assertion_id, **_state_row(current)}
    into.append(written)
    return written


async def _apply_assertions(
    conn: AsyncConnection, recorded: Sequence[RecordedEvent], cache: RowCache | None
) -> None:
    streams: dict[str, list[RecordedEvent]] = defaultdict(list)
    for r in recorded:
        streams[r.stream_id].append(r)
    cached = cache.take(streams) if cache is not None else {}
    live = await _load_live(conn, [i for i in streams if i not in cached])
    live.update(cached)
    changes = Changes()
    for assertion_id, new in streams.items():
        rows = live[assertion_id]
        have = max(rows, default=0)
        steps = [step_of(r) for r in sorted(new, key=lambda r: r.version) if r.version > have]
        if not steps:
            continue
        if steps[0].version > have + 1:
            steps = [*await _missing_steps(conn, assertion_id, have, steps[0].version), *steps]
        if fold_stream(assertion_id, rows, steps, changes) is not None and cache is not None:
            cache.keep(assertion_id, rows)
    if changes.updates:
        await conn.execute(
            _UPDATE_REVISIONS, [{f"b_{k}": v for k, v in u.items()} for u in changes.updates]
        )
    if changes.inserts:
        await _insert(conn, revisions_table, changes.inserts, _INSERT_REVISIONS)
    if changes.firsts:
        await _insert(conn, assertions, changes.firsts, _UPSERT_ASSERTIONS)
    if changes.currents:
        await conn.execute(_UPSERT_ASSERTIONS, changes.currents)


# Below this many rows an INSERT is cheaper than setting up a COPY.
COPY_THRESHOLD = 64


async def _insert(
    conn: AsyncConnection, table: Table, rows: list[dict[str, Any]], statement: Any
) -> None:
    """Insert new rows with `statement`, or by COPY when there are many (a rebuild's batches)."""
    if len(rows) < COPY_THRESHOLD:
        await conn.execute(statement, rows)
        return
    assert conn.sync_connection is not None
    options = conn.sync_connection.get_execution_options()
    translate = options.get("schema_translate_map") or {}
    columns = [c.name for c in table.columns if c.computed is None]
    await copy_records(
        conn,
        table.name,
        schema=translate.get(table.schema, table.schema),
        columns=columns,
        records=[tuple(row[name] for name in columns) for row in rows],
    )


async def apply_events(
    conn: AsyncConnection, recorded: Sequence[RecordedEvent], *, cache: RowCache | None = None
) -> None:
    """Change every read model for `recorded`, in the caller's transaction.

    A rebuild passes its `cache` of the rows it wrote, so it does not read them back.
    """
    ordered = sorted(recorded, key=lambda r: r.position)
    for r in ordered:
        if r.stream_type == "timeline":
            await _apply_timeline(conn, r)
        elif r.stream_type == "source":
            await _apply_source(conn, r)
    # assertion rows depend on nothing but their own stream
    await _apply_assertions(conn, [r for r in ordered if r.stream_type == "assertion"], cache)


async def assertions_citing(conn: AsyncConnection, source_id: str) -> list[str]:
    """Ids of the assertions whose current citations include `source_id`."""
    rows = await conn.execute(
        select(assertions.c.assertion_id)
        .where(assertions.c.cited_sources.contains([source_id]))
        .order_by(assertions.c.assertion_id)
    )
    return [row.assertion_id for row in rows]


# -- the write path -------------------------------------------------------------
#
# A command reads what it decides on and the live rows its write will change in
# one statement (`load_for_write`), then sends its events and the rows planned
# here in one more (store.append.write). The rows are made by the same code as
# `apply_events`'s, before the log has assigned the new events their positions:
# those are PENDING + k, and `timeline_write` puts the real ones in.

_FOR_WRITE = (
    # The clock first, so the statement answers a row even when no stream exists yet;
    # read after the snapshot is taken, so it is later than every commit this load sees.
    "SELECT c.clock, x.* FROM (SELECT clock_timestamp() AS clock) c LEFT JOIN LATERAL ("
    "SELECT e.position, e.tx_id::text AS tx_id, e.stream_type, e.stream_id, e.version, e.type, "
    "e.schema_version, e.data::text AS data, e.metadata, e.timeline, e.reported_at, "
    "e.recorded_at, r.recorded_from AS r_recorded_from, r.known_from AS r_known_from, "
    "r.known_to AS r_known_to, r.known_cut_at AS r_known_cut_at, "
    "r.event_data::text AS r_event_data, r.state::text AS r_state, "
    "r.changes::text AS r_changes, r.last_position AS r_last_position, "
    "r.recorded_at AS r_recorded_at "
    "FROM (SELECT * FROM unnest($1::text[], $2::text[]) "
    "      UNION SELECT 'assertion', a.assertion_id FROM projections.assertions a "
    "      WHERE $3::text IS NOT NULL AND a.cited_sources @> ARRAY[$3::text]"
    "     ) AS w (stream_type, stream_id) "
    "JOIN events e ON e.stream_type = w.stream_type AND e.stream_id = w.stream_id "
    "LEFT JOIN projections.revisions r ON e.stream_type = 'assertion' "
    "AND r.assertion_id = e.stream_id AND r.version = e.version AND r.recorded_to IS NULL"
    ") x ON true ORDER BY x.stream_type, x.stream_id, x.version"
)


class ForWrite(msgspec.Struct, kw_only=True):
    """What a write's decision and its projection rows start from, read in one snapshot.

    `clock` is the server's time when it was read: the write's recorded_at.
    """

    streams: dict[StreamRef, list[RecordedEvent]]
    live: dict[str, dict[int, _Row]]
    clock: datetime


async def load_for_write(
    conn: AsyncConnection, streams: Iterable[StreamRef], *, citing: str | None = None
) -> ForWrite:
    """The events of `streams` (and, with `citing`, of every assertion whose current
    citations include that source), with the live revision rows of the assertions among
    them, and the server's clock: one statement."""
    wanted = list(dict.fromkeys(streams))
    records = await fetch(
        conn, _FOR_WRITE, [s.type for s in wanted], [s.id for s in wanted], citing
    )
    found: dict[StreamRef, list[RecordedEvent]] = {stream: [] for stream in wanted}
    live: dict[str, dict[int, _Row]] = defaultdict(dict)
    for record in records:
        if record["position"] is None:
            continue  # the clock's row, when no stream has an event
        recorded = record_to_recorded(record)
        found.setdefault(StreamRef(recorded.stream_type, recorded.stream_id), []).append(recorded)
        if record["r_recorded_from"] is not None:
            live[recorded.stream_id][recorded.version] = _live_row(recorded, record)
    return ForWrite(streams=found, live=live, clock=records[0]["clock"])


def _live_row(recorded: RecordedEvent, record: Any) -> _Row:
    step = Step(
        version=recorded.version,
        position=recorded.position,
        event=cast(AssertionEvent, recorded.event),
        event_type=recorded.type,
        schema_version=recorded.schema_version,
        event_data=record["r_event_data"],
        recorded_at=recorded.recorded_at,
    )
    rev = Revision(
        step=step,
        state=_state_decoder.decode(record["r_state"]),
        changes=_changes_decoder.decode(record["r_changes"]),
        known_from=record["r_known_from"],
        known_to=record["r_known_to"],
        last_position=record["r_last_position"],
        recorded_at=record["r_recorded_at"],
    )
    return _Row(rev, record["r_recorded_from"], known_cut_at=record["r_known_cut_at"], in_db=True)


class Planned(msgspec.Struct, kw_only=True):
    """A write's projection rows, and the row each written stream's aggregate ends with."""

    rows: ProjectionRows
    written: dict[StreamRef, dict[str, Any]]


def timeline_row(state: Timeline, *, recorded_at: datetime, last_position: int) -> dict[str, Any]:
    """A timeline's row in projections.timelines: what `_apply_timeline` leaves for its events."""
    return {
        "slug": state.slug,
        "title": state.title,
        "description": state.description,
        "region": state.region,
        "version": state.version,
        "recorded_at": recorded_at,
        "last_position": last_position,
    }


def source_row(state: Source, *, recorded_at: datetime, last_position: int) -> dict[str, Any]:
    """A source's row in projections.sources: what `_apply_source` leaves for its events."""
    return {
        "source_id": state.source_id,
        "publisher": state.publisher,
        "title": state.title,
        "url": state.url,
        "published_at": state.published_at,
        "published_at_note": state.published_at_note,
        "language": state.language,
        "via": state.via,
        "credits": list(state.credits),
        "status": "withdrawn" if state.withdrawn else "active",
        "withdrawn_at": state.withdrawn_at,
        "withdrawal_reason": state.withdrawal_reason,
        "version": state.version,
        "recorded_at": recorded_at,
        "last_position": last_position,
    }


def plan_write(loaded: ForWrite, appends: Sequence[Append]) -> Planned:
    """The projection rows `appends` change, from what `loaded` read; pure.

    Every append's `expected` is the version its stream was loaded at. The new
    events are recorded at `loaded.clock`, at positions PENDING + k in the order
    the write sends them.
    """
    written: dict[StreamRef, dict[str, Any]] = {}
    timeline_rows: list[dict[str, Any]] = []
    source_rows: list[dict[str, Any]] = []
    changes = Changes()
    k = 0
    at = loaded.clock
    for append in appends:
        assert append.expected is not None, "a planned write names the version it read"
        stream, old = append.stream, loaded.streams.get(append.stream, [])
        first = k + 1
        k += len(append.events)
        last = PENDING + k
        if stream.type == "timeline":
            events = [*(r.event for r in old), *append.events]
            timeline_state = fold_timeline(cast(TimelineEvent, e) for e in events)
            assert timeline_state is not None
            row = timeline_row(timeline_state, recorded_at=at, last_position=last)
            timeline_rows.append(row)
        elif stream.type == "source":
            events = [*(r.event for r in old), *append.events]
            source_state = fold_source(cast(SourceEvent, e) for e in events)
            assert source_state is not None
            row = source_row(source_state, recorded_at=at, last_position=last)
            source_rows.append(row)
        else:
            steps = [
                Step(
                    version=append.expected + i,
                    position=PENDING + first + i - 1,
                    event=cast(AssertionEvent, event),
                    event_type=type_of(event),
                    schema_version=event.schema_version,
                    event_data=data,
                    recorded_at=at,
                )
                for i, (event, data) in enumerate(zip(append.events, append.data, strict=True), 1)
            ]
            rows = loaded.live.get(stream.id, {})
            planned = fold_stream(stream.id, rows, steps, changes)
            if planned is None:
                continue
            row = planned
        written[stream] = row
    payload = ProjectionRows(
        timelines=_rows_json(timeline_rows),
        sources=_rows_json(source_rows),
        assertions=_rows_json([*changes.firsts, *changes.currents], _JSON_STATE),
        revisions=_rows_json(changes.inserts, _JSON_REVISION),
        cuts=_rows_json(changes.updates),
    )
    return Planned(rows=payload, written=written)


# Columns whose values are JSON text already: sent as JSON, not as strings holding it.
_JSON_STATE = frozenset({"state"})
_JSON_REVISION = frozenset({"state", "event_data", "changes", "citations"})


def _rows_json(
    rows: list[dict[str, Any]], json_columns: frozenset[str] = frozenset()
) -> str | None:
    if not rows:
        return None
    if json_columns:
        rows = [
            {k: msgspec.Raw(v) if k in json_columns else v for k, v in row.items()} for row in rows
        ]
    return _encoder.encode(rows).decode()


def resolved(position: int, positions: Sequence[int]) -> int:
    """A planned position with the log's own in place of PENDING + k (timeline_position)."""
    return positions[position - PENDING - 1] if position >= PENDING else position


def resolved_view(view: str, last_position: int, positions: Sequence[int]) -> str:
    """A planned view's JSON with its last_position, the last field, as the log assigned it."""
    if last_position < PENDING:
        return view
    tail = f"{last_position}}}"
    assert view.endswith(tail), "a stored view ends with its last_position"
    return f"{view[: -len(tail)]}{resolved(last_position, positions)}}}"
