"""Accessibility: axe-core (its own build, shipped by axe-playwright-python) finds no serious
or critical violation on any viewer page, and the knowledge control works from the keyboard."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.web.conftest import Site
from tests.web.pages import view_url
from tests.web.world import REPORTS

DEMO = "nagorno-karabakh-2020"


def _paths(site: Site) -> list[str]:
    return [
        "/",
        f"/timelines/{DEMO}",
        f"/timelines/{site.replay.slug}?known_at={REPORTS[2]}",
        f"/timelines/{site.replay.slug}/changes?since={REPORTS[0]}",
        f"/assertions/{site.replay.toll}",
    ]


@pytest.mark.parametrize("which", range(5))
def test_axe_finds_no_serious_or_critical_violation(page: Any, site: Site, which: int) -> None:
    path = _paths(site)[which]
    page.goto(site.base + path)
    if page.locator("details.filters").count():
        page.click("details.filters summary")  # the filters too, opened
    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], (path, bad)


def test_the_knowledge_control_is_reached_and_moved_from_the_keyboard(
    page: Any, site: Site
) -> None:
    page.goto(view_url(site.base, site.replay.slug))
    page.focus("body")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "known-step":
            break
    else:
        pytest.fail("Tab never reached the knowledge control")
    assert page.evaluate("() => document.activeElement.labels[0].innerText") != ""
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => location.search.includes('known_at=')")
    assert page.input_value("input[name=known_at]") == REPORTS[-2]
