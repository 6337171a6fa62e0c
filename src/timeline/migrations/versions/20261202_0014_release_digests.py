"""release digests: the files a timeline last took for a dataset's newest release

`dataset_releases` gains, for the last complete import of the newest release:
the digest of its release file and deletions file (`digest`), the report a
re-import of those bytes would give (`reimport`), and `settled_tx`, a
transaction id such that every older transaction had ended when the import
was done, so every later write to the timeline has an id from it on. A
re-import of the same bytes then writes nothing without reading a row, as
long as no assertion event of the timeline has a transaction id from
`settled_tx` on (transfer/unchanged.py). An import clears the digest before
it writes and sets it only when it ended with no bad row, so a digest never
stands for files that were imported in part.

Create Date: 2026-12-02 14:10:00.000000
"""

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"


def upgrade() -> None:
    op.execute(
        "ALTER TABLE dataset_releases "
        "ADD COLUMN digest bytea, ADD COLUMN reimport jsonb, ADD COLUMN settled_tx xid8"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE dataset_releases "
        "DROP COLUMN digest, DROP COLUMN reimport, DROP COLUMN settled_tx"
    )
