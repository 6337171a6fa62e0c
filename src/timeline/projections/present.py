"""Domain states and stored rows as the read views of views.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from timeline.domain.assertions import Assertion, Change
from timeline.domain.occurred import Occurred
from timeline.domain.sources import Source
from timeline.domain.values import Citation, Place, Quantity
from timeline.projections.views import (
    AssertionView,
    ChangeView,
    SourceView,
    StanceView,
)

_changes_decoder = msgspec.json.Decoder(list[Change])
_citations_decoder = msgspec.json.Decoder(list[Citation])


class _StoredState(msgspec.Struct, kw_only=True):
    """A stored assertion state (domain.assertions.Assertion as JSON), decoded into the
    view's own types, so the view is made from it without converting anything."""

    assertion_id: str
    timeline: str
    occurred: Occurred
    kind: str
    summary: str
    place: Place | None
    actors: list[str]
    quantities: list[Quantity]
    claimant: str | None
    citations: list[Citation]
    stances: list[StanceView] = msgspec.field(default_factory=list)
    status: str = "active"
    version: int = 1
    first_reported_at: datetime
    last_reported_at: datetime


class _PageRow(msgspec.Struct, array_like=True):
    state: _StoredState
    recorded_at: datetime
    last_position: int


_stored_decoder = msgspec.json.Decoder(_StoredState)
_page_decoder = msgspec.json.Decoder(list[_PageRow])

# A timestamptz as RFC 3339 UTC text whatever the session's TimeZone: msgspec
# decodes it into the same aware datetime asyncpg returns.
_UTC_TEXT = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def page_row_sql(alias: str) -> str:
    """SQL of one page row as JSON, [state, recorded_at, last_position], for decode_page.

    Measured: letting PostgreSQL reshape the state into the view's JSON (jsonb
    `-` and `||`, or json_build_object field by field) costs more per row than
    decoding the state as stored and making the view here.
    """
    recorded_at = _UTC_TEXT.format(f"{alias}.recorded_at")
    return f"json_build_array({alias}.state, {recorded_at}, {alias}.last_position)"


def _view(state: _StoredState, recorded_at: datetime, last_position: int) -> AssertionView:
    return AssertionView(
        id=state.assertion_id,
        timeline=state.timeline,
        version=state.version,
        status=state.status,
        occurred=state.occurred.text,
        occurred_start=state.occurred.start,
        occurred_end=state.occurred.end,
        kind=state.kind,
        summary=state.summary,
        place=state.place,
        actors=state.actors,
        quantities=state.quantities,
        claimant=state.claimant,
        citations=state.citations,
        stances=state.stances,
        first_reported_at=state.first_reported_at,
        last_reported_at=state.last_reported_at,
        recorded_at=recorded_at,
        last_position=last_position,
    )


def decode_page(text: str | bytes) -> list[AssertionView]:
    """The views of a JSON array of page_row_sql rows."""
    return [_view(r.state, r.recorded_at, r.last_position) for r in _page_decoder.decode(text)]


def assertion_view(state: Assertion, *, recorded_at: datetime, last_position: int) -> AssertionView:
    """The view of an assertion state."""
    return AssertionView(
        id=state.assertion_id,
        timeline=state.timeline,
        version=state.version,
        status=state.status,
        occurred=state.occurred.text,
        occurred_start=state.occurred.start,
        occurred_end=state.occurred.end,
        kind=state.kind,
        summary=state.summary,
        place=state.place,
        actors=list(state.actors),
        quantities=list(state.quantities),
        claimant=state.claimant,
        citations=list(state.citations),
        stances=[
            StanceView(
                party=s.party,
                stance=s.stance,
                statement=s.statement,
                citations=list(s.citations),
                reported_at=s.reported_at,
            )
            for s in state.stances
        ],
        first_reported_at=state.first_reported_at,
        last_reported_at=state.last_reported_at,
        recorded_at=recorded_at,
        last_position=last_position,
    )


def assertion_view_of_row(row: Any) -> AssertionView:
    """The view of a row that selected `state::text AS state`, last_position and recorded_at."""
    return _view(_stored_decoder.decode(row.state), row.recorded_at, row.last_position)


def changes_of_row(text: str) -> list[ChangeView]:
    return [ChangeView(c.field, c.before, c.after) for c in _changes_decoder.decode(text)]


def citations_of_row(text: str) -> list[Citation]:
    return _citations_decoder.decode(text)


def source_view(
    source: Source, *, recorded_at: datetime, last_position: int, withdrawn: bool | None = None
) -> SourceView:
    """The view of a source state; `withdrawn=False` shows it as not (yet) withdrawn."""
    is_withdrawn = source.withdrawn if withdrawn is None else withdrawn
    return SourceView(
        id=source.source_id,
        publisher=source.publisher,
        title=source.title,
        url=source.url,
        published_at=source.published_at,
        published_at_note=source.published_at_note,
        language=source.language,
        via=source.via,
        credits=list(source.credits),
        status="withdrawn" if is_withdrawn else "active",
        withdrawn_at=source.withdrawn_at if is_withdrawn else None,
        withdrawal_reason=source.withdrawal_reason if is_withdrawn else "",
        version=source.version,
        recorded_at=recorded_at,
        last_position=last_position,
    )
