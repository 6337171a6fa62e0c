"""An assertion stream's revision rows in memory, and how a batch of its events changes them.

Pure: no SQL. The stream is re-folded with the domain's `knowledge_order` and
`evolve` (history.py) and the result is compared with the live rows: unchanged
rows stay, rows whose state or interval changed are closed at the new event's
recorded_at and made afresh (bitemporal), and an open known_to cut by an event
at the end of knowledge order is cut in place. `fold_stream` records the row
writes that takes in `Changes`; revising.py sends them, and the write path
(write.py) plans them before the log has assigned positions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import msgspec

from timeline.domain.assertions import Assertion, Change
from timeline.domain.events import AssertionEvent, AssertionRecorded
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
from timeline.store.codec import RecordedEvent, encode_data

_encoder = msgspec.json.Encoder()
_state_decoder = msgspec.json.Decoder(Assertion)
_changes_decoder = msgspec.json.Decoder(list[Change])


def _json(value: Any) -> str:
    return _encoder.encode(value).decode()


@dataclass
class LiveRow:
    """A revision row held in memory while a batch is applied."""

    rev: Revision
    recorded_from: datetime
    recorded_to: datetime | None = None
    known_cut_at: datetime | None = None
    in_db: bool = False
    dirty: bool = False


def held_row(step: Step, record: Mapping[Any, Any]) -> LiveRow:
    """A live row as the revisions table holds it, from its columns (named `r_...`)."""
    rev = Revision(
        step=step,
        state=_state_decoder.decode(record["r_state"]),
        changes=_changes_decoder.decode(record["r_changes"]),
        known_from=record["r_known_from"],
        known_to=record["r_known_to"],
        last_position=record["r_last_position"],
        recorded_at=record["r_recorded_at"],
    )
    recorded_from, known_cut_at = record["r_recorded_from"], record["r_known_cut_at"]
    return LiveRow(rev, recorded_from, known_cut_at=known_cut_at, in_db=True)


def _same(old: Revision, new: Revision) -> bool:
    """Same state, diffs and start; rows read back hold JSON shapes (lists, not tuples)."""
    return (
        old.state == new.state
        and old.known_from == new.known_from
        and old.last_position == new.last_position
        and _changes_decoder.decode(_encoder.encode(old.changes))
        == _changes_decoder.decode(_encoder.encode(new.changes))
    )


def step_of(r: RecordedEvent, *, event_data: str | None = None) -> Step:
    """The step of a recorded event; `event_data` when its stored JSON is at hand."""
    return Step(
        version=r.version,
        position=r.position,
        event=cast(AssertionEvent, r.event),
        event_type=r.type,
        schema_version=r.schema_version,
        event_data=encode_data(r.event) if event_data is None else event_data,
        recorded_at=r.recorded_at,
    )


def _advance(rows: dict[int, LiveRow], step: Step, closed: list[LiveRow]) -> None:
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
        rows[step.version] = LiveRow(added, at)
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
            rows[rev.version] = LiveRow(rev, at)


def _supersede(
    rows: dict[int, LiveRow], old: LiveRow, rev: Revision, at: datetime, closed: list[LiveRow]
) -> LiveRow:
    old.recorded_to = at
    old.dirty = True
    if old.in_db or old.recorded_from < at:
        closed.append(old)
    new = LiveRow(rev, at)
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


def _revision_row(assertion_id: str, row: LiveRow, state: dict[str, Any]) -> dict[str, Any]:
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
        **state,
    }


@dataclass
class Changes:
    """The row writes of a batch: new revision rows, cuts and closures of rows in the
    table, and the current rows of assertions that had one (`currents`) or none (`firsts`)."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    firsts: list[dict[str, Any]] = field(default_factory=list)
    currents: list[dict[str, Any]] = field(default_factory=list)


def fold_stream(
    assertion_id: str, rows: dict[int, LiveRow], steps: Sequence[Step], changes: Changes
) -> dict[str, Any] | None:
    """Advance a stream's live rows by `steps` (the versions after theirs, in order), and
    record in `changes` the row writes that takes; the new current row, or None when the
    stream shows nothing (it does not begin with its recording)."""
    if not rows and not isinstance(steps[0].event, AssertionRecorded):
        return None
    into = changes.currents if rows else changes.firsts
    closed: list[LiveRow] = []
    for step in steps:
        _advance(rows, step, closed)
    # A live row's state columns, made once: the current row and its revision row share
    # them (the same objects, so a bulk write can send them once: projections/bulk.py).
    states: dict[int, dict[str, Any]] = {}
    for row in [*closed, *rows.values()]:
        if not row.in_db:
            if row.recorded_to is None or row.recorded_to > row.recorded_from:
                state = states[id(row.rev)] = _state_row(row.rev)
                changes.inserts.append(_revision_row(assertion_id, row, state))
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
    state = states.get(id(current)) or _state_row(current)
    written = {"assertion_id": assertion_id, **state}
    into.append(written)
    return written
