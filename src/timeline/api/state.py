"""What the app holds while it runs: settings, the engine, the writer and the answers."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from litestar.connection import ASGIConnection
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.api.answers import AnswerCache
from timeline.commands.writer import Writer
from timeline.config import Settings
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

    def __post_init__(self) -> None:
        self.primary_reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.reader = (
            self.primary_reader
            if self.read_engine is None
            else self.read_engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self.answers = AnswerCache(self.settings.read_cache_bytes)

    def read(self) -> Any:
        """`async with state.read() as conn`: an autocommit connection, failures as 503.

        On the standby when there is one, unless this request's min_position sent it
        to the primary.
        """
        return connect(self.primary_reader if read_from_primary.get() else self.reader)

    def read_primary(self) -> Any:
        """`read()` on the primary whatever: what a write reads back must be there."""
        return connect(self.primary_reader)

    @staticmethod
    def of(connection: ASGIConnection[Any, Any, Any, Any]) -> AppState:
        state: AppState = connection.app.state["timeline"]
        return state
