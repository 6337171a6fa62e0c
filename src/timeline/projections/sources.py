"""The sources read model: one row per source, its current fields and status.

A `recorded_at` read folds the source's own stream (a source has few events)
instead of keeping bitemporal rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Column, DateTime, Table, Text, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.domain.events import (
    SourceEvent,
)
from timeline.domain.sources import Source, fold
from timeline.projections.schema import SCHEMA, folded_columns, folded_values
from timeline.projections.temporal import NOW, Temporal
from timeline.projections.views import SourceView
from timeline.store.append import StreamRef
from timeline.store.read import read_stream
from timeline.store.tables import metadata

sources = Table(
    "sources",
    metadata,
    Column("source_id", Text, primary_key=True),
    Column("publisher", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("url", Text, nullable=True),
    Column("published_at", DateTime(timezone=True), nullable=True),
    Column("published_at_note", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("via", Text, nullable=True),
    Column("credits", ARRAY(Text), nullable=False),
    Column("status", Text, nullable=False),
    Column("withdrawn_at", DateTime(timezone=True), nullable=True),
    Column("withdrawal_reason", Text, nullable=False),
    *folded_columns(),
    schema=SCHEMA,
)

# -- how each event changes the row --------------------------------------------


def source_row(state: Source, *, recorded_at: datetime, last_position: int) -> dict[str, Any]:
    """A source's row for its folded state (the write path plans it; bulk writes send it)."""
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
        **folded_values(state.version, recorded_at, last_position),
    }


# -- reads ----------------------------------------------------------------------


def source_view(
    source: Source, *, recorded_at: datetime, last_position: int, withdrawn: bool | None = None
) -> SourceView:
    """The view of a source state; `withdrawn=False` shows it as not (yet) withdrawn."""
    is_withdrawn = source.withdrawn if withdrawn is None else withdrawn
    row = source_row(source, recorded_at=recorded_at, last_position=last_position)
    if not is_withdrawn:
        row.update(status="active", withdrawn_at=None, withdrawal_reason="")
    return source_view_of_row(row)


def source_view_of_row(row: Mapping[Any, Any]) -> SourceView:
    """The view of a row of the sources table (as a dict of its columns)."""
    return SourceView(
        id=row["source_id"],
        **{name: value for name, value in row.items() if name != "source_id"},
    )


async def get_source(
    conn: AsyncConnection, source_id: str, temporal: Temporal = NOW
) -> SourceView | None:
    """The source as `temporal` asks.

    With known_at, a source published after it is absent and a withdrawal
    after it is not shown; with recorded_at, the source's stream is folded.
    """
    if temporal.is_current:
        query = select(sources).where(sources.c.source_id == source_id)
        row = (await conn.execute(query)).first()
        return None if row is None else source_view_of_row(row._mapping)
    recorded = await read_stream(
        conn, StreamRef("source", source_id), recorded_at=temporal.recorded_at
    )
    state = fold(cast(SourceEvent, r.event) for r in recorded)
    if state is None:
        return None
    withdrawn = state.withdrawn
    known_at = temporal.known_at
    if known_at is not None:
        if state.published_at is not None and state.published_at > known_at:
            return None
        withdrawn = withdrawn and state.withdrawn_at is not None and state.withdrawn_at <= known_at
    return source_view(
        state,
        recorded_at=max(r.recorded_at for r in recorded),
        last_position=max(r.position for r in recorded),
        withdrawn=withdrawn,
    )
