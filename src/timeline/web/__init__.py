"""The viewer: HTML pages served by the API process, and their assets (DESIGN §7)."""

from __future__ import annotations

from typing import Any

from timeline.web.assets import static_asset
from timeline.web.pages import ViewerController
from timeline.web.templates import template_config


def route_handlers() -> list[Any]:
    """The viewer's pages and its static files (/static/...)."""
    return [ViewerController, static_asset]


__all__ = ["route_handlers", "template_config"]
