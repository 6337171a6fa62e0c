"""What the app holds while it runs: settings, the engine, the writer and the answers.

Routes get the writer and the reader as dependencies (`DEPENDENCIES`, declared
once on the app); guards, middleware and the body DTO, which Litestar gives no
dependencies, use `AppState.of(connection)`.
"""

from __future__ import annotations

from collections.abc import Hashable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from litestar import Response
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.api import answers
from timeline.api.answers import AnswerCache, Fill
from timeline.api.caching import matches
from timeline.api.standby import StandbyWatch, read_connection
from timeline.commands.writer import Writer
from timeline.config import Settings
from timeline.projections.freshness import Scope
from timeline.projections.temporal import Temporal
from timeline.store.db import connect

# Set for one request (api/replicas.py) when the standby has not reached its min_position.
read_from_primary: ContextVar[bool] = ContextVar("read_from_primary", default=False)


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    writer: Writer
    # TIMELINE_READ_DATABASE_URL's pool, when reads go to a standby.
    read_engine: AsyncEngine | None = None
    # The reads are one statement each: in autocommit no BEGIN and ROLLBACK round
    # trips surround it (the standby's pool, else the same pool as `engine`).
    reader: AsyncEngine = field(init=False)
    primary_reader: AsyncEngine = field(init=False)
    # The reads' encoded answers (api/answers.py), this process's own.
    answers: AnswerCache = field(init=False)
    # Whether the standby answers; while it does not, reads go to the primary.
    standby: StandbyWatch = field(init=False)

    def __post_init__(self) -> None:
        self.primary_reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.reader = (
            self.primary_reader
            if self.read_engine is None
            else self.read_engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self.answers = AnswerCache(self.settings.read_cache_bytes)
        self.standby = StandbyWatch()

    def read(self) -> Any:
        """`async with state.read() as conn`: an autocommit connection, failures as 503.

        On the standby when there is one and it answers (api/standby.py), unless this
        request's min_position sent it to the primary.
        """
        if self.read_engine is None or read_from_primary.get():
            return connect(self.primary_reader)
        return read_connection(self.primary_reader, self.reader, self.standby)

    def read_primary(self) -> Any:
        """`read()` on the primary whatever: what a write reads back must be there."""
        return connect(self.primary_reader)

    @staticmethod
    def of(connection: ASGIConnection[Any, Any, Any, Any]) -> AppState:
        return AppState.of_state(connection.app.state)

    @staticmethod
    def of_state(state: State) -> AppState:
        found: AppState = state["timeline"]
        return found


@dataclass(frozen=True, slots=True)
class Reader:
    """What a read route reads through: a connection, and the process's kept answers."""

    state: AppState

    def read(self) -> Any:
        """`async with reader.read() as conn`: AppState.read(), the standby when there is one."""
        return self.state.read()

    def read_primary(self) -> Any:
        """A connection to the primary: what a write reads back must be there."""
        return self.state.read_primary()

    async def serve(
        self,
        key: Hashable,
        scope: Scope,
        fill: Fill,
        *,
        temporal: Temporal | None,
        if_none_match: str | None,
    ) -> Response[Any]:
        """The kept answer of `key`, as fresh as a read begun now (api/answers.py); 304 when
        If-None-Match matches it."""
        answer = await answers.kept_answer(self.state, key, scope, fill, temporal)
        if if_none_match and matches(if_none_match, answer.etag):
            return Response(b"", status_code=304, headers=dict(answer.headers))
        return Response(answer.body, headers=dict(answer.headers), media_type="application/json")


def provide_writer(state: State) -> Writer:
    """The app's one Writer: every command goes through it."""
    return AppState.of_state(state).writer


def provide_reader(state: State) -> Reader:
    """The app's reads and kept answers."""
    return Reader(AppState.of_state(state))


# Declared once on the app (api/app.py): every route may take `writer` and `reader`.
DEPENDENCIES = {
    "writer": Provide(provide_writer, sync_to_thread=False),
    "reader": Provide(provide_reader, sync_to_thread=False),
}
