"""Writing a small world through the real write path, for the projection tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from timeline.commands import handlers
from timeline.commands.writer import Writer
from timeline.domain.commands import (
    OpenTimeline,
    RecordAssertion,
    RecordStance,
    RegisterSource,
    RetractAssertion,
    ReviseAssertion,
    WithdrawSource,
)
from timeline.domain.values import Citation, Quantity, StanceKind


def at(day: int, month: int = 10, hour: int = 12) -> datetime:
    """A time on a day of 2020, UTC."""
    return datetime(2020, month, day, hour, tzinfo=UTC)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def killed(low: int) -> tuple[Quantity, ...]:
    return (Quantity(measure="killed", low=low, qualifier=f"more than {low}"),)


class World:
    """A fresh timeline and source (unique ids per test), and verbs to write to them."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.slug = new_id("tl")
        self.source = new_id("src")

    async def open(self) -> World:
        await handlers.open_timeline(self.writer, OpenTimeline(slug=self.slug, title="NK 2020"))
        await self.register(self.source)
        return self

    async def register(self, source_id: str) -> str:
        await handlers.register_source(
            self.writer, RegisterSource(source_id=source_id, publisher="BBC", title="Report")
        )
        return source_id

    async def record(self, reported_at: datetime, **fields: Any) -> str:
        assertion_id = fields.pop("assertion_id", None) or new_id("a")
        values: dict[str, Any] = {
            "assertion_id": assertion_id,
            "timeline": self.slug,
            "occurred": "2020-09-27",
            "kind": "casualties",
            "summary": "Soldiers killed",
            "citations": (Citation(source_id=self.source, quote="soldiers were killed"),),
            "reported_at": reported_at,
        }
        values.update(fields)
        await handlers.record_assertion(self.writer, RecordAssertion(**values))
        return assertion_id

    async def revise(self, assertion_id: str, reported_at: datetime, **changes: Any) -> None:
        await handlers.change_assertion(
            self.writer,
            ReviseAssertion(assertion_id=assertion_id, reported_at=reported_at, **changes),
        )

    async def stance(
        self, assertion_id: str, reported_at: datetime, stance: StanceKind, party: str = "Armenia"
    ) -> None:
        await handlers.change_assertion(
            self.writer,
            RecordStance(
                assertion_id=assertion_id,
                party=party,
                stance=stance,
                statement=f"{party} {stance} it",
                reported_at=reported_at,
            ),
        )

    async def retract(self, assertion_id: str, reported_at: datetime) -> None:
        await handlers.change_assertion(
            self.writer,
            RetractAssertion(assertion_id=assertion_id, reason="wrong", reported_at=reported_at),
        )

    async def withdraw(self, source_id: str, withdrawn_at: datetime) -> None:
        await handlers.withdraw_source(
            self.writer,
            WithdrawSource(source_id=source_id, reason="retracted", withdrawn_at=withdrawn_at),
        )
