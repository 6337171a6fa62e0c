"""The OpenAPI document, made honest in one place; `python -m timeline.api.openapi` prints it.

Litestar writes the document from the handlers' signatures and `responses=`.
Two things it cannot know are settled here, once, for every route (the
routes' own modules need not repeat them):

- **Every error is problem+json.** Whatever a route declares for a status of
  400 or more (Litestar's default for a validation error is its own
  `{status_code, detail, extra}` as `application/json`), the document says
  `application/problem+json` with the one `Problem` schema, which is what
  `api/errors.py` answers. Every route may answer 503 while the database is
  away (and `/v1/events/stream` when the process serves its most streams),
  so every route documents it (/metrics aside: it answers all the same).
- **The live feed is `text/event-stream`**, with its messages described: a
  handler returning `ServerSentEvent` is documented by Litestar as JSON with
  an empty schema.
- **Read-your-writes** (api/replicas.py) is one hook for the whole app, so no
  handler's signature shows it: every write's 2xx documents the
  `Timeline-Position` header, and every read under /v1 the `min_position`
  parameter and `Timeline-Min-Position` header that send it back.
"""

from __future__ import annotations

import sys
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Litestar
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Parameter,
    Reference,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIType

from timeline.api.replicas import MIN_POSITION, MIN_POSITION_HEADER, POSITION_HEADER
from timeline.config import Settings

# The schema does not depend on the database; no connection is opened.
PLACEHOLDER_URL = "postgresql://localhost/timeline"

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM = "Problem"
STREAM_PATH = "/v1/events/stream"
FEED_PATHS = ("/v1/events", STREAM_PATH)
# Routes that hold no data and stay public when reads need a key (docs/api.md, "Auth").
PUBLIC_PATHS = ("/health", "/schema")
NEVER_503 = ("/metrics",)

# Why a route answers a status, for the statuses added here.
ADDED = {
    400: "a parameter that is malformed or of the wrong type (a `min_position` of 0, an `after` "
    "that is not a cursor of this feed, say); `errors` names the field",
    401: "reads need a key here (TIMELINE_READS_NEED_KEY): none sent, or an unknown or revoked one",
    503: "the database does not answer; retry after `Retry-After` seconds",
}
STREAM_503 = (
    "the database does not answer, or this process serves TIMELINE_MAX_STREAMS streams "
    "already; retry after `Retry-After` seconds"
)

STREAM_DESCRIPTION = """\
The feed as server-sent events (`text/event-stream`), one message per event, in feed order:

- `id:` the event's cursor: after a disconnect, send the last one as `Last-Event-ID`
  (or as `after`) and nothing is lost or repeated;
- `event:` the event's type (`AssertionRecorded`, `StanceRecorded`, ...);
- `data:` the event as one line of JSON: a `FeedEventSchema`, the same as an item of
  `GET /v1/events`, or a `CloudEventSchema` with `format=cloudevents` (or
  `Accept: application/cloudevents+json`).

Comment lines (`: heartbeat`, and `: database unavailable; retrying` while the
database is away) keep the connection open and carry no event. The first message,
and the last one when the server stops, is a `retry:` hint in milliseconds.
"""


WRITE_METHODS = ("post", "put", "patch", "delete")
_POSITION = Schema(type=OpenAPIType.INTEGER, minimum=1)
POSITION_DESCRIPTION = (
    "the feed position of the last event this write recorded: send it back as "
    f"`{MIN_POSITION}` (or `{MIN_POSITION_HEADER}`) and a read sees this write"
)
MIN_POSITION_DESCRIPTION = (
    f"read-your-writes: a write's `{POSITION_HEADER}`. With a standby, the read is answered "
    "once the standby holds that event (else by the primary); without one, at once"
)


def _min_position() -> list[Parameter | Reference]:
    return [
        Parameter(
            name=name,
            param_in=where,
            schema=_POSITION,
            description=MIN_POSITION_DESCRIPTION,
            required=False,
        )
        for name, where in ((MIN_POSITION, "query"), (MIN_POSITION_HEADER, "header"))
    ]


