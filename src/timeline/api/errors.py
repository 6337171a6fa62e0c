"""The one map from exception to RFC 9457 problem details.

Every error the API answers is `application/problem+json` with `type`,
`title`, `status`, `detail` and `errors: [{field, message}]`. Anything not in
the map is a bug: it is logged with the request id and answered 500.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException
from sqlalchemy.exc import DBAPIError

from timeline.commands.errors import StaleVersion
from timeline.domain.errors import AlreadyExists, DomainError, NotFound
from timeline.feed.filters import UnknownFilter
from timeline.projections.views import InvalidPageCursor
from timeline.store.errors import (
    DatabaseUnavailable,
    IdempotencyKeyReused,
    InvalidCursor,
    StreamVersionConflict,
)
from timeline.store.lost import is_lost

log = logging.getLogger("timeline.api")

PROBLEM_BASE = "https://timeline.invalid/problems/"
MEDIA_TYPE = "application/problem+json"


class ApiProblem(ProblemDetailsException):
    """A problem the API raises itself (auth, preconditions, bad parameters)."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        errors = [{"field": field, "message": detail}] if field else []
        super().__init__(
            detail=detail,
            status_code=status,
            headers=headers,
            type_=PROBLEM_BASE + slug,
            title=HTTPStatus(status).phrase,
            extra={"errors": errors},
        )


def problem(status: int, slug: str, detail: str, errors: list[dict[str, str]]) -> ApiProblem:
    """A problem with several fields at fault."""
    p = ApiProblem(status, slug, detail)
    p.extra = {"errors": errors}
    return p


def _domain(exc: DomainError) -> ProblemDetailsException:
    if isinstance(exc, NotFound):
        return ApiProblem(404, "not-found", exc.message, field=exc.field)
    if isinstance(exc, AlreadyExists):
        return ApiProblem(409, "already-exists", exc.message, field=exc.field)
    slug = re.sub(r"(?<!^)(?=[A-Z])", "-", type(exc).__name__).lower()
    return ApiProblem(422, slug, exc.message, field=exc.field)


def _stale(exc: StaleVersion) -> ProblemDetailsException:
    return ApiProblem(
        412, "stale-version", str(exc), field="If-Match", headers={"ETag": f'"{exc.actual}"'}
    )


def _conflict(exc: StreamVersionConflict) -> ProblemDetailsException:
    return ApiProblem(
        409, "version-conflict", "another writer changed it first; read it again and retry"
    )


def _key_reused(exc: IdempotencyKeyReused) -> ProblemDetailsException:
    return ApiProblem(
        422,
        "idempotency-key-reused",
        "this key was used for a different request",
        field="Idempotency-Key",
    )


def _feed_cursor(exc: InvalidCursor) -> ProblemDetailsException:
    field = getattr(exc, "field", "after")  # or Last-Event-ID, when it came in that header
    return ApiProblem(400, "invalid-cursor", str(exc) or "not a cursor of this feed", field=field)


def _feed_filter(exc: UnknownFilter) -> ProblemDetailsException:
    return ApiProblem(400, "invalid-parameter", str(exc), field=exc.field)


def _page_cursor(exc: InvalidPageCursor) -> ProblemDetailsException:
    return ApiProblem(
        400, "invalid-cursor", str(exc) or "not a cursor of this list", field="cursor"
    )


_LOCATION = re.compile(r"- at `\$\.?([^`]*)`")
_MISSING = re.compile(r"(?:missing required|unknown) field `([^`]*)`")


# Header parameters by the names Litestar reports them under (the handler's argument),
# so an error names the header as the client sent it: `If-None-Match`, not `if_none_match`.
HEADER_NAMES = {
    name.lower().replace("-", "_"): name
    for name in ("If-None-Match", "If-Match", "Idempotency-Key", "Last-Event-ID", "Authorization")
}


def _header_name(key: str) -> str:
    return HEADER_NAMES.get(key, "-".join(part.capitalize() for part in key.split("_")))


def _field_of(entry: Mapping[str, Any]) -> str:
    """The field a Litestar validation entry names: msgspec's `$.path` in its message, or
    its key (Litestar moves the path there for bodies), with the missing or unknown
    field's own name appended."""
    message = str(entry.get("message", ""))
    if entry.get("source") == "header":
        return _header_name(str(entry.get("key") or ""))
    path = match.group(1) if (match := _LOCATION.search(message)) else ""
    if not path:
        key = str(entry.get("key") or "")
        path = "" if key in ("", "data") else key.removeprefix("data.")
    if named := _MISSING.search(message):
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    return path or "body"


