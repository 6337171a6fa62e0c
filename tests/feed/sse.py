"""A small server-sent-events reader and writers for the feed tests."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.domain.events import TimelineOpened, TimelineRetitled
from timeline.store.append import StreamRef, append_to_stream


@dataclass
class Message:
    id: str | None = None
    event: str | None = None
    data: str = ""
    retry: int | None = None
    comments: list[str] = field(default_factory=list)


async def messages(response: httpx.Response) -> AsyncIterator[Message]:
    """Parse an SSE body into messages (comments and retry hints included)."""
    current = Message()
    async for line in response.aiter_lines():
        if line == "":
            yield current
            current = Message()
        elif line.startswith(":"):
            current.comments.append(line[1:].strip())
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "id":
                current.id = value
            elif name == "event":
                current.event = value
            elif name == "data":
                current.data = value if not current.data else current.data + "\n" + value
            elif name == "retry":
                current.retry = int(value)


async def append_timeline(
    engine: AsyncEngine, slug: str, *, count: int = 1, commit: bool = True
) -> list[int]:
    """Open a timeline and retitle it count-1 times in one transaction; its positions."""
    events = [TimelineOpened(slug=slug, title="t", region="r")] + [
        TimelineRetitled(slug=slug, title=f"t{i}") for i in range(count - 1)
    ]
    async with engine.connect() as conn:
        transaction = await conn.begin()
        result = await append_to_stream(conn, StreamRef("timeline", slug), 0, events, timeline=slug)
        if commit:
            await transaction.commit()
            return list(result.positions)
        await transaction.rollback()
        return []


async def busy_writer(
    engine: AsyncEngine, name: str, appends: int, seed: int, poke: object = None
) -> list[int]:
    """Appends with random rollbacks and transactions held open; the committed positions."""
    import asyncio

    rng = random.Random(seed)
    committed: list[int] = []
    for i in range(appends):
        events_n = rng.choice([1, 1, 2, 3])
        rollback = rng.random() < 0.25
        hold = rng.random() < 0.3
        events = [TimelineOpened(slug=f"{name}-{i}", title="t")] + [
            TimelineRetitled(slug=f"{name}-{i}", title=f"t{k}") for k in range(events_n - 1)
        ]
        async with engine.connect() as conn:
            transaction = await conn.begin()
            result = await append_to_stream(
                conn, StreamRef("timeline", f"{name}-{i}"), 0, events, timeline=name
            )
            if hold:
                await asyncio.sleep(rng.uniform(0.005, 0.08))
            if rollback:
                await transaction.rollback()
            else:
                await transaction.commit()
                committed.extend(result.positions)
        if callable(poke):
            poke()
        await asyncio.sleep(rng.uniform(0, 0.01))
    return committed
