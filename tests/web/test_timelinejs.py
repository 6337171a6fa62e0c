"""The `timelinejs` export, rendered by the TimelineJS library itself in Chromium: every slide
present, rows and dates in words, no console error, nothing fetched from elsewhere."""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.faults.server import cli
from tests.web import timelinejs
from tests.web.conftest import ARTEFACTS, Site

DEMO = "nagorno-karabakh-2020"


def test_timelinejs_renders_every_slide_of_the_export_in_words(
    site: Site, browser: Any, database_url: str
) -> None:
    why = timelinejs.install()
    if why is not None:
        pytest.skip(f"TimelineJS cannot be had: {why}")
    export = cli(database_url, "export", "--format", "timelinejs", "--timeline", DEMO)
    doc = json.loads(export)
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    elsewhere: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: (
            elsewhere.append(r.url) if urlsplit(r.url).hostname not in (None, "127.0.0.1") else None
        ),
    )
    try:
        with timelinejs.served(export.encode()) as url:
            page.goto(url)
            events = len(doc["events"])
            page.wait_for_function(
                "n => document.querySelectorAll('.tl-slide').length >= n + 1", arg=events
            )
            page.wait_for_timeout(500)
            headlines = page.eval_on_selector_all(
                ".tl-slide .tl-headline", "els => els.map(e => e.textContent.trim())"
            )
            rows = page.eval_on_selector_all(
                ".tl-timegroup-message", "els => els.map(e => e.textContent.trim())"
            )
            dates = page.eval_on_selector_all(
                ".tl-slide .tl-headline-date", "els => els.map(e => e.textContent.trim())"
            )
            ARTEFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTEFACTS / "timelinejs-export.png"))
    finally:
        context.close()
    for event in doc["events"]:
        assert html.unescape(event["text"]["headline"]) in headlines
    assert set(rows) == {e["group"] for e in doc["events"]}
    assert not any("_" in row for row in rows)  # no raw kind ids
    assert "about 8 October 2020" in dates
    assert not any("~" in d for d in dates)  # no raw EDTF
    assert errors == []
    assert elsewhere == []
