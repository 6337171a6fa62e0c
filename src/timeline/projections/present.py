"""Domain states and stored rows as the read views of views.py."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

from timeline.domain.assertions import Assertion, Change
from timeline.domain.values import Citation
from timeline.projections.views import (
    AssertionView,
    ChangeView,
    StanceView,
    TimelinePage,
)

_changes_decoder = msgspec.json.Decoder(list[Change])
_citations_decoder = msgspec.json.Decoder(list[Citation])
_view_decoder = msgspec.json.Decoder(AssertionView)
_views_decoder = msgspec.json.Decoder(list[AssertionView])
_encoder = msgspec.json.Encoder()


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
        dataset_row=state.dataset_row,
    )


def view_json(state: Assertion, *, recorded_at: datetime, last_position: int) -> str:
    """The JSON of the assertion's view, as stored in a projection row's `view` and served."""
    view = assertion_view(state, recorded_at=recorded_at, last_position=last_position)
    return _encoder.encode(view).decode()


def assertion_view_of_row(row: Any) -> AssertionView:
    """The view of a row that selected its stored `view`."""
    return _view_decoder.decode(row.view)


def decode_views(array: str | bytes | msgspec.Raw) -> list[AssertionView]:
    """The views of a JSON array of stored views."""
    return _views_decoder.decode(array)


def changes_of_row(text: str) -> list[ChangeView]:
    return [ChangeView(c.field, c.before, c.after) for c in _changes_decoder.decode(text)]


def citations_of_row(text: str) -> list[Citation]:
    return _citations_decoder.decode(text)


def new_timeline_page(row: Mapping[str, Any]) -> TimelinePage:
    """The page of a timeline just opened, from its row: it has no assertions yet."""
    return TimelinePage(
        slug=row["slug"],
        title=row["title"],
        description=row["description"],
        region=row["region"],
        version=row["version"],
        assertions=[],
        next_cursor=None,
        last_position=row["last_position"],
    )
