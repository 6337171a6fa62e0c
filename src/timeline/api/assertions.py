"""Assertions: read at any date, revise, confirm / deny / dispute, retract, and their history."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response
from litestar.di import NamedDependency
from litestar.params import Body, Parameter

from timeline.api import examples
from timeline.api.answers import Fill
from timeline.api.assertion_bodies import RetractionBody, RevisionBody, StanceBody
from timeline.api.docs import (
    VERSIONED_WRITE_ERRORS,
    problems,
)
from timeline.api.errors import ApiProblem
from timeline.api.reading import ReadContext, read_route
from timeline.api.resources import ResourceController
from timeline.api.writes import Write, now, write_route
from timeline.commands import handlers
from timeline.projections import assertions as reads
from timeline.projections.freshness import Scope
from timeline.projections.temporal import Temporal
from timeline.projections.views import AssertionView, HistoryView

AssertionId = Annotated[
    str, Parameter(description="the assertion's id", examples=examples.ASSERTION_IDS)
]


def _absent(assertion_id: str) -> ApiProblem:
    return ApiProblem(404, "not-found", f"no assertion {assertion_id!r} then", field="assertion_id")


_PATH = "/v1/assertions/"
_READ = reads.get_assertion
_CHANGE = handlers.change_assertion


async def _change(
    change: Write,
    assertion_id: str,
    data: RevisionBody | StanceBody | RetractionBody,
    *,
    required: bool = False,
) -> Response[AssertionView]:
    """Run the body's command on the assertion; the answer is the assertion it left."""
    cmd = data.to_command(assertion_id, now=now())
    return await change.change(_CHANGE, cmd, data, _READ, _PATH, required=required)


def _scope(assertion_id: str) -> Scope:
    return Scope.of_stream("assertion", assertion_id)


def _assertion(assertion_id: str, temporal: Temporal) -> Fill:
    """The assertion, versioned by its stream version; 404 when absent then."""

    async def fill(conn: Any) -> tuple[AssertionView, int]:
        view = await reads.get_assertion(conn, assertion_id, temporal)
        if view is None:
            raise _absent(assertion_id)
        return view, view.version

    return fill


def _history(assertion_id: str, temporal: Temporal) -> Fill:
    """Its history, with a content ETag; 404 when absent then."""

    async def fill(conn: Any) -> tuple[HistoryView, None]:
        view = await reads.get_history(conn, assertion_id, temporal)
        if view is None:
            raise _absent(assertion_id)
        return view, None

    return fill


class AssertionController(ResourceController):
    path = "/v1/assertions"
    tags = ("assertions",)

    @read_route("/{assertion_id:str}", "Read an assertion at any date", "GetAssertion")
    async def read(
        self, assertion_id: AssertionId, ctx: NamedDependency[ReadContext]
    ) -> Response[AssertionView]:
        """One assertion as known at `known_at` and held at `recorded_at` (default: now)."""
        fill = _assertion(assertion_id, ctx.temporal)
        return await ctx.serve(("assertion", assertion_id), _scope(assertion_id), fill)

    @read_route(
        "/{assertion_id:str}/history",
        "Every version of an assertion, in knowledge order",
        "GetAssertionHistory",
    )
    async def history(
        self, assertion_id: AssertionId, ctx: NamedDependency[ReadContext]
    ) -> Response[HistoryView]:
        """Each version with what changed (field, from, to), the reason and the full state."""
        fill = _history(assertion_id, ctx.temporal)
        return await ctx.serve(("history", assertion_id), _scope(assertion_id), fill)

    @write_route(
        "/{assertion_id:str}/revisions",
        "Revise an assertion",
        "ReviseAssertion",
        {**VERSIONED_WRITE_ERRORS, **problems(428)},
    )
    async def revise(
        self,
        assertion_id: AssertionId,
        change: NamedDependency[Write],
        data: Annotated[RevisionBody, Body(examples=examples.REVISION)],
    ) -> Response[AssertionView]:
        """Change some fields, with a reason; If-Match must carry the version you read."""
        return await _change(change, assertion_id, data, required=True)

    @write_route(
        "/{assertion_id:str}/stances",
        "Confirm, deny or dispute an assertion",
        "RecordStance",
        VERSIONED_WRITE_ERRORS,
    )
    async def stance(
        self,
        assertion_id: AssertionId,
        change: NamedDependency[Write],
        data: Annotated[StanceBody, Body(examples=examples.STANCE)],
    ) -> Response[AssertionView]:
        """A party confirms, denies or disputes it; a denial or dispute makes it `contested`."""
        return await _change(change, assertion_id, data)

    @write_route(
        "/{assertion_id:str}/retraction",
        "Retract an assertion",
        "RetractAssertion",
        VERSIONED_WRITE_ERRORS,
    )
    async def retract(
        self,
        assertion_id: AssertionId,
        change: NamedDependency[Write],
        data: Annotated[RetractionBody, Body(examples=examples.RETRACTION)],
    ) -> Response[AssertionView]:
        """Retract it, with a reason; it cannot be revised afterwards."""
        return await _change(change, assertion_id, data)
