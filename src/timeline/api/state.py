"""What the app holds while it runs: settings, the engine, the writer and the answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar.connection import ASGIConnection
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.api.answers import AnswerCache
from timeline.commands.writer import Writer
from timeline.config import Settings
from timeline.store.db import connect


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    writer: Writer
    # The reads are one statement each: in autocommit no BEGIN and ROLLBACK round
    # trips surround it (same pool as `engine`).
    reader: AsyncEngine = field(init=False)
    # The reads' encoded answers (api/answers.py), this process's own.
    answers: AnswerCache = field(init=False)

    def __post_init__(self) -> None:
        self.reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.answers = AnswerCache(self.settings.read_cache_bytes)

    def read(self) -> Any:
        """`async with state.read() as conn`: an autocommit connection, failures as 503."""
        return connect(self.reader)

    @staticmethod
    def of(connection: ASGIConnection[Any, Any, Any, Any]) -> AppState:
        state: AppState = connection.app.state["timeline"]
        return state
