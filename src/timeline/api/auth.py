"""Bearer API keys: a guard per route, checked against the database on every request.

Looking the key up each time (one indexed SELECT) is what makes a revocation
take effect on the very next request.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from timeline.api.errors import ApiProblem
from timeline.api.state import AppState
from timeline.commands.keys import ApiKey, find_key

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="timeline"'}


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def _live_key(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiKey | None:
    """The live key the request carries, looked up once per request; None without one."""
    state = connection.scope.setdefault("state", {})
    if "api_key" not in state:
        token = _bearer(connection)
        key = None
        if token is not None:
            # On the primary: a key just made, or just revoked, counts at once (not once
            # replayed on a standby). One SELECT, no transaction round trips.
            async with AppState.of(connection).read_primary() as conn:
                key = await find_key(conn, token)
        state["api_key"] = key
        if key is not None:
            state["actor"] = f"key:{key.key_id}"
    key = state["api_key"]
    return key if isinstance(key, ApiKey) else None


async def _key(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiKey:
    token = _bearer(connection)
    if token is None:
        raise ApiProblem(
            401,
            "unauthorized",
            "send `Authorization: Bearer <key>`",
            field="Authorization",
            headers=CHALLENGE,
        )
    key = await _live_key(connection)
    if key is None:
        raise ApiProblem(
            401,
            "unauthorized",
            "this key is unknown or revoked",
            field="Authorization",
            headers=CHALLENGE,
        )
    return key


async def require_write(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Writes need a live key with the `write` scope: none is 401, the wrong scope 403."""
    key = await _key(connection)
    if "write" not in key.scopes:
        raise ApiProblem(
            403, "forbidden", "this key lacks the `write` scope", field="Authorization"
        )


async def require_read(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Reads are public unless TIMELINE_READS_NEED_KEY is set; then any live key will do."""
    if AppState.of(connection).settings.reads_need_key:
        await _key(connection)


def actor_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    state = connection.scope.get("state") or {}
    actor = state.get("actor") if isinstance(state, dict) else None
    return actor if isinstance(actor, str) else None


async def sees_metadata(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Whether a reader sees who wrote an event and in which request (its whole metadata):
    only with a live key that has the `read` scope. Everyone else, the public included,
    sees the rest of the event (feed/shape.py, PUBLIC_METADATA)."""
    key = await _live_key(connection)
    return key is not None and "read" in key.scopes
