"""Timeline and source decisions: slugs, existence, withdrawal."""

from __future__ import annotations

import pytest

from tests.domain.examples import SLUG, at, source, timeline
from timeline.domain import sources, timelines
from timeline.domain.commands import (
    OpenTimeline,
    RegisterSource,
    RetitleTimeline,
    UpdateSource,
    WithdrawSource,
)
from timeline.domain.errors import (
    DomainError,
    SourceAlreadyExists,
    SourceIsWithdrawn,
    SourceNotFound,
    TimelineAlreadyExists,
    TimelineNotFound,
)
from timeline.domain.events import (
    SourceRegistered,
    SourceUpdated,
    SourceWithdrawn,
    TimelineOpened,
    TimelineRetitled,
)
from timeline.domain.sources import register_source, update_source, withdraw_source
from timeline.domain.timelines import Timeline, open_timeline, retitle_timeline


@pytest.mark.parametrize("slug", ["nagorno-karabakh-2020", "a", "1988-1994", "x" * 80])
def test_a_well_formed_slug_opens_a_timeline(slug: str) -> None:
    assert open_timeline(None, OpenTimeline(slug=slug, title="T")) == [
        TimelineOpened(slug=slug, title="T")
    ]


@pytest.mark.parametrize(
    "slug", ["", "-karabakh", "karabakh-", "Karabakh", "kara bakh", "kara_bakh", "é", "x" * 81]
)
def test_a_malformed_slug_is_refused_naming_slug(slug: str) -> None:
    with pytest.raises(DomainError) as error:
        open_timeline(None, OpenTimeline(slug=slug, title="T"))
    assert error.value.field == "slug"


def test_a_timeline_that_exists_already_is_refused_naming_slug() -> None:
    with pytest.raises(TimelineAlreadyExists) as error:
        open_timeline(timeline(), OpenTimeline(slug=SLUG, title="Again"))
    assert error.value.field == "slug"


@pytest.mark.parametrize("title", ["", "  ", "t" * 301])
def test_a_bad_title_is_refused_naming_title(title: str) -> None:
    with pytest.raises(DomainError) as error:
        open_timeline(None, OpenTimeline(slug=SLUG, title=title))
    assert error.value.field == "title"
    with pytest.raises(DomainError) as error:
        retitle_timeline(timeline(), RetitleTimeline(slug=SLUG, title=title))
    assert error.value.field == "title"


def test_a_missing_timeline_cannot_be_retitled() -> None:
    with pytest.raises(TimelineNotFound) as error:
        retitle_timeline(None, RetitleTimeline(slug=SLUG, title="T"))
    assert error.value.field == "slug"


def register(**changes: object) -> RegisterSource:
    fields: dict[str, object] = {"source_id": "bbc", "publisher": "BBC", "title": "Report"}
    fields.update(changes)
    return RegisterSource(**fields)  # type: ignore[arg-type]


def test_a_source_is_registered_as_one_event() -> None:
    assert register_source(None, register(url="https://bbc.com/news/1"), None) == [
        SourceRegistered(
            source_id="bbc", publisher="BBC", title="Report", url="https://bbc.com/news/1"
        )
    ]


def test_a_source_that_exists_already_is_refused_naming_source_id() -> None:
    with pytest.raises(SourceAlreadyExists) as error:
        register_source(source(), register(), None)
    assert error.value.field == "source_id"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"publisher": " "}, "publisher"),
        ({"title": ""}, "title"),
        ({"url": "ftp://bbc.com"}, "url"),
        ({"language": "x" * 36}, "language"),
        ({"via": "reuters"}, "via"),
    ],
)
def test_a_bad_source_is_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(DomainError) as error:
        register_source(None, register(**changes), None)
    assert error.value.field == field


def test_a_source_cannot_republish_itself() -> None:
    with pytest.raises(DomainError) as error:
        update_source(source(), UpdateSource(source_id="bbc", via="bbc"), source())
    assert error.value.field == "via"


def test_a_withdrawn_source_cannot_be_updated_or_withdrawn_again() -> None:
    withdrawn = source(withdrawn=True)
    with pytest.raises(SourceIsWithdrawn):
        update_source(withdrawn, UpdateSource(source_id="bbc", title="New"), None)
    with pytest.raises(SourceIsWithdrawn):
        withdraw_source(withdrawn, WithdrawSource(source_id="bbc", withdrawn_at=at(21)))


def test_a_missing_source_cannot_be_updated_or_withdrawn() -> None:
    with pytest.raises(SourceNotFound) as error:
        update_source(None, UpdateSource(source_id="bbc", title="New"), None)
    assert error.value.field == "source_id"
    with pytest.raises(SourceNotFound) as error:
        withdraw_source(None, WithdrawSource(source_id="bbc", withdrawn_at=at(21)))
    assert error.value.field == "source_id"


def test_a_withdrawal_is_recorded_with_its_time() -> None:
    cmd = WithdrawSource(source_id="bbc", reason="fabricated", withdrawn_at=at(21))
    assert withdraw_source(source(), cmd) == [
        SourceWithdrawn(source_id="bbc", reason="fabricated", withdrawn_at=at(21))
    ]


def test_folding_a_timeline_counts_versions_and_keeps_what_a_retitle_leaves_out() -> None:
    events = [
        TimelineOpened(slug=SLUG, title="T", description="d", region="r"),
        TimelineRetitled(slug=SLUG, title="U"),
        TimelineRetitled(slug=SLUG, region="s"),
    ]
    assert timelines.fold(events) == Timeline(
        slug=SLUG, title="U", description="d", region="s", version=3
    )
    assert timelines.fold([]) is None


def test_folding_a_source_counts_versions_through_an_update_and_a_withdrawal() -> None:
    events = [
        SourceRegistered(source_id="s", publisher="P", title="T", language="en"),
        SourceUpdated(source_id="s", language="ar"),
        SourceWithdrawn(source_id="s", reason="gone", withdrawn_at=at(12)),
    ]
    state = sources.fold(events)
    assert state is not None
    assert (state.version, state.publisher, state.language) == (3, "P", "ar")
    assert (state.withdrawn, state.withdrawal_reason) == (True, "gone")
    assert state.withdrawn_at == at(12)