def _read_your_writes(path: str, method: str, operation: Operation) -> None:
    """The write's position header on its 2xx answers; the parameters on reads under /v1."""
    if method in WRITE_METHODS:
        for status, response in (operation.responses or {}).items():
            if status.startswith("2") and isinstance(response, OpenAPIResponse):
                headers = response.headers if response.headers is not None else {}
                headers[POSITION_HEADER] = OpenAPIHeader(
                    schema=_POSITION, description=POSITION_DESCRIPTION
                )
                response.headers = headers
    elif method == "get" and path.startswith("/v1/"):
        known = {
            (p.name, p.param_in) for p in operation.parameters or [] if isinstance(p, Parameter)
        }
        extra = [
            p
            for p in _min_position()
            if isinstance(p, Parameter) and (p.name, p.param_in) not in known
        ]
        operation.parameters = [*(operation.parameters or []), *extra]
        # A malformed one is a 400 naming it, on every read.
        responses = operation.responses if operation.responses is not None else {}
        responses.setdefault("400", _error(400, ADDED[400]))
        operation.responses = responses


def _problem_content() -> dict[str, OpenAPIMediaType]:
    return {
        PROBLEM_MEDIA_TYPE: OpenAPIMediaType(
            schema=Reference(ref=f"#/components/schemas/{PROBLEM}")
        )
    }


def _retry_after() -> dict[str, OpenAPIHeader | Reference]:
    return {
        "Retry-After": OpenAPIHeader(
            schema=Schema(type=OpenAPIType.INTEGER), description="seconds to wait"
        )
    }


def _error(status: int, description: str) -> OpenAPIResponse:
    headers = _retry_after() if status in (429, 503) else None
    return OpenAPIResponse(
        description=f"{HTTPStatus(status).phrase}: {description}",
        content=_problem_content(),
        headers=headers,
    )


def _stream_ok() -> OpenAPIResponse:
    event = Schema(
        type=OpenAPIType.STRING,
        description="server-sent event messages; each `data:` is one event as JSON",
    )
    return OpenAPIResponse(
        description=STREAM_DESCRIPTION,
        content={"text/event-stream": OpenAPIMediaType(schema=event)},
    )


def _operations(openapi: OpenAPI) -> list[tuple[str, str, Operation]]:
    found: list[tuple[str, str, Operation]] = []
    for path, item in (openapi.paths or {}).items():
        for method in ("get", "put", "post", "delete", "options", "head", "patch", "trace"):
            operation = getattr(item, method, None)
            if isinstance(operation, Operation):
                found.append((path, method, operation))
    return found


def make_honest(openapi: OpenAPI, *, reads_need_key: bool = False) -> OpenAPI:
    """Every error problem+json, 503 everywhere, the stream as SSE, read-your-writes (in place)."""
    schemas = openapi.components.schemas if openapi.components else None
    if not schemas or PROBLEM not in schemas:
        raise LookupError("no Problem schema: the routes register it (api/docs.py)")
    for path, method, operation in _operations(openapi):
        responses = operation.responses if operation.responses is not None else {}
        operation.responses = responses
        _read_your_writes(path, method, operation)
        if path in FEED_PATHS:
            responses.setdefault("400", _error(400, ADDED[400]))
        if reads_need_key and not path.startswith(PUBLIC_PATHS):
            responses.setdefault("401", _error(401, ADDED[401]))
        # /metrics answers while the database does not (the lag figures left out), unless
        # it must first look a key up.
        if path not in NEVER_503 or reads_need_key:
            why = STREAM_503 if path == STREAM_PATH else ADDED[503]
            responses.setdefault("503", _error(503, why))
        if path == STREAM_PATH:
            responses["200"] = _stream_ok()
        for status, response in responses.items():
            if int(status) >= 400 and isinstance(response, OpenAPIResponse):
                response.content = _problem_content()
    return openapi


def document_honestly(app: Litestar, settings: Settings) -> None:
    """On startup: build the app's document and correct it before anyone is served it."""

    def correct(app: Litestar) -> None:
        make_honest(app.openapi_schema, reads_need_key=settings.reads_need_key)

    app.on_startup.append(correct)


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document exactly as the app serves it at /schema/openapi.json."""
    from timeline.api.app import create_app

    app = create_app(Settings(), PLACEHOLDER_URL)
    schema: dict[str, Any] = make_honest(app.openapi_schema).to_schema()
    return schema


def render(schema: dict[str, Any]) -> str:
    """Stable text: sorted keys, two-space indent, a final newline."""
    return (
        msgspec.json.format(msgspec.json.encode(schema, order="sorted"), indent=2).decode() + "\n"
    )


def main() -> int:
    sys.stdout.write(render(document()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
