"""What every read route shares: its declaration, and the `ctx` dependency that serves it.

A read handler names its path parameters and whatever else it reads, takes
`ctx` last, and returns `ctx.serve(key, scope, fill)`: the kept answer of its
key (api/answers.py), 304 when If-None-Match matches. `ctx` bundles the reader,
the temporal parameters of DESIGN §1 and If-None-Match; taking it last keeps
If-None-Match last among the parameters the OpenAPI document lists.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec

from timeline.api.answers import Fill
from timeline.api.caching import cached
from timeline.api.docs import READ_ERRORS, IfNoneMatch
from timeline.api.params import provide_temporal
from timeline.api.state import AppState, Reader
from timeline.projections.freshness import Scope
from timeline.projections.temporal import Temporal


def read_route(
    path: str, summary: str, operation_id: str, responses: dict[int, ResponseSpec] = READ_ERRORS
) -> get:
    """What every read route declares: its path, summary, operation id and errors."""
    return get(path, summary=summary, operation_id=operation_id, responses=responses)


@dataclass(frozen=True, slots=True)
class ReadContext:
    """A read route's reader, its temporal parameters and the ETag the client holds."""

    reader: Reader
    temporal: Temporal
    if_none_match: str | None

    async def serve(self, key: tuple[Hashable, ...], scope: Scope, fill: Fill) -> Response[Any]:
        """The kept answer of `key` at this temporal, as fresh as a read begun now."""
        return await self.reader.serve(
            (*key, self.temporal),
            scope,
            fill,
            temporal=self.temporal,
            if_none_match=self.if_none_match,
        )

    async def fresh(self, fill: Fill) -> Response[Any]:
        """`fill` read now and not kept: for an answer that is another at every instant."""
        async with self.reader.read() as conn:
            view, _ = await fill(conn)
        return cached(view, self.temporal, if_none_match=self.if_none_match)


# `state`, not the `reader` dependency: with `temporal` its only dependency, Litestar
# resolves the two one after the other, with no task group between them.
def provide_read(
    state: State, temporal: NamedDependency[Temporal], if_none_match: IfNoneMatch = None
) -> ReadContext:
    """A read at the temporal parameters of DESIGN §1."""
    return ReadContext(Reader(AppState.of_state(state)), temporal, if_none_match)


def provide_store_read(state: State, if_none_match: IfNoneMatch = None) -> ReadContext:
    """A read of the store as it is now, which takes no temporal parameters."""
    return ReadContext(Reader(AppState.of_state(state)), Temporal(), if_none_match)


# A read controller's dependencies: `ctx` for the temporal reads, `store_ctx` for the others.
READS = {
    "temporal": Provide(provide_temporal),
    "ctx": Provide(provide_read, sync_to_thread=False),
    "store_ctx": Provide(provide_store_read, sync_to_thread=False),
}
