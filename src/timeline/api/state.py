"""What the app holds while it runs: settings, the engine and the writer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.commands.writer import Writer
from timeline.config import Settings


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    writer: Writer

    @staticmethod
    def of(connection: ASGIConnection[Any, Any, Any, Any]) -> AppState:
        state: AppState = connection.app.state["timeline"]
        return state
