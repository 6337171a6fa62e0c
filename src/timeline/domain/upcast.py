"""Upcasters: old event shapes are read, never rewritten.

An upcaster takes the stored `data` of an event at `schema_version` N and
returns the shape of version N + 1. `upcast` applies them in a chain until the
event type's current `schema_version`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Data = dict[str, Any]
Upcaster = Callable[[Data], Data]

# (event type, from schema_version) -> upcaster to from_version + 1
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function as the upcaster of `event_type` from `from_version`."""

    def register(function: Upcaster) -> Upcaster:
        key = (event_type, from_version)
        if key in UPCASTERS:
            raise ValueError(f"an upcaster of {event_type} v{from_version} exists already")
        UPCASTERS[key] = function
        return function

    return register


class MissingUpcaster(LookupError):
    """A stored event's version has no path to the current shape."""


def upcast(event_type: str, version: int, target: int, data: Data) -> Data:
    """Bring `data` from `version` up to `target` through the registered chain."""
    if version > target:
        raise MissingUpcaster(f"{event_type} v{version} is newer than this code (v{target})")
    while version < target:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise MissingUpcaster(f"no upcaster for {event_type} v{version}")
        data = step(dict(data))
        version += 1
    return data


@upcaster("AssertionRecorded", 0)
def _assertion_recorded_v0_v1(data: Data) -> Data:
    """Pre-release shape: `claimed_by` was renamed `claimant`; actors were a comma string."""
    if "claimed_by" in data:
        data["claimant"] = data.pop("claimed_by")
    actors = data.get("actors")
    if isinstance(actors, str):
        data["actors"] = [a.strip() for a in actors.split(",") if a.strip()]
    return data
