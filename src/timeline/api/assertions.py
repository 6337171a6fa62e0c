"""Assertions: read at any date, revise, confirm / deny / dispute, retract, and their history."""

from __future__ import annotations

from typing import Annotated, Any, cast

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import Body, Parameter

from timeline.api import examples
from timeline.api.answers import serve
from timeline.api.auth import require_read, require_write
from timeline.api.caching import if_match_version
from timeline.api.docs import READ_ERRORS, IdempotencyKey, IfMatch, IfNoneMatch, problems
from timeline.api.errors import ApiProblem
from timeline.api.params import provide_temporal
from timeline.api.schemas import RetractionBody, RevisionBody, StanceBody, citations
from timeline.api.state import AppState
from timeline.api.writes import created, now, write_context
from timeline.commands import handlers
from timeline.domain.commands import RecordStance, RetractAssertion, ReviseAssertion
from timeline.projections import assertions as reads
from timeline.projections.freshness import Scope
from timeline.projections.temporal import Temporal
from timeline.projections.views import AssertionView, HistoryView

AssertionId = Annotated[
    str, Parameter(description="the assertion's id", examples=examples.ASSERTION_IDS)
]
WRITE_ERRORS = problems(400, 401, 403, 404, 409, 412, 413, 422)


def _absent(assertion_id: str) -> ApiProblem:
    return ApiProblem(404, "not-found", f"no assertion {assertion_id!r} then", field="assertion_id")


def _location(assertion_id: str) -> str:
    return f"/v1/assertions/{assertion_id}"


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
        request: Request[Any, Any, Any],
        assertion_id: AssertionId,
        temporal: NamedDependency[Temporal],
        if_none_match: IfNoneMatch = None,
    ) -> Response[AssertionView]:
        """One assertion as known at `known_at` and held at `recorded_at` (default: now)."""

        async def fill(conn: Any) -> tuple[AssertionView, int]:
            view = await reads.get_assertion(conn, assertion_id, temporal)
            if view is None:
                raise _absent(assertion_id)
            return view, view.version

        response = await serve(
            AppState.of(request),
            ("assertion", assertion_id, temporal),
            Scope.of_stream("assertion", assertion_id),
            fill,
            temporal=temporal,
            if_none_match=if_none_match,
        )
        return cast(Response[AssertionView], response)

    @get(
        "/{assertion_id:str}/history",
        summary="Every version of an assertion, in knowledge order",
        operation_id="GetAssertionHistory",
        responses=READ_ERRORS,
    )
    async def history(
        self,
        request: Request[Any, Any, Any],
        assertion_id: AssertionId,
        temporal: NamedDependency[Temporal],
        if_none_match: IfNoneMatch = None,
    ) -> Response[HistoryView]:
        """Each version with what changed (field, from, to), the reason and the full state."""

        async def fill(conn: Any) -> tuple[HistoryView, None]:
            view = await reads.get_history(conn, assertion_id, temporal)
            if view is None:
                raise _absent(assertion_id)
            return view, None

        response = await serve(
            AppState.of(request),
            ("history", assertion_id, temporal),
            Scope.of_stream("assertion", assertion_id),
            fill,
            temporal=temporal,
            if_none_match=if_none_match,
        )
        return cast(Response[HistoryView], response)

    @post(
        "/{assertion_id:str}/revisions",
        summary="Revise an assertion",
        operation_id="ReviseAssertion",
        guards=[require_write],
        responses={**WRITE_ERRORS, **problems(428)},
        security=[{"bearer": []}],
    )
    async def revise(
        self,
        request: Request[Any, Any, Any],
        assertion_id: AssertionId,
        data: Annotated[RevisionBody, Body(examples=examples.REVISION)],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[AssertionView]:
        """Change some fields, with a reason; If-Match must carry the version you read."""
        expected = if_match_version(if_match, required=True)
        cmd = ReviseAssertion(
            assertion_id=assertion_id,
            reason=data.reason,
            citations=citations(data.citations),
            reported_at=data.reported_at or now(),
            **data.changed(),
        )
        writer = AppState.of(request).writer
        ctx = write_context(request, data)
        result = await handlers.revise_assertion(writer, cmd, ctx, expected)
        return await created(request, result, reads.get_assertion, _location(assertion_id))

    @post(
        "/{assertion_id:str}/stances",
        summary="Confirm, deny or dispute an assertion",
        operation_id="RecordStance",
        guards=[require_write],
        responses=WRITE_ERRORS,
        security=[{"bearer": []}],
    )
    async def stance(
        self,
        request: Request[Any, Any, Any],
        assertion_id: AssertionId,
        data: Annotated[StanceBody, Body(examples=examples.STANCE)],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[AssertionView]:
        """A party confirms, denies or disputes it; a denial or dispute makes it `contested`."""
        cmd = RecordStance(
            assertion_id=assertion_id,
            party=data.party,
            stance=data.stance,
            statement=data.statement,
            citations=citations(data.citations),
            reported_at=data.reported_at or now(),
        )
        writer = AppState.of(request).writer
        ctx = write_context(request, data)
        expected = if_match_version(if_match, required=False)
        result = await handlers.record_stance(writer, cmd, ctx, expected)
        return await created(request, result, reads.get_assertion, _location(assertion_id))

    @post(
        "/{assertion_id:str}/retraction",
        summary="Retract an assertion",
        operation_id="RetractAssertion",
        guards=[require_write],
        responses=WRITE_ERRORS,
        security=[{"bearer": []}],
    )
    async def retract(
        self,
        request: Request[Any, Any, Any],
        assertion_id: AssertionId,
        data: Annotated[RetractionBody, Body(examples=examples.RETRACTION)],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[AssertionView]:
        """Retract it, with a reason; it cannot be revised afterwards."""
        cmd = RetractAssertion(
            assertion_id=assertion_id,
            reason=data.reason,
            citations=citations(data.citations),
            reported_at=data.reported_at or now(),
        )
        writer = AppState.of(request).writer
        ctx = write_context(request, data)
        expected = if_match_version(if_match, required=False)
        result = await handlers.retract_assertion(writer, cmd, ctx, expected)
        return await created(request, result, reads.get_assertion, _location(assertion_id))
