"""`timeline events tail`: a terminal consumer that resumes with --after, losing nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.feed.sse import append_timeline
from timeline.feed.notify import send_wakeup
from timeline.store.feed import read_feed_rows, store_id

TIMELINE = Path(sys.executable).parent / "timeline"


async def feed_ids(engine: AsyncEngine, after: str) -> tuple[list[str], list[int]]:
    """The ids and positions of every event after `after`, as the store serves them now."""
    ids: list[str] = []
    positions: list[int] = []
    async with engine.connect() as conn:
        store = await store_id(conn)
        while True:
            page = await read_feed_rows(conn, store, after, 1000)
            ids += page.cursors
            positions += [row["position"] for row in page.rows]
            after = page.next_cursor
            if page.at_horizon:
                return ids, positions


async def settled_ids(engine: AsyncEngine, after: str, positions: list[int]) -> list[str]:
    """The feed's ids after `after` once every one of `positions` is readable."""
    for _ in range(500):
        ids, served = await feed_ids(engine, after)
        if set(positions) <= set(served):
            return ids
        await asyncio.sleep(0.02)
    raise AssertionError("the feed never reached the committed events")


def _interruptible() -> None:
    """Ctrl-C ends the child as it would on a terminal, even when this run was started with
    SIGINT ignored (in the background, under nohup), which a child would inherit."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


async def tail(database_url: str, *args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "TIMELINE_DATABASE_URL": database_url}
    return await asyncio.create_subprocess_exec(
        str(TIMELINE),
        "events",
        "tail",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=_interruptible,
    )


async def read_events(process: asyncio.subprocess.Process, count: int) -> list[dict[str, object]]:
    assert process.stdout is not None
    events = []
    for _ in range(count):
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        assert line, (await process.stderr.read()).decode() if process.stderr else "no output"
        events.append(json.loads(line))
    return events


async def test_tail_killed_midway_and_resumed_with_after_loses_and_repeats_nothing(
    engine: AsyncEngine, database_url: str
) -> None:
    existing, _ = await feed_ids(engine, "")
    start = existing[-1] if existing else ""
    before: list[int] = []
    for i in range(3):
        before += await append_timeline(engine, f"tl-{i}-{uuid.uuid4().hex[:6]}", count=2)

    first = await tail(database_url, *([f"--after={start}"] if start else []))
    seen = await read_events(first, 3)  # half of what is there, then it dies
    first.kill()
    await first.wait()

    during = await append_timeline(engine, f"tl-down-{uuid.uuid4().hex[:6]}", count=2)
    # a cursor may begin with "-": passed with "=", as the resume hint says
    second = await tail(database_url, f"--after={seen[-1]['id']}")
    try:
        seen += await read_events(second, 5)  # the rest of before, and what came while down
        live = await append_timeline(engine, f"tl-live-{uuid.uuid4().hex[:6]}", count=3)
        await send_wakeup(database_url)
        seen += await read_events(second, 3)  # followed live
    finally:
        second.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(second.communicate(), timeout=30)
    expected = await settled_ids(engine, start, before + during + live)
    assert [e["id"] for e in seen] == expected
    assert [e["position"] for e in seen] == before + during + live
    assert b"resume with --after=" in stderr


async def test_a_type_no_event_has_is_refused_before_tailing(database_url: str) -> None:
    """A typo would otherwise tail for ever and print nothing."""
    process = await tail(database_url, "--type", "AssertionRecordid")
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert "AssertionRecordid" in err.decode()
    assert "AssertionRecorded" in err.decode()
