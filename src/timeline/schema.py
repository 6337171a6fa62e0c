"""All tables, for Alembic: the store's and the projections'."""

from __future__ import annotations

from timeline.store.tables import metadata

__all__ = ["metadata"]
