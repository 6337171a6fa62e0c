"""ETags, If-None-Match and Cache-Control for the reads.

An answer pinned to a `recorded_at` that no running transaction can still
change never changes, so it is cached for a year and marked immutable
(api/answers.py decides that with the database; see projections/freshness.py
for why "in the past" is not enough). Any other answer (a `known_at` one
included: a backfilled older report can still change it) must be revalidated
by ETag.
"""

from __future__ import annotations

import hashlib
from typing import TypeVar, cast

import msgspec
from litestar import Response

from timeline.api.conditional import MalformedTags, none_match, strong_tag
from timeline.api.errors import ApiProblem
from timeline.api.params import is_past
from timeline.projections.temporal import Temporal

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

T = TypeVar("T")


def version_etag(version: int) -> str:
    """The quoted stream version: `"3"`."""
    return f'"{version}"'


def content_etag(body: bytes) -> str:
    """For answers that span many streams: a strong ETag from the bytes themselves."""
    return '"c' + hashlib.sha256(body).hexdigest()[:32] + '"'


def matches(header: str, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (weak comparison; api/conditional.py)."""
    return none_match(header, etag)


def cached(
    value: T,
    temporal: Temporal | None,
    *,
    if_none_match: str | None = None,
    version: int | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[T]:
    """`value` as JSON with its ETag and Cache-Control; 304 when If-None-Match matches.

    The body is encoded once here (the content ETag needs the bytes); the
    annotation keeps the view's type so the OpenAPI schema documents it.
    """
    body = msgspec.json.encode(value)
    etag = version_etag(version) if version is not None else content_etag(body)
    out = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE if temporal is not None and is_past(temporal) else REVALIDATE,
        **(headers or {}),
    }
    if status_code == 200 and if_none_match and matches(if_none_match, etag):
        body = b""
        status_code = 304
    response = Response(body, status_code=status_code, headers=out, media_type="application/json")
    return cast(Response[T], response)


def if_match_version(raw: str | None, *, required: bool) -> int | None:
    """The version the writer saw, from If-Match: 428 when required and missing."""
    if raw is None or not raw.strip():
        if required:
            raise ApiProblem(
                428,
                "precondition-required",
                'send If-Match with the ETag you read (e.g. If-Match: "3")',
                field="If-Match",
            )
        return None
    if raw.strip() == "*":
        # RFC 9110 lets `*` match any current version: here that would be a write that
        # checks nothing, the lost update If-Match exists to prevent.
        raise ApiProblem(
            400,
            "invalid-if-match",
            'If-Match: * is not taken here: send the ETag of the version you read (e.g. "3")',
            field="If-Match",
        )
    try:
        tag = strong_tag(raw)
    except MalformedTags:
        tag = ""
    if tag is None:
        raise ApiProblem(
            412,
            "precondition-failed",
            'a weak ETag (W/"3") never matches If-Match, which compares strongly '
            '(RFC 9110 §13.1.1): send the ETag as you read it, e.g. "3"',
            field="If-Match",
        )
    text = tag.strip('"')
    if not text.isdigit() or len(text) > 18:
        raise ApiProblem(
            400, "invalid-if-match", 'expected a version ETag such as "3"', field="If-Match"
        )
    return int(text)
