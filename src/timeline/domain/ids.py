"""Identifiers of the aggregates."""

from __future__ import annotations

from typing import NewType

TimelineSlug = NewType("TimelineSlug", str)
SourceId = NewType("SourceId", str)
AssertionId = NewType("AssertionId", str)
