"""The viewer's test data: the demo timeline, and a small timeline whose knowledge changes
over several report dates, written out of order through the API (DESIGN §1's example)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

# The DESIGN §1 example: 200 reported 5 Oct, 300 reported 12 Oct, 250 backfilled as of 9 Oct.
REPORTS = [
    "2020-10-05T09:00:00Z",
    "2020-10-08T18:00:00Z",
    "2020-10-09T12:00:00Z",
    "2020-10-11T08:00:00Z",
    "2020-10-12T10:00:00Z",
    "2020-10-13T07:00:00Z",
]


@dataclass
class Replay:
    slug: str
    toll: str  # the casualty figure: revised twice, once backfilled
    shelling: str  # denied by Armenia
    rumour: str  # recorded, then retracted
    source: str


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def write_replay(base: str, key: str, slug: str = "replay-2020") -> Replay:
    """A timeline with six report dates, a backfilled revision, a denial and a retraction."""
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=auth, timeout=30) as http:
        _ok(
            http.post(
                "/v1/timelines",
                json={
                    "slug": slug,
                    "title": "Replay test",
                    "description": "Knowledge over six days.",
                    "region": "South Caucasus",
                },
            )
        )
        source = _ok(
            http.post(
                "/v1/sources",
                json={
                    "publisher": "Wire",
                    "title": "Daily report",
                    "url": None,
                    "published_at": "2020-10-05T08:00:00Z",
                    "language": "en",
                    "via": None,
                },
            )
        )["id"]
        cite = [{"source_id": source, "quote": "officials said"}]

        def record(body: dict[str, Any]) -> str:
            base_body = {
                "actors": ["Armenia", "Azerbaijan"],
                "claimant": "officials",
                "citations": cite,
                "quantities": [],
                "place": None,
            }
            return str(
                _ok(http.post(f"/v1/timelines/{slug}/assertions", json={**base_body, **body}))["id"]
            )

        toll = record(
            {
                "occurred": "2020-09-27/2020-10-05",
                "kind": "casualties",
                "summary": "People killed since the fighting began.",
                "quantities": [{"measure": "killed", "low": 200, "high": None}],
                "place": {
                    "name": "Nagorno-Karabakh",
                    "lat": 39.85,
                    "lon": 46.75,
                    "precision": "region",
                },
                "reported_at": REPORTS[0],
            }
        )
        shelling = record(
            {
                "occurred": "2020-10-08~",
                "kind": "shelling",
                "summary": "Ganja was shelled.",
                "claimant": "Azerbaijan",
                "place": {"name": "Ganja", "lat": 40.68, "lon": 46.36, "precision": "town"},
                "reported_at": REPORTS[1],
            }
        )
        _ok(
            http.post(
                f"/v1/assertions/{shelling}/stances",
                json={
                    "party": "Armenia",
                    "stance": "denies",
                    "statement": "Armenia denied shelling Ganja.",
                    "citations": cite,
                    "reported_at": REPORTS[2],
                },
            )
        )
        _ok(
            http.post(
                f"/v1/assertions/{toll}/revisions",
                headers={"If-Match": '"1"'},
                json={
                    "changes": {"quantities": [{"measure": "killed", "low": 300, "high": None}]},
                    "reason": "a later count",
                    "citations": cite,
                    "reported_at": REPORTS[4],
                },
            )
        )
        rumour = record(
            {
                "occurred": "1994",
                "kind": "ceasefire",
                "summary": "A ceasefire was said to have been signed in 1994.",
                "reported_at": REPORTS[3],
            }
        )
        # typed in last, reported before the 12 October revision: slots in between
        _ok(
            http.post(
                f"/v1/assertions/{toll}/revisions",
                headers={"If-Match": '"2"'},
                json={
                    "changes": {"quantities": [{"measure": "killed", "low": 250, "high": None}]},
                    "reason": "a backfilled report",
                    "citations": cite,
                    "reported_at": REPORTS[2],
                },
            )
        )
        _ok(
            http.post(
                f"/v1/assertions/{rumour}/retraction",
                json={"reason": "misreported", "citations": cite, "reported_at": REPORTS[5]},
            )
        )
    return Replay(slug, toll, shelling, rumour, source)
