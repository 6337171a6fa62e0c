"""The viewer in Chromium: what it shows at each knowledge date is what the API answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.web.conftest import Site
from tests.web.pages import api_cards, api_timeline, cards, count, url_params, view_url
from tests.web.world import REPORTS
from timeline.domain.values import Quantity
from timeline.domain.words import quantity_words

DEMO = "nagorno-karabakh-2020"

# Before the first report, on each report, between reports, and after the last.
KNOWN_AT = [
    "2020-10-04",
    *REPORTS,
    "2020-10-10",
    "2020-10-12T09:59:59Z",
    "2026-01-01",
]


def _toll_words(site: Site, **params: str) -> list[str]:
    body = api_timeline(site.base, site.replay.slug, **params)
    (toll,) = [a for a in body["assertions"] if a["id"] == site.replay.toll] or [None]
    if toll is None:
        return []
    return [quantity_words(Quantity(**q)) for q in toll["quantities"]]


@pytest.mark.parametrize("known_at", KNOWN_AT)
def test_the_page_shows_the_assertions_and_values_the_api_returns(
    page: Any, site: Site, known_at: str
) -> None:
    slug = site.replay.slug
    page.goto(view_url(site.base, slug, known_at=known_at))
    expected = api_cards(site.base, slug, known_at=known_at)
    assert cards(page) == expected
    assert count(page) == len(expected)
    figures = _toll_words(site, known_at=known_at)
    if figures:
        text = page.inner_text(f"[data-assertion-id='{site.replay.toll}'] .figures")
        assert text.strip() == "\n".join(figures)


def test_the_design_example_replays_200_250_300(page: Any, site: Site) -> None:
    """DESIGN §1: known at 6 Oct 200, at 10 Oct 250 (backfilled), now 300; 4 Oct absent."""
    toll = f"[data-assertion-id='{site.replay.toll}'] .figures"
    for known_at, figure in [("2020-10-06", "200"), ("2020-10-10", "250"), ("", "300")]:
        page.goto(
            view_url(site.base, site.replay.slug, **({"known_at": known_at} if known_at else {}))
        )
        assert page.inner_text(toll).strip() == f"more than {figure} killed"
    page.goto(view_url(site.base, site.replay.slug, known_at="2020-10-04"))
    assert page.locator(f"[data-assertion-id='{site.replay.toll}']").count() == 0


@pytest.mark.parametrize("as_of", ["2020-10-06", "2020-10-09", "2020-10-12"])
def test_as_of_shows_what_the_api_shows(page: Any, site: Site, as_of: str) -> None:
    page.goto(view_url(site.base, DEMO, as_of=as_of))
    assert cards(page) == api_cards(site.base, DEMO, as_of=as_of)
    page.goto(view_url(site.base, site.replay.slug, as_of=as_of))
    assert cards(page) == api_cards(site.base, site.replay.slug, as_of=as_of)


def test_moving_the_knowledge_control_replays_in_place_and_updates_the_url(
    page: Any, site: Site
) -> None:
    slug = site.replay.slug
    page.goto(view_url(site.base, slug))
    assert cards(page) == api_cards(site.base, slug)
    steps = page.eval_on_selector("#board .board", "e => JSON.parse(e.dataset.steps)")
    assert len(steps) == len(REPORTS)
    marker = page.evaluate("() => (window.__same_document = true)")
    assert marker
    slider = page.locator("#known-step")
    slider.focus()
    page.keyboard.press("Home")
    for i, step in enumerate(steps):
        if i:
            page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "s => new URLSearchParams(location.search).get('known_at') === s", arg=step
        )
        page.wait_for_function(
            "s => document.querySelector('#board .board').dataset.step === s", arg=str(i)
        )
        assert page.input_value("input[name=known_at]") == step
        assert url_params(page)["known_at"] == [step]
        assert cards(page) == api_cards(site.base, slug, known_at=step)
    # the earlier-report button steps back, still without reloading the page
    page.click("#known-earlier")
    page.wait_for_function(
        "s => new URLSearchParams(location.search).get('known_at') === s", arg=steps[-2]
    )
    page.wait_for_function("() => document.querySelector('#board .board').dataset.step === '4'")
    assert cards(page) == api_cards(site.base, slug, known_at=steps[-2])
    assert page.evaluate("() => window.__same_document") is True


def test_typing_a_date_and_going_back_replay_too(page: Any, site: Site) -> None:
    slug = site.replay.slug
    page.goto(view_url(site.base, slug))
    page.fill("input[name=known_at]", "2020-10-09")
    page.press("input[name=known_at]", "Enter")
    page.wait_for_function("() => location.search.includes('known_at=2020-10-09')")
    page.wait_for_function(
        "n => document.querySelector('#board [data-count]').dataset.count === n",
        arg=str(len(api_cards(site.base, slug, known_at="2020-10-09"))),
    )
    assert cards(page) == api_cards(site.base, slug, known_at="2020-10-09")
    page.go_back()
    page.wait_for_function("() => !location.search.includes('known_at')")
    page.wait_for_function(
        "n => document.querySelector('#board [data-count]').dataset.count === n",
        arg=str(len(api_cards(site.base, slug))),
    )
    assert cards(page) == api_cards(site.base, slug)


def test_the_history_shows_every_version_in_knowledge_order_with_its_diffs(
    page: Any, site: Site
) -> None:
    page.goto(f"{site.base}/assertions/{site.replay.toll}")
    history = httpx.get(f"{site.base}/v1/assertions/{site.replay.toll}/history").json()
    versions = page.eval_on_selector_all(
        ".history .revision", "els => els.map(e => Number(e.dataset.version))"
    )
    assert versions == [r["version"] for r in history["revisions"]] == [1, 3, 2]
    rows = page.eval_on_selector_all(
        ".history .revision",
        "els => els.map(e => [...e.querySelectorAll('tr[data-field=quantities] td')]"
        ".map(td => td.innerText))",
    )
    assert rows[1] == ["more than 200 killed", "more than 250 killed"]
    assert rows[2] == ["more than 250 killed", "more than 300 killed"]
    assert "a backfilled report" in page.inner_text(".history")


def test_a_contested_assertion_shows_who_denies_it_and_on_whose_report(
    page: Any, site: Site
) -> None:
    card = f"[data-assertion-id='{site.replay.shelling}']"
    page.goto(view_url(site.base, site.replay.slug))
    assert page.get_attribute(card, "data-status") == "contested"
    text = page.inner_text(card)
    assert "Armenia denies it" in text
    assert "Armenia denied shelling Ganja." in text
    assert "on the report of Wire" in text
    assert "about 8 October 2020" in text
    # before the denial was reported, nobody denied it
    page.goto(view_url(site.base, site.replay.slug, known_at=REPORTS[1]))
    assert page.get_attribute(card, "data-status") == "active"
    assert "denies" not in page.inner_text(card)


def test_the_demo_card_carries_source_via_quotes_and_figures_in_words(
    page: Any, site: Site
) -> None:
    page.goto(view_url(site.base, DEMO))
    text = page.inner_text("#board .cards")
    assert "more than 300 killed" in text
    assert "about 70,000 displaced" in text
    assert "27 September – 10 October 2020" in text
    assert "1988 – 1994" in text
    assert "carrying BBC" in text  # AlKhaleej Today republishing the BBC
    assert "attack_on_civilians" not in text
    # an interval is drawn as a range; the backstory has its own segment of the axis
    widths = page.eval_on_selector_all(
        ".axis rect.mark.range", "els => els.map(e => Number(e.getAttribute('width')))"
    )
    assert widths
    assert max(widths) > 50
    assert page.locator(".axis text.break").count() == 1
    assert page.locator(".map circle.place").count() >= 3


def test_what_changed_between_two_dates_lists_the_apis_changes(page: Any, site: Site) -> None:
    slug = site.replay.slug
    since, until = REPORTS[1], REPORTS[4]
    page.goto(f"{site.base}/timelines/{slug}/changes?since={since}&until={until}")
    api = httpx.get(
        f"{site.base}/v1/timelines/{slug}/changes", params={"since": since, "until": until}
    ).json()
    expected = sorted(
        (c["assertion_id"], c["version"])
        for kind in ("added", "revised", "stances", "retracted", "unsupported")
        for c in api[kind]
    )
    shown = page.eval_on_selector_all(
        ".changes li[data-assertion-id]",
        "els => els.map(e => [e.dataset.assertionId, Number(e.dataset.version)])",
    )
    assert sorted((i, v) for i, v in shown) == expected
    text = page.inner_text("main")
    assert "more than 250 killed" in text
    assert "more than 300 killed" in text


def test_new_events_appear_live_without_moving_the_reader(page: Any, site: Site) -> None:
    auth = {"Authorization": f"Bearer {site.key}"}
    slug = "live-2020"
    http = httpx.Client(base_url=site.base, headers=auth, timeout=30)
    body = {"slug": slug, "title": "Live", "description": "", "region": "South Caucasus"}
    assert http.post("/v1/timelines", json=body).status_code == 201

    def record(n: int) -> str:
        response = http.post(
            f"/v1/timelines/{slug}/assertions",
            json={
                "occurred": f"2020-10-{n:02d}",
                "kind": "statement",
                "summary": f"Statement {n}.",
                "actors": ["Armenia"],
                "claimant": "Armenia",
                "citations": [],
                "quantities": [],
            },
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    ids = [record(n) for n in range(2, 17)]
    first = ids[8]
    page.goto(view_url(site.base, slug))
    reading = f"[data-assertion-id='{first}']"
    page.evaluate("s => document.querySelector(s).scrollIntoView()", reading)
    page.evaluate("() => window.scrollBy(0, -300)")
    page.wait_for_timeout(300)  # the stream is open by now; a write after this is live
    where = "s => document.querySelector(s).getBoundingClientRect().top"
    before = page.evaluate(where, reading)
    url = page.url
    new = record(1)  # occurred earlier than every card: added above the one being read
    page.wait_for_selector(f"[data-assertion-id='{new}']", timeout=15000)
    assert count(page) == 16
    assert abs(page.evaluate(where, reading) - before) <= 1  # scrolling is whole pixels
    assert page.url == url
    http.close()


def test_a_long_timeline_is_paged_never_all_cards_at_once(page: Any, site: Site) -> None:
    auth = {"Authorization": f"Bearer {site.key}"}
    slug = "many-2020"
    with httpx.Client(base_url=site.base, headers=auth, timeout=30) as http:
        body = {"slug": slug, "title": "Many", "description": "", "region": "South Caucasus"}
        assert http.post("/v1/timelines", json=body).status_code == 201
        for n in range(130):
            response = http.post(
                f"/v1/timelines/{slug}/assertions",
                json={
                    "occurred": f"2020-{1 + n // 28:02d}-{1 + n % 28:02d}",
                    "kind": "shelling",
                    "summary": f"Shelling {n}.",
                    "actors": ["Azerbaijan"],
                    "claimant": "Armenia",
                    "citations": [],
                    "quantities": [],
                },
            )
            assert response.status_code == 201, response.text
    page.goto(view_url(site.base, slug))
    assert count(page) == 100
    assert page.locator("#board [data-assertion-id]").count() == 100
    page.click("a[rel=next]")
    page.wait_for_load_state()
    assert count(page) == 30


def test_the_pages_set_their_own_content_security_policy(site: Site) -> None:
    for path in [
        "/",
        f"/timelines/{DEMO}",
        f"/timelines/{DEMO}/board",
        f"/timelines/{DEMO}/changes",
        f"/assertions/{site.replay.toll}",
    ]:
        response = httpx.get(site.base + path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy, path
        assert "script-src 'self'" in policy, path
        assert "unsafe-inline" not in policy, path


def test_a_bad_parameter_is_a_400_naming_it(site: Site) -> None:
    response = httpx.get(f"{site.base}/timelines/{DEMO}", params={"known_at": "yesterday"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "known_at" in response.text
    assert httpx.get(f"{site.base}/timelines/no-such").status_code == 404


def test_the_index_lists_the_timelines(page: Any, site: Site) -> None:
    page.goto(site.base + "/")
    page.click(f"a[href='/timelines/{DEMO}']")
    page.wait_for_load_state()
    assert count(page) == len(api_cards(site.base, DEMO))


def test_the_script_and_stylesheet_come_from_this_server_with_an_etag(site: Site) -> None:
    css = httpx.get(f"{site.base}/static/viewer.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    again = httpx.get(
        f"{site.base}/static/viewer.css", headers={"If-None-Match": css.headers["etag"]}
    )
    assert again.status_code in (200, 304)
    assert (
        httpx.get(f"{site.base}/static/viewer.js")
        .headers["content-type"]
        .startswith("text/javascript")
    )
    assert httpx.get(f"{site.base}/static/missing.js").status_code == 404
    assert httpx.get(f"{site.base}/static/..%2Fpages.py").status_code == 404
