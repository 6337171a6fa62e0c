"""Which revision rows answer a question on the three clocks (DESIGN §1): one definition.

A revision row holds an assertion's state after one event, with two intervals:
`[recorded_from, recorded_to)`, when this store held the row, and
`[known_from, known_to)`, the knowledge in which it was the latest state. An
in-place cut of an open `known_to` counts only from `known_cut_at`. Every read
of the revisions table picks its rows with these terms, so a page, an
assertion, its history and a timeline's changes agree on what was held and
known. The SQL terms compare open ends through coalesce(..., 'infinity'), the
expressions of the read indexes (migration 0003), so they are checked inside
the index; `known_to` is the same test in Python, for a row already read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from timeline.projections.temporal import Temporal

INFINITY = "'infinity'::timestamptz"


def held(temporal: Temporal, params: dict[str, Any], alias: str = "r") -> list[str]:
    """The rows this store held at recorded_at (without one: the rows it holds now),
    first reported by known_at: every revision a history at `temporal` lists."""
    where: list[str] = []
    if temporal.recorded_at is None:
        where.append(f"{alias}.recorded_to IS NULL")
    else:
        params["recorded_at"] = temporal.recorded_at
        where.append(
            f"{alias}.recorded_from <= :recorded_at "
            f"AND coalesce({alias}.recorded_to, {INFINITY}) > :recorded_at"
        )
    if temporal.known_at is not None:
        params["known_at"] = temporal.known_at
        where.append(f"{alias}.known_from <= :known_at")
    return where


def latest(temporal: Temporal, alias: str = "r") -> str:
    """Of the held rows, the one per assertion that was the latest known at known_at
    (its knowledge interval still open then, as the store held it at recorded_at)."""
    if temporal.known_at is None:
        open_end = f"{alias}.known_to IS NULL"
    else:
        open_end = f"coalesce({alias}.known_to, {INFINITY}) > :known_at"
    if temporal.recorded_at is not None:
        open_end = f"({open_end} OR {alias}.known_cut_at > :recorded_at)"
    return open_end


def visible(temporal: Temporal, params: dict[str, Any], alias: str = "r") -> list[str]:
    """WHERE terms picking the one revision row per assertion that answers `temporal`."""
    return [*held(temporal, params, alias), latest(temporal, alias)]


def known_to(row: Any, temporal: Temporal) -> datetime | None:
    """The end of a held row's knowledge interval as `temporal` sees it (None: still open):
    `latest` for one row in Python."""
    end: datetime | None = row.known_to
    if end is None:
        return None
    if temporal.recorded_at is not None and (
        row.known_cut_at is not None and row.known_cut_at > temporal.recorded_at
    ):
        return None
    if temporal.known_at is not None and end > temporal.known_at:
        return None
    return end


def occurred_window(temporal: Temporal, params: dict[str, Any], alias: str = "r") -> list[str]:
    """The rows whose valid time overlaps [occurred_from, occurred_to]."""
    where = []
    if temporal.occurred_from is not None:
        params["occurred_from"] = temporal.occurred_from
        where.append(f"{alias}.occurred_end >= :occurred_from")
    if temporal.occurred_to is not None:
        params["occurred_to"] = temporal.occurred_to
        where.append(f"{alias}.occurred_start <= :occurred_to")
    return where
