"""The viewer: HTML pages served by the API process, and their assets (DESIGN §7)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.static_files import create_static_files_router

from timeline.web.pages import ViewerController
from timeline.web.templates import template_config

STATIC = Path(__file__).with_name("static")


def route_handlers() -> list[Any]:
    """The viewer's pages and its static files (/static/...)."""
    return [
        ViewerController,
        create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False),
    ]


__all__ = ["route_handlers", "template_config"]
