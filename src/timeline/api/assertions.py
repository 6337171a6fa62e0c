"""Assertions: read at any date, revise, confirm / deny / dispute, retract, and their history."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import Body, Parameter

from timeline.api import examples
from timeline.api.answers import Fill
from timeline.api.assertion_bodies import RetractionBody, RevisionBody, StanceBody
from timeline.api.auth import require_read, require_write
from timeline.api.caching import if_match_version
from timeline.api.docs import (
    READ_ERRORS,
    VERSIONED_WRITE_ERRORS,
    IdempotencyKey,
    IfMatch,
    IfNoneMatch,
    problems,
)
from timeline.api.errors import ApiProblem
from timeline.api.params import provide_temporal
from timeline.api.state import Reader
from timeline.api.writes import created, now, write_context
from timeline.commands import handlers
from timeline.commands.writer import Writer
from timeline.projections import assertions as reads
from timeline.projections.freshness import Scope
from timeline.projections.temporal import Temporal
from timeline.projections.views import AssertionView, HistoryView

AssertionId = Annotated[
    str, Parameter(description="the assertion's id", examples=examples.ASSERTION_IDS)
]


def _absent(assertion_id: str) -> ApiProblem:
    return ApiProblem(404, "not-found", f"no assertion {assertion_id!r} then", field="assertion_id")


def _location(assertion_id: str) -> str:
    return f"/v1/assertions/{assertion_id}"


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


class AssertionController(Controller):
    path = "/v1/assertions"
    tags = ("assertions",)
    guards = (require_read,)
    dependencies = {"temporal": Provide(provide_temporal)}  # noqa: RUF012

    @get(
        "/{assertion_id:str}",
        summary="Read an assertion at any date",
        operation_id="GetAssertion",
        responses=READ_ERRORS,
    )
    async def read(
        self,
        reader: NamedDependency[Reader],
        assertion_id: AssertionId,
        temporal: NamedDependency[Temporal],
        if_none_match: IfNoneMatch = None,
    ) -> Response[AssertionView]:
        """One assertion as known at `known_at` and held at `recorded_at` (default: now)."""
        key = ("assertion", assertion_id, temporal)
        scope = Scope.of_stream("assertion", assertion_id)
        fill = _assertion(assertion_id, temporal)
        return await reader.serve(key, scope, fill, temporal=temporal, if_none_match=if_none_match)

    @get(
        "/{assertion_id:str}/history",
        summary="Every version of an assertion, in knowledge order",
        operation_id="GetAssertionHistory",
        responses=READ_ERRORS,
    )
    async def history(
        self,
        reader: NamedDependency[Reader],
        assertion_id: AssertionId,
        temporal: NamedDependency[Temporal],
        if_none_match: IfNoneMatch = None,
    ) -> Response[HistoryView]:
        """Each version with what changed (field, from, to), the reason and the full state."""
        key = ("history", assertion_id, temporal)
        scope = Scope.of_stream("assertion", assertion_id)
        fill = _history(assertion_id, temporal)
        return await reader.serve(key, scope, fill, temporal=temporal, if_none_match=if_none_match)

    @post(
        "/{assertion_id:str}/revisions",
        summary="Revise an assertion",
        operation_id="ReviseAssertion",
        guards=[require_write],
        responses={**VERSIONED_WRITE_ERRORS, **problems(428)},
        security=[{"bearer": []}],
    )
    async def revise(
        self,
        request: Request[Any, Any, Any],
        writer: NamedDependency[Writer],
        reader: NamedDependency[Reader],
        assertion_id: AssertionId,
        data: Annotated[RevisionBody, Body(examples=examples.REVISION)],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[AssertionView]:
        """Change some fields, with a reason; If-Match must carry the version you read."""
        expected = if_match_version(if_match, required=True)
        cmd = data.to_command(assertion_id, now=now())
        result = await handlers.change_assertion(
            writer, cmd, write_context(request, data), expected
        )
        return await created(reader, result, reads.get_assertion, _location(assertion_id))

    @post(
        "/{assertion_id:str}/stances",
        summary="Confirm, deny or dispute an assertion",
        operation_id="RecordStance",
        guards=[require_write],
        responses=VERSIONED_WRITE_ERRORS,
        security=[{"bearer": []}],
    )
    async def stance(
        self,
        request: Request[Any, Any, Any],
        writer: NamedDependency[Writer],
        reader: NamedDependency[Reader],
        assertion_id: AssertionId,
        data: Annotated[StanceBody, Body(examples=examples.STANCE)],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[AssertionView]:
        """A party confirms, denies or disputes it; a denial or dispute makes it `contested`."""
        cmd, ctx = data.to_command(assertion_id, now=now()), write_context(request, data)
        expected = if_match_version(if_match, required=False)
        result = await handlers.change_assertion(writer, cmd, ctx, expected)
        return await created(reader, result, reads.get_assertion, _location(assertion_id))

    @post(
        "/{assertion_id:str}/retraction",
        summary="Retract an assertion",
        operation_id="RetractAssertion",
        guards=[require_write],
        responses=VERSIONED_WRITE_ERRORS,
        security=[{"bearer": []}],
    )
    async def retract(
        self,
        request: Request[Any, Any, Any],
        writer: NamedDependency[Writer],
        reader: NamedDependency[Reader],
        assertion_id: AssertionId,
        data: Annotated[RetractionBody, Body(examples=examples.RETRACTION)],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[AssertionView]:
        """Retract it, with a reason; it cannot be revised afterwards."""
        cmd, ctx = data.to_command(assertion_id, now=now()), write_context(request, data)
        expected = if_match_version(if_match, required=False)
        result = await handlers.change_assertion(writer, cmd, ctx, expected)
        return await created(reader, result, reads.get_assertion, _location(assertion_id))
