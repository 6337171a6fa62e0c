"""stored views: each assertion and revision row keeps its API view as JSON text

A timeline page is then the stored views joined, with no jsonb turned into text
or JSON built in the database and no state decoded and re-encoded in Python
(projections.tables, column `view`). Existing rows get their view made from
their state here, by this revision's own copy of the view as it was at 0005
(`_view`): importing today's projection code would make this revision's output
change whenever that code does.

Create Date: 2026-11-25 16:30:00.000000
"""

from datetime import datetime
from typing import Any

import msgspec
from alembic import op
from sqlalchemy import text

revision: str = "0005"
down_revision: str | None = "0004"

BATCH = 2000
_KEYS = {
    "assertions": ("assertion_id",),
    "revisions": ("assertion_id", "version", "recorded_from"),
}


# The view's fields at 0005, in their order, and those of the values nested in it;
# a stored state has every field (the encoder omits none).
_PLACE = ("name", "lat", "lon", "precision")
_QUANTITY = ("measure", "low", "high", "approximate", "qualifier")
_CITATION = ("source_id", "quote")
_encoder = msgspec.json.Encoder()


def _pick(value: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: value[f] for f in fields}


def _citations(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [_pick(c, _CITATION) for c in values]


def _view(state: dict[str, Any], recorded_at: datetime, last_position: int) -> str:
    """The JSON of an assertion's view, from its stored state, as 0005 served it."""
    occurred, place = state["occurred"], state["place"]
    view = {
        "id": state["assertion_id"],
        "timeline": state["timeline"],
        "version": state["version"],
        "status": state["status"],
        "occurred": occurred["text"],
        "occurred_start": occurred["start"],
        "occurred_end": occurred["end"],
        "kind": state["kind"],
        "summary": state["summary"],
        "place": None if place is None else _pick(place, _PLACE),
        "actors": state["actors"],
        "quantities": [_pick(q, _QUANTITY) for q in state["quantities"]],
        "claimant": state["claimant"],
        "citations": _citations(state["citations"]),
        "stances": [
            {
                "party": s["party"],
                "stance": s["stance"],
                "statement": s["statement"],
                "citations": _citations(s["citations"]),
                "reported_at": s["reported_at"],
            }
            for s in state["stances"]
        ],
        "first_reported_at": state["first_reported_at"],
        "last_reported_at": state["last_reported_at"],
        "recorded_at": recorded_at,
        "last_position": last_position,
    }
    return _encoder.encode(view).decode()


def _fill(table: str) -> None:
    """Set `view` on every row of projections.<table>, a batch at a time in key order."""
    keys = _KEYS[table]
    columns = ", ".join(keys)
    where = " AND ".join(f"{k} = :{k}" for k in keys)
    after = f"({columns}) > ({', '.join(f':{k}' for k in keys)})"
    bind = op.get_bind()
    last: dict[str, Any] | None = None
    while True:
        # keyset pages, so each batch starts where the last ended (no rescan of updated rows)
        rows = bind.execute(
            text(
                f"SELECT {columns}, state::text AS state, recorded_at, last_position "
                f"FROM projections.{table} {'' if last is None else 'WHERE ' + after} "
                f"ORDER BY {columns} LIMIT {BATCH}"
            ),
            last or {},
        ).all()
        if not rows:
            return
        values: list[dict[str, Any]] = [
            {
                **{k: getattr(row, k) for k in keys},
                "view": _view(msgspec.json.decode(row.state), row.recorded_at, row.last_position),
            }
            for row in rows
        ]
        bind.execute(text(f"UPDATE projections.{table} SET view = :view WHERE {where}"), values)
        last = {k: getattr(rows[-1], k) for k in keys}


def upgrade() -> None:
    for table in _KEYS:
        op.execute(f"ALTER TABLE projections.{table} ADD COLUMN view text")
        _fill(table)
        op.execute(f"ALTER TABLE projections.{table} ALTER COLUMN view SET NOT NULL")


def downgrade() -> None:
    for table in _KEYS:
        op.execute(f"ALTER TABLE projections.{table} DROP COLUMN view")
