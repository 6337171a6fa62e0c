"""Sources: register, read, update and withdraw the publications that carry reports."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Response
from litestar.di import NamedDependency
from litestar.params import Body, Parameter

from timeline.api import examples
from timeline.api.answers import Fill
from timeline.api.docs import (
    VERSIONED_WRITE_ERRORS,
)
from timeline.api.errors import ApiProblem
from timeline.api.reading import ReadContext, read_route
from timeline.api.resources import ResourceController
from timeline.api.schemas import SourceBody, SourceUpdateBody, WithdrawalBody
from timeline.api.writes import Write, now, write_route
from timeline.commands import handlers
from timeline.projections import sources as reads
from timeline.projections.freshness import Scope
from timeline.projections.temporal import Temporal
from timeline.projections.views import SourceView

SourceId = Annotated[str, Parameter(description="the source's id", examples=examples.SOURCE)]


def _source(source_id: str, temporal: Temporal) -> Fill:
    """The source, versioned by its stream version; 404 when absent."""

    async def fill(conn: Any) -> tuple[SourceView, int]:
        view = await reads.get_source(conn, source_id, temporal)
        if view is None:
            raise ApiProblem(404, "not-found", f"no source {source_id!r}", field="source_id")
        return view, view.version

    return fill


class SourceController(ResourceController):
    path = "/v1/sources"
    tags = ("sources",)

    @write_route("/", "Register a source", "RegisterSource", VERSIONED_WRITE_ERRORS)
    async def register(
        self,
        new: NamedDependency[Write],
        data: Annotated[SourceBody, Body(examples=examples.SOURCE_BODY)],
    ) -> Response[SourceView]:
        """Register a publication; `via` names the source it republishes."""
        cmd = data.to_command(str(uuid.uuid4()))
        return await new.new(handlers.register_source, cmd, data, reads.get_source, _PATH)

    @read_route("/{source_id:str}", "Read a source", "GetSource")
    async def read(
        self, source_id: SourceId, ctx: NamedDependency[ReadContext]
    ) -> Response[SourceView]:
        """One source, as this store held it at `recorded_at` (default now)."""
        fill = _source(source_id, ctx.temporal)
        return await ctx.serve(("source", source_id), Scope.of_stream("source", source_id), fill)

    @write_route(
        "/{source_id:str}/updates", "Update a source", "UpdateSource", VERSIONED_WRITE_ERRORS
    )
    async def update(
        self,
        source_id: SourceId,
        change: NamedDependency[Write],
        data: Annotated[SourceUpdateBody, Body(examples=examples.SOURCE_UPDATE)],
    ) -> Response[SourceView]:
        """Change some of a source's fields; fields left out stay as they are."""
        cmd = data.to_command(source_id)
        return await change.change(handlers.update_source, cmd, data, reads.get_source, _PATH)

    @write_route(
        "/{source_id:str}/withdrawal", "Withdraw a source", "WithdrawSource", VERSIONED_WRITE_ERRORS
    )
    async def withdraw(
        self,
        source_id: SourceId,
        change: NamedDependency[Write],
        data: Annotated[WithdrawalBody, Body(examples=examples.WITHDRAWAL)],
    ) -> Response[SourceView]:
        """Withdraw a source: assertions resting on it alone become `unsupported`."""
        cmd = data.to_command(source_id, now=now())
        return await change.change(handlers.withdraw_source, cmd, data, reads.get_source, _PATH)


_PATH = "/v1/sources/"
