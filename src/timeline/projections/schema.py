"""The PostgreSQL schema every read model's tables live in.

A rebuild creates the same tables in a fresh schema (via `schema_translate_map`)
and swaps the schemas by renaming them, so every table of a read model names
`schema=SCHEMA`, and reads name their tables through the `Table` objects.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Table, TextClause, bindparam, text
from sqlalchemy.types import TypeEngine

SCHEMA = "projections"

Literal = tuple[str, type[TypeEngine[Any]]]


def folded_columns() -> list[Column[object]]:
    """The columns a row folded from one stream ends with: the stream's version, when
    its last event was recorded, and that event's position (an ETag input)."""
    return [
        Column("version", BigInteger, nullable=False),
        Column("recorded_at", DateTime(timezone=True), nullable=False),
        Column("last_position", BigInteger, nullable=False),
    ]


def folded_values(version: int, recorded_at: datetime, last_position: int) -> dict[str, Any]:
    """The values of a row's folded_columns, by their names."""
    return {"version": version, "recorded_at": recorded_at, "last_position": last_position}


def name(table: Table) -> str:
    """The table's qualified name, for the reads written as SQL text."""
    return table.fullname


@lru_cache(maxsize=512)
def statement(sql: str, literal: tuple[Literal, ...] = ()) -> TextClause:
    """text(sql), made once per distinct statement (reads build few distinct ones).

    The parameters named in `literal` (with their types) are written into the
    statement as SQL literals when it runs (SQLAlchemy's literal_execute, quoted
    by the dialect).
    """
    clause = text(sql)
    if literal:
        clause = clause.bindparams(
            *(bindparam(key, type_=type_, literal_execute=True) for key, type_ in literal)
        )
    return clause
