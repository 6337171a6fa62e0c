"""Read-your-writes on a standby: a read that sends `min_position` sees that write.

Every write answers with its position (the `Timeline-Position` header, and
`last_position` in the body). A read that sends it back, as the query parameter
`min_position` or the `Timeline-Min-Position` header, is answered by the
standby once the standby holds the event at that position (polled every few
milliseconds, at most TIMELINE_READ_WAIT seconds), else by the primary. The
event and the projection rows it changed commit together, so the standby then
also holds every read row the write made. Without a standby, the primary holds
it already: nothing to wait for. A standby that does not answer sends the read
to the primary (api/standby.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request

from timeline.api.errors import ApiProblem
from timeline.api.state import AppState, read_from_primary
from timeline.store.db import connect, fetch
from timeline.store.errors import DatabaseUnavailable

POSITION_HEADER = "Timeline-Position"
MIN_POSITION_HEADER = "Timeline-Min-Position"
MIN_POSITION = "min_position"
POLL_SECONDS = 0.005
_LARGEST = (1 << 62) - 1

_HAS = "SELECT EXISTS (SELECT 1 FROM events WHERE position = $1)"


def position_header(positions: tuple[int, ...]) -> dict[str, str]:
    return {POSITION_HEADER: str(max(positions))} if positions else {}


def min_position(request: Request[Any, Any, Any]) -> int | None:
    """The position a read asks to see, or None; a bad one is a 400 naming the field."""
    raw = request.query_params.get(MIN_POSITION) or request.headers.get(MIN_POSITION_HEADER)
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= _LARGEST:
        raise ApiProblem(
            400,
            "invalid-parameter",
            f"{MIN_POSITION} must be a write's position (a whole number from 1), got {raw!r}",
            field=MIN_POSITION,
        )
    return int(raw)


async def read_your_writes(request: Request[Any, Any, Any]) -> None:
    """Before a read: wait for the standby to hold min_position, or send the read to the primary."""
    # Each request decides afresh, whatever context the server runs it in.
    read_from_primary.set(False)
    if request.method not in ("GET", "HEAD"):
        return
    position = min_position(request)
    state = AppState.of(request)
    if position is None or state.read_engine is None:
        return
    if not state.standby.usable():
        read_from_primary.set(True)  # the standby does not answer (api/standby.py)
        return
    try:
        held = await standby_holds(state, position, state.settings.read_wait_seconds)
    except DatabaseUnavailable as error:
        state.standby.failed(error)
        held = False
    if not held:
        read_from_primary.set(True)


async def standby_holds(state: AppState, position: int, within: float) -> bool:
    """Whether the standby holds the event at `position` within `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    async with connect(state.reader) as conn:
        while True:
            (row,) = await fetch(conn, _HAS, position)
            if row[0]:
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(POLL_SECONDS)
