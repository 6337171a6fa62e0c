"""A real server on the session's database, the data the viewer is tested on, and Chromium.

Chromium is Debian's (`/usr/bin/chromium`, which `.ci/run` installs): Playwright cannot
download its own browser here. Without one these tests skip, saying so.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.faults.server import Server, cli, serve, write_key
from tests.web.world import Replay, write_replay

ARTEFACTS = Path(__file__).with_name("artefacts")


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("TIMELINE_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@dataclass
class Site:
    server: Server
    key: str
    replay: Replay

    @property
    def base(self) -> str:
        return self.server.base


@pytest.fixture(scope="session")
def site(database_url: str) -> Iterator[Site]:
    cli(database_url, "demo", "load")
    key = write_key(database_url)
    with serve(database_url) as server:
        yield Site(server, key, write_replay(server.base, key))


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    """Chromium, per module: Playwright's sync API holds an event loop in this thread while
    it runs, so it starts after the server and the data (asyncio.run) and stops after."""
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path)
        yield browser
        browser.close()


@dataclass
class Watch:
    """What a page did that a test must not allow: console errors and requests elsewhere."""

    origin: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    def check(self) -> None:
        assert self.errors == [], self.errors
        assert self.foreign == [], self.foreign


@pytest.fixture
def page(site: Site, browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page; after the test, no console error and no request to another host,
    and a screenshot in tests/web/artefacts/ (git-ignored)."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    watch = Watch(urlsplit(site.base).netloc)
    page.on("console", lambda m: watch.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watch.errors.append(str(e)))

    def on_request(r: Any) -> None:
        parts = urlsplit(r.url)
        if parts.scheme not in ("data", "blob", "about") and parts.netloc != watch.origin:
            watch.foreign.append(r.url)

    page.on("request", on_request)
    page.watch = watch
    yield page
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{request.node.name}.png"), full_page=False)
    context.close()
    watch.check()
