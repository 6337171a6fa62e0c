"""What the tests read off a page and off the API, in the same shape."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

Card = tuple[str, str, int]  # (id, status, version)


def cards(page: Any) -> list[Card]:
    """The cards on the board, in page order."""
    found = page.eval_on_selector_all(
        "#board [data-assertion-id]",
        "els => els.map(e => [e.dataset.assertionId, e.dataset.status, Number(e.dataset.version)])",
    )
    return [(i, s, v) for i, s, v in found]


def count(page: Any) -> int:
    return int(page.get_attribute("#board [data-count]", "data-count"))


def api_timeline(base: str, slug: str, **params: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/v1/timelines/{slug}", params={**params, "limit": "100"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def api_cards(base: str, slug: str, **params: str) -> list[Card]:
    body = api_timeline(base, slug, **params)
    return [(a["id"], a["status"], a["version"]) for a in body["assertions"]]


def url_params(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def view_url(base: str, slug: str, **params: str) -> str:
    query = urlencode(params)
    return f"{base}/timelines/{slug}" + (f"?{query}" if query else "")
