"""What the timeline and source states share: each event moves one a version on.

A state is built from its stream's events in order (`fold`); an event that
changes it makes the next version (`next_version`), and a partial change
(`...Updated`, `...Retitled`) sets only the fields it carries (`updated`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar, cast

import msgspec

from timeline.domain.events import Event, set_fields


class _Versioned(Protocol):
    @property
    def version(self) -> int: ...


S = TypeVar("S", bound=msgspec.Struct)  # a Source or a Timeline: a _Versioned struct
E = TypeVar("E", bound=Event)


def next_version(state: S, **changes: Any) -> S:
    """`state` one version on, with `changes`."""
    version = cast(_Versioned, state).version
    return msgspec.structs.replace(state, version=version + 1, **changes)


def updated(state: S, event: Event, names: Iterable[str]) -> S:
    """`state` one version on, with the fields of `names` that the partial change `event` sets."""
    return next_version(state, **set_fields(event, names))


def fold(evolve: Callable[[S | None, E], S], events: Iterable[E]) -> S | None:
    """The state after `events`, in stream order; None for no event."""
    state: S | None = None
    for event in events:
        state = evolve(state, event)
    return state
