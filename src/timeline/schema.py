"""All tables, for Alembic: the store's and the projections'."""

from __future__ import annotations

from timeline.projections import assertions, build_schema, sources, timelines
from timeline.relay import checkpoint as relay_tables
from timeline.store.tables import metadata

# Imported for their tables, which they add to `metadata`.
__all__ = ["assertions", "build_schema", "metadata", "relay_tables", "sources", "timelines"]
