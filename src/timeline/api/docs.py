"""What the OpenAPI document says beyond the types: error responses and header parameters."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter

from timeline.api.schemas import Problem

_WHY = {
    400: "a parameter or body that is malformed or of the wrong type; `errors` names the field",
    401: "no key, or an unknown or revoked one",
    403: "the key lacks the `write` scope",
    404: "no such resource (at that knowledge or system time)",
    409: "it exists already, or another writer changed it first (retry after reading it again)",
    412: "If-Match names a version that is no longer current",
    413: "the request body is larger than the configured limit",
    422: "a domain rule refused it, or an Idempotency-Key was reused for another request; "
    "`errors` names the field",
    428: "a revision must send If-Match",
    503: "the database does not answer",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """The problem+json responses a route may give."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type="application/problem+json",
            description=f"{HTTPStatus(status).phrase}: {_WHY[status]}",
            generate_examples=False,
        )
        for status in statuses
    }


NOT_MODIFIED = {
    304: ResponseSpec(
        data_container=None, description="Not Modified: If-None-Match matched the ETag"
    )
}

READ_ERRORS = {**problems(400, 404), **NOT_MODIFIED}
_WRITES = (400, 401, 403, 404, 409, 413, 422)
# A timeline or an assertion recorded in one: nothing to send If-Match to.
WRITE_ERRORS = problems(*_WRITES)
# The writes of the assertion and source resources, which take If-Match: 412 when stale.
VERSIONED_WRITE_ERRORS = problems(*sorted({*_WRITES, 412}))


def _header(name: str, description: str, *, max_length: int, min_length: int | None = None) -> Any:
    return HeaderParameter(
        name=name,
        required=False,
        description=description,
        min_length=min_length,
        max_length=max_length,
    )


IfNoneMatch = Annotated[
    str | None,
    _header("If-None-Match", "an ETag you hold; 304 when it is still current", max_length=1000),
]
IfMatch = Annotated[
    str | None,
    _header(
        "If-Match",
        'the ETag (version) you read, e.g. "3"; 412 when it is no longer current',
        max_length=100,
    ),
]
IdempotencyKey = Annotated[
    str | None,
    _header(
        "Idempotency-Key",
        "repeat a POST safely: a replay returns the first response and writes "
        "nothing; the same key with another body is 422",
        min_length=1,
        max_length=255,
    ),
]
