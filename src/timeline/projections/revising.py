"""How events change the assertions read model: one batch, in the caller's transaction.

A batch is one append's events or a rebuild's thousands. The live revision rows
of its streams are read (or taken from a rebuild's RowCache), advanced by
rows.fold_stream, and the writes that takes are sent: a few statements per
batch, or COPY for many new rows.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Table, Text, and_, bindparam, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import UserDefinedType

from timeline.domain.events import AssertionEvent
from timeline.projections.assertions import assertions
from timeline.projections.assertions import revisions as revisions_table
from timeline.projections.history import Step
from timeline.projections.rows import Changes, LiveRow, fold_stream, held_row, step_of
from timeline.store.append import StreamRef
from timeline.store.codec import RecordedEvent, decode_data
from timeline.store.db import copy_records
from timeline.store.read import read_stream


class RawJson(UserDefinedType[str]):
    """A jsonb bind that takes JSON text as is (msgspec already encoded it)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "jsonb"


# Labelled as the write path's load names them, so rows.held_row reads either.
_LIVE_COLUMNS = (
    revisions_table.c.assertion_id,
    revisions_table.c.version,
    revisions_table.c.position,
    revisions_table.c.event_type,
    revisions_table.c.schema_version,
    sql_cast(revisions_table.c.event_data, Text).label("r_event_data"),
    revisions_table.c.event_recorded_at,
    revisions_table.c.recorded_from.label("r_recorded_from"),
    revisions_table.c.known_from.label("r_known_from"),
    revisions_table.c.known_to.label("r_known_to"),
    revisions_table.c.known_cut_at.label("r_known_cut_at"),
    sql_cast(revisions_table.c.state, Text).label("r_state"),
    sql_cast(revisions_table.c.changes, Text).label("r_changes"),
    revisions_table.c.last_position.label("r_last_position"),
    revisions_table.c.recorded_at.label("r_recorded_at"),
)


async def _load_live(conn: AsyncConnection, ids: list[str]) -> dict[str, dict[int, LiveRow]]:
    """The live revision rows of these streams, by assertion and version."""
    live: dict[str, dict[int, LiveRow]] = defaultdict(dict)
    if not ids:
        return live
    rows = await conn.execute(
        select(*_LIVE_COLUMNS).where(
            revisions_table.c.assertion_id.in_(ids), revisions_table.c.recorded_to.is_(None)
        )
    )
    for row in rows:
        event = decode_data(row.event_type, row.schema_version, row.r_event_data)
        step = Step(
            version=row.version,
            position=row.position,
            event=cast(AssertionEvent, event),
            event_type=row.event_type,
            schema_version=row.schema_version,
            event_data=row.r_event_data,
            recorded_at=row.event_recorded_at,
        )
        live[row.assertion_id][row.version] = held_row(step, row._mapping)
    return live


async def _missing_steps(
    conn: AsyncConnection, assertion_id: str, after: int, before: int
) -> list[Step]:
    """Versions after..before of a stream, read from the log.

    The feed orders by writing transaction, so a rebuild can meet version n+1
    before version n (its transaction took an id first but appended later).
    Version n is committed by then: read it from the log instead of waiting.
    """
    recorded = await read_stream(conn, StreamRef("assertion", assertion_id))
    return [step_of(r) for r in recorded if after < r.version < before]


_JSON_BINDS = {name: bindparam(name, type_=RawJson()) for name in ("state",)}

_INSERT_REVISIONS = insert(revisions_table).values(
    {
        **_JSON_BINDS,
        "event_data": bindparam("event_data", type_=RawJson()),
        "changes": bindparam("changes", type_=RawJson()),
        "citations": bindparam("citations", type_=RawJson()),
    }
)

