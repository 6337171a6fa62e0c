"""A timeline's and a source's row carry every column of their table, the folded ones included."""

from __future__ import annotations

from datetime import UTC, datetime

from timeline.domain.sources import Source
from timeline.domain.timelines import Timeline
from timeline.projections.schema import folded_columns, folded_values
from timeline.projections.sources import source_row, sources
from timeline.projections.timelines import timeline_row, timelines

AT = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_folded_values_name_the_folded_columns() -> None:
    values = folded_values(3, AT, 41)
    assert list(values) == [c.name for c in folded_columns()]
    assert values == {"version": 3, "recorded_at": AT, "last_position": 41}


def test_a_timeline_row_fills_its_table_and_ends_with_the_folded_values() -> None:
    state = Timeline(slug="t", title="T", description="d", region="r", version=2)
    row = timeline_row(state, recorded_at=AT, last_position=7)
    assert list(row) == [c.name for c in timelines.columns]
    assert (row["version"], row["recorded_at"], row["last_position"]) == (2, AT, 7)


def test_a_source_row_fills_its_table_and_ends_with_the_folded_values() -> None:
    state = Source(
        source_id="s",
        publisher="P",
        title="T",
        url=None,
        published_at=None,
        published_at_note="",
        language="en",
        via=None,
        credits=("c",),
        version=5,
    )
    row = source_row(state, recorded_at=AT, last_position=11)
    assert list(row) == [c.name for c in sources.columns]
    assert (row["version"], row["recorded_at"], row["last_position"]) == (5, AT, 11)
    assert (row["status"], row["credits"]) == ("active", ["c"])
