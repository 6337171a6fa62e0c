"""payload statistics: ANALYZE keeps none of the projections' JSON payload columns

No statement filters, joins or sorts on an assertion's or a revision's state,
view, event JSON, changes or citations, so no plan reads their statistics;
sampling them was most of what ANALYZE of the revisions table cost (about
0.3 s of 0.5 s at 15,000 rows, on a rebuild's critical path). The list is this
migration's own; a rebuild sets the same on its tables
(projections.assertions.PAYLOAD_COLUMNS).

Create Date: 2026-12-02 14:50:00.000000
"""

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"

_PAYLOAD = {
    "assertions": ("state", "view"),
    "revisions": ("event_data", "changes", "citations", "state", "view"),
}


def _set(target: int) -> None:
    for table, columns in _PAYLOAD.items():
        op.execute(
            f"ALTER TABLE projections.{table} "
            + ", ".join(f"ALTER COLUMN {c} SET STATISTICS {target}" for c in columns)
        )


def upgrade() -> None:
    _set(0)


def downgrade() -> None:
    _set(-1)
