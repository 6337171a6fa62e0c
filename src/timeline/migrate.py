"""Bring a database to the newest schema with Alembic; safe to run again.

The revisions ship inside the package (timeline.migrations), found with
importlib.resources, so an installed wheel migrates from any directory with no
alembic.ini.
"""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config


def alembic_config(url: str) -> Config:
    """Alembic's settings for the database at `url`, with no ini file."""
    config = Config()
    # An installed package is a folder on disk: Alembic reads its revisions from there.
    config.set_main_option("script_location", str(files("timeline.migrations")))
    config.set_main_option("path_separator", "os")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Upgrade the database at `url` to head (idempotent). Runs its own event loop."""
    command.upgrade(alembic_config(url), "head")
