"""OpenAPI examples, taken from the seed article (AlKhaleej Today republishing the BBC)."""

from __future__ import annotations

from litestar.openapi.spec import Example

SOURCE_ID = "4b1e6f0e-2f0c-4c51-9a57-6c7b1de0a001"
ASSERTION_ID = "9c0d7a52-6a43-4f57-8f3a-2b1f0c6e5d10"

SLUG = [Example(summary="the seed timeline", value="nagorno-karabakh-2020")]
SOURCE = [Example(summary="a source id", value=SOURCE_ID)]
ASSERTION_IDS = [Example(summary="an assertion id", value=ASSERTION_ID)]
SINCE = [Example(summary="the day the ceasefire took effect", value="2020-10-10")]
UNTIL = [Example(summary="two days later", value="2020-10-12T00:00:00Z")]

TIMELINE = [
    Example(
        summary="The 2020 Nagorno-Karabakh war",
        value={
            "slug": "nagorno-karabakh-2020",
            "title": "Nagorno-Karabakh war, 2020",
            "description": "Fighting over the disputed region from 27 September 2020",
            "region": "Caucasus",
        },
    )
]

SOURCE_BODY = [
    Example(
        summary="The BBC report",
        value={
            "publisher": "BBC",
            "title": "Nagorno-Karabakh: Armenia and Azerbaijan trade accusations of truce "
            "violations",
            "url": "https://www.bbc.com/news/world-europe-54495011",
            "published_at": "2020-10-11T09:00:00Z",
            "language": "en",
            "via": None,
            "credits": ["Reuters", "EPA"],
        },
    ),
    Example(
        summary="AlKhaleej Today republishing it",
        value={
            "publisher": "AlKhaleej Today",
            "title": "Nagorno Karabakh: The exchange of accusations between Armenia and "
            "Azerbaijan of...",
            "url": "https://alkhaleejtoday.example/nagorno-karabakh",
            "published_at": None,
            "published_at_note": "5 hours ago",
            "language": "en",
            "via": SOURCE_ID,
        },
    ),
]

SOURCE_UPDATE = [
    Example(
        summary="A corrected headline",
        value={
            "title": "Nagorno-Karabakh: Armenia and Azerbaijan trade accusations",
            "reason": "the publisher corrected the headline",
        },
    )
]

WITHDRAWAL = [
    Example(
        summary="The article was taken down",
        value={"reason": "the publisher took the article down"},
    )
]

ASSERTION = [
    Example(
        summary="The shelling of the Holy Savior Cathedral",
        value={
            "occurred": "2020-10-08",
            "kind": "shelling",
            "summary": "Holy Savior Cathedral in Shusha shelled",
            "place": {"name": "Shusha", "lat": 39.7583, "lon": 46.7486, "precision": "town"},
            "actors": ["Azerbaijan"],
            "quantities": [],
            "claimant": "Armenia",
            "citations": [
                {
                    "source_id": SOURCE_ID,
                    "quote": "Pictures showed great damage in the Cathedral of the Holy Savior "
                    "in Shusha",
                }
            ],
            "reported_at": "2020-10-08T15:00:00Z",
        },
    ),
    Example(
        summary="The toll since 27 September",
        value={
            "occurred": "2020-09-27/2020-10-10",
            "kind": "casualties",
            "summary": "More than 300 people killed since the outbreak on 27 September",
            "place": {"name": "Nagorno-Karabakh", "precision": "region"},
            "actors": ["Armenia", "Azerbaijan"],
            "quantities": [
                {"measure": "killed", "low": 300, "high": None, "qualifier": "more than"}
            ],
            "claimant": None,
            "citations": [
                {
                    "source_id": SOURCE_ID,
                    "quote": "More than 300 people have been killed and thousands displaced",
                }
            ],
            "reported_at": "2020-10-11T09:00:00Z",
        },
    ),
]

REVISION = [
    Example(
        summary="A higher toll",
        value={
            "changes": {
                "quantities": [
                    {"measure": "killed", "low": 300, "high": None, "qualifier": "more than"}
                ]
            },
            "reason": "later reports raised the toll",
            "citations": [],
            "reported_at": "2020-10-12T08:00:00Z",
        },
    )
]

STANCE = [
    Example(
        summary="Armenia denies firing on Tartar and Aghdam",
        value={
            "party": "Armenia",
            "stance": "denies",
            "statement": "Armenia denied firing on the Azerbaijani regions of Tartar and Aghdam",
            "citations": [{"source_id": SOURCE_ID, "quote": "which was denied by Armenia"}],
            "reported_at": "2020-10-11T09:00:00Z",
        },
    )
]

RETRACTION = [
    Example(
        summary="A misattributed claim",
        value={
            "reason": "the claim was misattributed to the ministry",
            "citations": [],
            "reported_at": "2020-10-13T10:00:00Z",
        },
    )
]
