"""All tables, for Alembic: the store's and the projections'."""

from __future__ import annotations

from timeline.projections import tables as projection_tables
from timeline.relay import checkpoint as relay_tables
from timeline.store.tables import metadata

__all__ = ["metadata", "projection_tables", "relay_tables"]
