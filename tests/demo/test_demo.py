"""The seed timeline: loads twice the same, and says what the article says."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.feed.listening import wake_ups, woken
from tests.pg import scratch_database
from timeline.commands.load import load_assertion, load_source
from timeline.commands.writer import Writer
from timeline.demo import cli_load, load_demo, read_seed
from timeline.domain.kinds import KINDS
from timeline.domain.occurred import parse_occurred
from timeline.migrate import migrate

ARTICLE = Path(__file__).parents[1] / "data" / "nagorno-karabakh-ceasefire-article.txt"
SEED = read_seed()
SLUG = SEED.timeline.slug


def _quotes() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for a in SEED.assertions:
        found += [(a.key, c.quote) for c in a.citations]
        found += [(a.key, c.quote) for s in a.stances for c in s.citations]
    return found


@pytest.mark.parametrize(("key", "quote"), _quotes())
def test_every_quote_is_verbatim_from_the_article(key: str, quote: str) -> None:
    assert quote.strip(), key
    assert quote in ARTICLE.read_text(encoding="utf-8"), key


def test_every_claim_of_the_issue_is_modelled() -> None:
    keys = {a.key for a in SEED.assertions}
    assert {
        "fighting-began",
        "moscow-talks",
        "ceasefire-agreed",
        "ceasefire-in-effect",
        "lavrov-substantive-talks",
        "mnatsakanyan-talks-difficult",
        "bayramov-more-territory",
        "turkey-last-chance",
        "armenia-mod-ceasefire-violated",
        "azerbaijan-mod-tartar-agdam",
        "armenia-accuses-azerbaijan-of-bombing-civilians",
        "azerbaijan-accuses-armenia-of-bombing-civilians",
        "stepanakert-missile-strikes",
        "drone-strikes-intensified",
        "shusha-cathedral-shelled",
        "ganja-goranboy-shelled",
        "casualties-since-september-27",
        "displaced-70000",
        "pashinyan-bbc-interview",
        "war-1988-1994",
        "ceasefire-1994",
    } <= keys
    assert len(keys) == len(SEED.assertions) == 32


def test_dates_are_edtf_at_the_precision_the_text_gives() -> None:
    occurred = {a.key: a.occurred for a in SEED.assertions}
    assert occurred["fighting-began"] == "2020-09-27"
    assert occurred["shusha-cathedral-shelled"] == "2020-10-08"
    assert occurred["war-1988-1994"] == "1988/1994"
    assert occurred["russia-ties"] == "2020-10"
    for a in SEED.assertions:
        parse_occurred(a.occurred)
        assert a.kind in KINDS


def test_claimants_are_neither_the_source_nor_the_publisher() -> None:
    publishers = {s.publisher for s in SEED.sources}
    for a in SEED.assertions:
        assert a.claimant
        assert a.claimant not in publishers
        assert {c.source for c in a.citations} == {"alkhaleej-copy"}


async def test_the_demo_loads_twice_the_same(writer: Writer, engine: AsyncEngine) -> None:
    await load_demo(writer)
    before = await _demo_events(engine)
    second = await load_demo(writer)
    assert second.written == 0
    assert await _demo_events(engine) == before
    assert len(before) == 1 + 2 + 32 + 1


async def test_the_republication_is_modelled_with_via_credits_and_an_unknown_date(
    writer: Writer, engine: AsyncEngine
) -> None:
    await load_demo(writer)
    async with engine.connect() as conn:
        copy = await load_source(conn, SEED.source_id("alkhaleej-copy"))
        bbc = await load_source(conn, SEED.source_id("bbc-report"))
    assert copy is not None
    assert bbc is not None
    assert copy.publisher == "AlKhaleej Today"
    assert copy.via == bbc.source_id
    assert bbc.via is None
    assert copy.published_at is None
    assert "2024" in copy.published_at_note
    assert bbc.published_at is None
    assert "10 October 2020" in bbc.published_at_note
    assert any(c.startswith("Reuters") for c in bbc.credits)
    assert any(c.startswith("EPA") for c in bbc.credits)


async def test_armenia_denies_the_tartar_and_agdam_claim(
    writer: Writer, engine: AsyncEngine
) -> None:
    await load_demo(writer)
    async with engine.connect() as conn:
        state = await load_assertion(conn, SEED.assertion_id("azerbaijan-mod-tartar-agdam"))
    assert state is not None
    assert state.claimant == "Azerbaijani Ministry of Defense"
    assert [(s.party, s.stance) for s in state.stances] == [("Armenia", "denies")]
    assert state.status == "contested"


async def test_quantities_keep_their_ranges_and_qualifiers(
    writer: Writer, engine: AsyncEngine
) -> None:
    await load_demo(writer)
    async with engine.connect() as conn:
        killed = await load_assertion(conn, SEED.assertion_id("casualties-since-september-27"))
        displaced = await load_assertion(conn, SEED.assertion_id("displaced-70000"))
        ganja = await load_assertion(conn, SEED.assertion_id("ganja-goranboy-shelled"))
    assert killed is not None
    assert displaced is not None
    assert ganja is not None
    q = {x.measure: x for x in killed.quantities}
    assert (q["killed"].low, q["killed"].high, q["killed"].qualifier) == (
        300,
        None,
        "More than 300 people",
    )
    assert q["displaced"].approximate
    assert q["displaced"].qualifier == "thousands"
    (d,) = displaced.quantities
    assert (d.measure, d.low, d.high, d.approximate) == ("displaced", 70000, 70000, True)
    (g,) = ganja.quantities
    assert (g.measure, g.low, g.high, g.qualifier) == ("killed", 1, None, "at least one civilian")


async def test_knowledge_time_is_the_report_date_not_the_load_date(
    writer: Writer, engine: AsyncEngine
) -> None:
    await load_demo(writer)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT DISTINCT reported_at FROM events "
                    "WHERE timeline = :slug AND stream_type = 'assertion'"
                ),
                {"slug": SLUG},
            )
        ).scalars()
        assert [r.isoformat() for r in rows] == ["2020-10-10T23:59:59+00:00"]


async def _demo_events(engine: AsyncEngine) -> list[tuple[str, str, int, str]]:
    ids = [SEED.source_id(s.key) for s in SEED.sources]
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT stream_type, stream_id, version, data::text FROM events "
                "WHERE timeline = :slug OR (stream_type = 'source' AND stream_id = ANY(:ids)) "
                "ORDER BY position"
            ),
            {"slug": SLUG, "ids": ids},
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_demo_load_wakes_live_feed_readers_once_it_has_written(
    postgres_server: str,
) -> None:
    with scratch_database(postgres_server) as url:
        await asyncio.to_thread(migrate, url)  # migrate runs its own event loop
        async with wake_ups(url) as queue:
            assert await cli_load(url) == 0
            assert await woken(queue), "demo load wrote events but woke no reader"
            assert await cli_load(url) == 0  # writes nothing: nobody to wake
            assert not await woken(queue)
