"""The viewer in Chromium against TimelineJS rendering the `timelinejs` export of the same
timeline: time from navigation until every card (every slide and marker, for TimelineJS)
is on the page, and bytes transferred; and the first paint of a 10,000-assertion timeline
beside the demo's, both measured in this run.

TimelineJS is npm's @knight-lab/timelinejs 3.9.11, installed for the bench and tests only
(tests/web/timelinejs.py), served with its export by a plain static server on loopback.
Each figure is the median of RUNS fresh browser contexts (no cache).
"""

from __future__ import annotations

import asyncio
import json
import statistics
from typing import Any

from tests.bench import entry, fill
from tests.bench.harness import Bench
from tests.faults.server import cli, serve
from tests.web import timelinejs
from tests.web.conftest import chromium_path

DEMO = "nagorno-karabakh-2020"
BIG = "bench-viewer-10k"
RUNS = 5

# What "every card painted" means on each page; each returns performance.now() once true.
VIEWER_READY = (
    "n => document.querySelectorAll('#board [data-assertion-id]').length >= n && performance.now()"
)
TIMELINEJS_READY = (
    "n => document.querySelectorAll('.tl-slide').length >= n + 1"
    " && document.querySelectorAll('.tl-timemarker').length >= n && performance.now()"
)
BYTES = (
    "() => [...performance.getEntriesByType('navigation'),"
    " ...performance.getEntriesByType('resource')]"
    ".reduce((sum, e) => sum + (e.transferSize || e.encodedBodySize || 0), 0)"
)
FIRST_PAINT = (
    "() => new Promise(done => { const seen = () => {"
    " const p = performance.getEntriesByName('first-contentful-paint')[0];"
    " p ? done(p.startTime) : requestAnimationFrame(seen); }; seen(); })"
)


def _until_ready(browser: Any, url: str, ready: str, n: int) -> tuple[float, float]:
    """(ms from navigation until `ready` held, bytes transferred) in a fresh context."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        page = context.new_page()
        page.goto(url, wait_until="commit")
        at = page.wait_for_function(ready, arg=n, polling="raf", timeout=60_000).json_value()
        page.wait_for_load_state("load")
        return float(at), float(page.evaluate(BYTES))
    finally:
        context.close()


def _first_paint(browser: Any, url: str) -> float:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        page = context.new_page()
        page.goto(url, wait_until="commit")
        return float(page.evaluate(FIRST_PAINT))
    finally:
        context.close()


def _median(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def _measure(chromium: str, base: str, tljs: str | None, cards: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    out: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        view = f"{base}/timelines/{DEMO}"
        page = tljs or ""
        _until_ready(browser, view, VIEWER_READY, cards)  # warm the server's caches
        ours: list[tuple[float, float]] = []
        theirs: list[tuple[float, float]] = []
        # interleaved, so a busy moment of the machine falls on both alike
        for _ in range(RUNS):
            ours.append(_until_ready(browser, view, VIEWER_READY, cards))
            if tljs is not None:
                theirs.append(_until_ready(browser, page, TIMELINEJS_READY, cards))
        out["viewer_ms"], out["viewer_bytes"] = _median(ours)
        if theirs:
            out["tljs_ms"], out["tljs_bytes"] = _median(theirs)
        out["demo_paint_ms"] = statistics.median(_first_paint(browser, view) for _ in range(RUNS))
        big = f"{base}/timelines/{BIG}"
        _first_paint(browser, big)
        out["big_paint_ms"] = statistics.median(_first_paint(browser, big) for _ in range(RUNS))
        browser.close()
    return out


async def run(bench: Bench, database_url: str) -> None:
    chromium = chromium_path()
    if chromium is None:
        print("  no Chromium (apt-get install chromium): the viewer bench is skipped")
        return
    cli(database_url, "demo", "load")
    engine = entry.create_engine(database_url, pool_size=2)
    try:
        await entry.register_source(entry.writer(engine))
        await fill.template(engine, BIG, 10_000, "bv-")
    finally:
        await engine.dispose()
    export = cli(database_url, "export", "--format", "timelinejs", "--timeline", DEMO)
    cards = len(json.loads(export)["events"])
    why = await asyncio.to_thread(timelinejs.install)
    with serve(database_url) as server, timelinejs.served(export.encode()) as tljs:
        got = await asyncio.to_thread(_measure, chromium, server.base, None if why else tljs, cards)
    if why is None:
        bench.record(
            "viewer.all_cards_painted",
            got["viewer_ms"],
            "ms",
            "TimelineJS, same export",
            got["tljs_ms"],
            higher_is_better=False,
            note=f"{cards} cards",
        )
        bench.record(
            "viewer.bytes",
            got["viewer_bytes"] / 1024,
            "KiB",
            "TimelineJS, same export",
            got["tljs_bytes"] / 1024,
            higher_is_better=False,
        )
    else:
        print(f"  TimelineJS: {why}; only the viewer's own figures")
    bench.record(
        "viewer.first_paint@10k",
        got["big_paint_ms"],
        "ms",
        "the demo (32 assertions)",
        got["demo_paint_ms"],
        higher_is_better=False,
        note="100 cards a page",
    )
