"""stored views: each assertion and revision row keeps its API view as JSON text

A timeline page is then the stored views joined, with no jsonb turned into text
or JSON built in the database and no state decoded and re-encoded in Python
(projections.tables, column `view`). Existing rows get their view made from
their state here, by the same code the projection's apply uses.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 16:30:00.000000
"""

from collections.abc import Sequence
from typing import Any

import msgspec
from alembic import op
from sqlalchemy import text

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000
_KEYS = {
    "assertions": ("assertion_id",),
    "revisions": ("assertion_id", "version", "recorded_from"),
}


def _fill(table: str) -> None:
    """Set `view` on every row of projections.<table>, a batch at a time in key order."""
    from timeline.domain.assertions import Assertion
    from timeline.projections.present import view_json

    decoder = msgspec.json.Decoder(Assertion)
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
                "view": view_json(
                    decoder.decode(row.state),
                    recorded_at=row.recorded_at,
                    last_position=row.last_position,
                ),
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
