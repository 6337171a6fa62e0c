"""Background tasks of a running process (the hub, the notifier, the purger, the log's
sequencer, the relay): one way to stop them, and one way to back off while the
database or the broker is away."""

from __future__ import annotations

import asyncio
import contextlib


async def stop(task: asyncio.Task[None] | None) -> None:
    """Cancel a background task and wait until it has ended."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# Reconnecting: the first try at once, then after 0.1 s, doubling up to 2 s.
RECONNECT_FIRST = 0.1
RECONNECT_MAX = 2.0


def backoff(failures: int) -> float:
    """Seconds to wait after `failures` failed tries in a row (0 before the first retry)."""
    if failures <= 0:
        return 0.0
    return float(min(RECONNECT_FIRST * 2 ** (failures - 1), RECONNECT_MAX))
