"""The feed as a Litestar plugin. (Interface; implemented by issue 6.)

The API's `create_app` does `feed = FeedPlugin(database_url)`, adds it to
`plugins=[...]`, and builds its Writer with `on_commit=feed.poke`, so every
commit wakes live readers from outside the writing transaction.
"""

from __future__ import annotations

from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol


class FeedPlugin(InitPluginProtocol):
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        return app_config

    def poke(self) -> None:
        """Note that a commit happened; a wake-up NOTIFY follows shortly."""