_UPDATE_REVISIONS = (
    update(revisions_table)
    .where(
        and_(
            revisions_table.c.assertion_id == bindparam("b_assertion_id"),
            revisions_table.c.version == bindparam("b_version"),
            revisions_table.c.recorded_from == bindparam("b_recorded_from"),
        )
    )
    .values(
        recorded_to=bindparam("b_recorded_to"),
        known_to=bindparam("b_known_to"),
        known_cut_at=bindparam("b_known_cut_at"),
    )
)

_upsert = insert(assertions).values(_JSON_BINDS)
_UPSERT_ASSERTIONS = _upsert.on_conflict_do_update(
    index_elements=[assertions.c.assertion_id],
    set_={
        name: _upsert.excluded[name]
        for name in (c.name for c in assertions.columns)
        if name not in ("assertion_id", "search")
    },
)


class RowCache:
    """The live revision rows of the streams a rebuild applied last, kept between its batches.

    Sound only while nothing else writes the tables it mirrors (a rebuild's own
    build schema), and only as long as each batch commits: a rebuild that fails
    drops it with everything else. Holds at most `streams` streams.
    """

    def __init__(self, streams: int = 20_000) -> None:
        self.streams = streams
        self._rows: OrderedDict[str, dict[int, LiveRow]] = OrderedDict()

    def take(self, ids: Iterable[str]) -> dict[str, dict[int, LiveRow]]:
        return {i: rows for i in ids if (rows := self._rows.pop(i, None)) is not None}

    def keep(self, assertion_id: str, rows: dict[int, LiveRow]) -> None:
        for row in rows.values():
            row.in_db, row.dirty = True, False
        self._rows[assertion_id] = rows
        while len(self._rows) > self.streams:
            self._rows.popitem(last=False)


async def apply(
    conn: AsyncConnection, recorded: Sequence[RecordedEvent], cache: RowCache | None = None
) -> None:
    """Change the assertion rows for `recorded`, assertion events only, in position order.

    A rebuild passes its `cache` of the rows it wrote, so it does not read them back.
    """
    streams: dict[str, list[RecordedEvent]] = defaultdict(list)
    for r in recorded:
        streams[r.stream_id].append(r)
    cached = cache.take(streams) if cache is not None else {}
    live = await _load_live(conn, [i for i in streams if i not in cached])
    live.update(cached)
    changes = Changes()
    for assertion_id, new in streams.items():
        rows = live[assertion_id]
        have = max(rows, default=0)
        steps = [step_of(r) for r in sorted(new, key=lambda r: r.version) if r.version > have]
        if not steps:
            continue
        if steps[0].version > have + 1:
            steps = [*await _missing_steps(conn, assertion_id, have, steps[0].version), *steps]
        if fold_stream(assertion_id, rows, steps, changes) is not None and cache is not None:
            cache.keep(assertion_id, rows)
    if changes.updates:
        await conn.execute(
            _UPDATE_REVISIONS, [{f"b_{k}": v for k, v in u.items()} for u in changes.updates]
        )
    if changes.inserts:
        await _insert(conn, revisions_table, changes.inserts, _INSERT_REVISIONS)
    if changes.firsts:
        await _insert(conn, assertions, changes.firsts, _UPSERT_ASSERTIONS)
    if changes.currents:
        await conn.execute(_UPSERT_ASSERTIONS, changes.currents)


# Below this many rows an INSERT is cheaper than setting up a COPY.
COPY_THRESHOLD = 64


async def _insert(
    conn: AsyncConnection, table: Table, rows: list[dict[str, Any]], statement: Any
) -> None:
    """Insert new rows with `statement`, or by COPY when there are many (a rebuild's batches)."""
    if len(rows) < COPY_THRESHOLD:
        await conn.execute(statement, rows)
        return
    assert conn.sync_connection is not None
    options = conn.sync_connection.get_execution_options()
    translate = options.get("schema_translate_map") or {}
    columns = [c.name for c in table.columns if c.computed is None]
    await copy_records(
        conn,
        table.name,
        schema=translate.get(table.schema, table.schema),
        columns=columns,
        records=list(map(itemgetter(*columns), rows)),
    )
