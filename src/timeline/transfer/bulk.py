"""Reads for writing a thousand streams at once: each stream looked up by its index.

`projections.write.load_for_write` is shaped for one command's few streams;
given a thousand, the planner hashes every event and every live revision row
of the store, so a batch costs as much as the store is large (seconds at ten
thousand rows, and growing). These statements name each stream and walk the
indexes for it (a LATERAL per stream), so a batch costs as much as its rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.domain.assertions import Assertion
from timeline.projections.write import STREAM_READ, ForWrite, live_row
from timeline.store.append import StreamRef
from timeline.store.db import fetch
from timeline.store.read import record_to_recorded

_STREAMS = (
    STREAM_READ + "FROM unnest($1::text[]) AS w (stream_id) "
    "CROSS JOIN LATERAL (SELECT * FROM events e WHERE e.stream_type = 'assertion' "
    "  AND e.stream_id = w.stream_id) e "
    "LEFT JOIN LATERAL (SELECT * FROM projections.revisions r WHERE r.assertion_id = e.stream_id "
    "  AND r.version = e.version AND r.recorded_to IS NULL) r ON true"
    ") x ON true ORDER BY x.stream_id, x.version"
)

_CURRENT = (
    "SELECT w.assertion_id, a.state::text AS state FROM unnest($1::text[]) AS w (assertion_id) "
    "CROSS JOIN LATERAL (SELECT state FROM projections.assertions a "
    "  WHERE a.assertion_id = w.assertion_id) a"
)

_state_decoder = msgspec.json.Decoder(Assertion)


async def load_assertions_for_write(
    conn: AsyncConnection, assertion_ids: Sequence[str]
) -> ForWrite:
    """What `load_for_write` reads for these assertion streams, in one indexed statement."""
    records = await fetch(conn, _STREAMS, list(dict.fromkeys(assertion_ids)))
    found: dict[StreamRef, list[Any]] = {StreamRef("assertion", a): [] for a in assertion_ids}
    live: dict[str, dict[int, Any]] = defaultdict(dict)
    for record in records:
        if record["position"] is None:
            continue  # the clock's row, when no stream has an event
        recorded = record_to_recorded(record)
        found[StreamRef("assertion", recorded.stream_id)].append(recorded)
        if record["r_recorded_from"] is not None:
            live[recorded.stream_id][recorded.version] = live_row(recorded, record)
    clock: datetime = records[0]["clock"]
    return ForWrite(streams=found, live=live, clock=clock)


async def current_states(
    conn: AsyncConnection, assertion_ids: Sequence[str]
) -> dict[str, Assertion]:
    """The current state of each of these assertions that exists, from its projection row."""
    records = await fetch(conn, _CURRENT, list(assertion_ids))
    return {r["assertion_id"]: _state_decoder.decode(r["state"]) for r in records}
