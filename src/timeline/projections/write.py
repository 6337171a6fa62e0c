"""The write path's side of the read models: what a write reads, and the rows it plans.

A command reads what it decides on and the live rows its write will change in
one statement (`load_for_write`), then sends its events and the rows planned
here in one more (store.append.write). The rows are made by the same code as
`apply`'s (each read model's row function, rows.fold_stream), before the log
has assigned the new events their positions: those are PENDING + k, and
`timeline_write` puts the real ones in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, cast

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.domain.events import AssertionEvent
from timeline.domain.sources import fold as fold_source
from timeline.domain.timelines import fold as fold_timeline
from timeline.projections.assertions import assertions, revisions
from timeline.projections.history import Step
from timeline.projections.rows import Changes, LiveRow, fold_stream, held_row, step_of
from timeline.projections.schema import name
from timeline.projections.sources import source_row
from timeline.projections.timelines import timeline_row
from timeline.store.append import PENDING, Append, ProjectionRows, StreamRef
from timeline.store.codec import RecordedEvent, type_of
from timeline.store.db import fetch
from timeline.store.read import record_to_recorded

_encoder = msgspec.json.Encoder()

# What a load for writing reads of each event (e) and its live revision row (r), after the
# clock: first, so the statement answers a row even when no stream exists yet; read after
# the snapshot is taken, so it is later than every commit the load sees.
STREAM_READ = (
    "SELECT c.clock, x.* FROM (SELECT clock_timestamp() AS clock) c LEFT JOIN LATERAL ("
    "SELECT e.position, e.tx_id::text AS tx_id, e.stream_type, e.stream_id, e.version, e.type, "
    "e.schema_version, e.data::text AS data, e.metadata, e.timeline, e.reported_at, "
    "e.recorded_at, r.recorded_from AS r_recorded_from, r.known_from AS r_known_from, "
    "r.known_to AS r_known_to, r.known_cut_at AS r_known_cut_at, "
    "r.event_data::text AS r_event_data, r.state::text AS r_state, "
    "r.changes::text AS r_changes, r.last_position AS r_last_position, "
    "r.recorded_at AS r_recorded_at "
)

_FOR_WRITE = (
    STREAM_READ + "FROM (SELECT * FROM unnest($1::text[], $2::text[]) "
    f"      UNION SELECT 'assertion', a.assertion_id FROM {name(assertions)} a "
    "      WHERE $3::text IS NOT NULL AND a.cited_sources @> ARRAY[$3::text]"
    "     ) AS w (stream_type, stream_id) "
    "JOIN events e ON e.stream_type = w.stream_type AND e.stream_id = w.stream_id "
    f"LEFT JOIN {name(revisions)} r ON e.stream_type = 'assertion' "
    "AND r.assertion_id = e.stream_id AND r.version = e.version AND r.recorded_to IS NULL"
    ") x ON true ORDER BY x.stream_type, x.stream_id, x.version"
)


class ForWrite(msgspec.Struct, kw_only=True):
    """What a write's decision and its projection rows start from, read in one snapshot.

    `clock` is the server's time when it was read: the write's recorded_at.
    """

    streams: dict[StreamRef, list[RecordedEvent]]
    live: dict[str, dict[int, LiveRow]]
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
    live: dict[str, dict[int, LiveRow]] = defaultdict(dict)
    for record in records:
        if record["position"] is None:
            continue  # the clock's row, when no stream has an event
        recorded = record_to_recorded(record)
        found.setdefault(StreamRef(recorded.stream_type, recorded.stream_id), []).append(recorded)
        if record["r_recorded_from"] is not None:
            live[recorded.stream_id][recorded.version] = live_row(recorded, record)
    return ForWrite(streams=found, live=live, clock=records[0]["clock"])


def live_row(recorded: RecordedEvent, record: Any) -> LiveRow:
    """The live revision row of an assertion event, from a record that selected it
    beside the event (its columns named `r_...`, as _FOR_WRITE names them)."""
    return held_row(step_of(recorded, event_data=record["r_event_data"]), record)


class Planned(msgspec.Struct, kw_only=True):
    """A write's projection rows, and the row each written stream's aggregate ends with."""

    rows: ProjectionRows
    written: dict[StreamRef, dict[str, Any]]


# Per stream type folded whole: its domain fold, and the row its read model keeps.
FOLDED: dict[str, tuple[Callable[[Iterable[Any]], Any], Callable[..., dict[str, Any]]]] = {
    "timeline": (fold_timeline, timeline_row),
    "source": (fold_source, source_row),
}


class Plan(msgspec.Struct, kw_only=True):
    """A write's projection rows as dicts in their tables' columns: the rows of the streams
    folded whole (per stream type), the revision rows' changes, each stream's last row."""

    folded: dict[str, list[dict[str, Any]]]
    changes: Changes
    written: dict[StreamRef, dict[str, Any]]


def plan_rows(loaded: ForWrite, appends: Sequence[Append]) -> Plan:
    """The projection rows `appends` change, from what `loaded` read; pure.

    Every append's `expected` is the version its stream was loaded at. The new
    events are recorded at `loaded.clock`, at positions PENDING + k in the order
    the write sends them.
    """
    written: dict[StreamRef, dict[str, Any]] = {}
    folded: dict[str, list[dict[str, Any]]] = {stream_type: [] for stream_type in FOLDED}
    changes = Changes()
    k = 0
    at = loaded.clock
    for append in appends:
        assert append.expected is not None, "a planned write names the version it read"
        stream, old = append.stream, loaded.streams.get(append.stream, [])
        first = k + 1
        k += len(append.events)
        last = PENDING + k
        if stream.type in FOLDED:
            fold, row_of = FOLDED[stream.type]
            state = fold([*(r.event for r in old), *append.events])
            assert state is not None
            row = row_of(state, recorded_at=at, last_position=last)
            folded[stream.type].append(row)
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
    return Plan(folded=folded, changes=changes, written=written)


def plan_write(loaded: ForWrite, appends: Sequence[Append]) -> Planned:
    """`plan_rows` as `timeline_write` takes them: a JSON array per table."""
    plan = plan_rows(loaded, appends)
    folded, changes = plan.folded, plan.changes
    payload = ProjectionRows(
        timelines=_rows_json(folded["timeline"]),
        sources=_rows_json(folded["source"]),
        assertions=_rows_json([*changes.firsts, *changes.currents], _JSON_STATE),
        revisions=_rows_json(changes.inserts, _JSON_REVISION),
        cuts=_rows_json(changes.updates),
    )
    return Planned(rows=payload, written=plan.written)


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