def _validation(exc: ValidationException) -> ProblemDetailsException:
    entries = exc.extra if isinstance(exc.extra, list) else []
    errors = [
        {"field": _field_of(e), "message": str(e.get("message", ""))}
        for e in entries
        if isinstance(e, Mapping)
    ]
    detail = exc.detail
    if not errors and "JSON" in detail:
        errors = [{"field": "body", "message": "malformed JSON"}]
    return problem(400, "invalid-request", detail, errors)


def _http(exc: HTTPException) -> ProblemDetailsException:
    if isinstance(exc, ProblemDetailsException):
        return exc
    if isinstance(exc, ValidationException):
        return _validation(exc)
    status = exc.status_code
    slug = HTTPStatus(status).phrase.lower().replace(" ", "-")
    detail = (
        exc.detail if exc.detail != HTTPStatus(status).phrase else HTTPStatus(status).description
    )
    field = "body" if status == 413 or (status == 400 and "JSON" in detail) else None
    headers = dict(exc.headers or {})
    if status == 429:
        # The rate limiter says when its window frees a place; Retry-After says it plainly.
        headers.setdefault("Retry-After", headers.get("RateLimit-Reset", "1"))
        detail, field = "too many writes with this key; retry later", "Authorization"
    return ApiProblem(status, slug, detail, field=field, headers=headers or None)


def _database(exc: DBAPIError) -> ProblemDetailsException | None:
    """Input PostgreSQL refuses (400), or a database that does not answer (503); else None."""
    state = getattr(getattr(exc.orig, "__cause__", None) or exc.orig, "sqlstate", None)
    if isinstance(state, str) and state.startswith("22"):
        # A data exception: text PostgreSQL cannot hold (NUL) or a value out of its range.
        return ApiProblem(400, "invalid-value", "a value the database cannot store", field="body")
    if is_lost(exc):
        return _unavailable()
    return None


# Seconds a client should wait before retrying a 503: about a restart's length.
RETRY_AFTER_SECONDS = 1


def _unavailable(_exc: Exception | None = None) -> ApiProblem:
    return ApiProblem(
        503,
        "database-unavailable",
        "the database does not answer; retry later",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _too_deep(exc: RecursionError) -> ProblemDetailsException:
    # msgspec refuses JSON nested past its depth limit with RecursionError, before any
    # of it reaches a route: the body is unusable, not the server broken.
    return ApiProblem(400, "invalid-request", "the JSON is nested too deeply", field="body")


EXCEPTION_MAP: dict[type[Exception], Callable[[Any], ProblemDetailsException]] = {
    RecursionError: _too_deep,
    DomainError: _domain,
    StaleVersion: _stale,
    StreamVersionConflict: _conflict,
    IdempotencyKeyReused: _key_reused,
    InvalidCursor: _feed_cursor,
    UnknownFilter: _feed_filter,
    InvalidPageCursor: _page_cursor,
    HTTPException: _http,
    DatabaseUnavailable: _unavailable,
}


def request_id_of(request: Request[Any, Any, Any]) -> str | None:
    state = request.scope.get("state") or {}
    value = state.get("request_id") if isinstance(state, dict) else None
    return value if isinstance(value, str) else None


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A bug: log it with the request id, answer 500 without details."""
    request_id = request_id_of(request)
    known = _database(exc) if isinstance(exc, DBAPIError) else None
    if known is None and is_lost(exc):
        known = _unavailable()
    if known is not None:
        log.warning("%s %s: %r (request %s)", request.method, request.url.path, exc, request_id)
        return known.to_response(request)
    log.exception(
        "unhandled error in %s %s (request %s)", request.method, request.url.path, request_id
    )
    body = {
        "type": PROBLEM_BASE + "internal-error",
        "title": "Internal Server Error",
        "status": 500,
        "detail": f"a bug on our side; quote request id {request_id} when reporting it",
        "errors": [],
        "request_id": request_id,
    }
    return Response(body, status_code=500, media_type=MEDIA_TYPE)


def problem_details_config() -> ProblemDetailsConfig:
    return ProblemDetailsConfig(exception_to_problem_detail_map=EXCEPTION_MAP)
