"""Encoded answers kept per process, so a read that has not changed is not recomputed.

An answer is the body's bytes, its ETag and its Cache-Control, keyed by the
route, its path parameters and its normalised query parameters (never a
header: the guard runs before the handler, and nothing in a body depends on
who asked). Before an answer is served it is checked with one indexed
statement (`projections.freshness.changed_since`, which explains why that is
strongly consistent); if something changed it is computed again. An answer
pinned to a `recorded_at` that no running transaction can still change is
final: served with no check, and marked immutable.

**Checks are shared.** Requests for one key that arrive while a check runs
wait for the next check, which begins after the running one ends, and share
it: a check that begins after a request arrived is as good as one of its
own. So a hot page costs about one statement per round trip, not one per
request, and one recomputation when it changed, not one per waiting request.

**Memory is bounded** by `TIMELINE_READ_CACHE_BYTES` (bodies plus an estimate
of keys and bookkeeping), least recently used first out; an answer larger
than an eighth of the bound is not kept. Many distinct query strings (every
`q=`, every cursor) each take an entry, push older ones out and lower the
hit rate; the total never passes the bound. With 0 nothing is kept (checks and
recomputations are still shared by the requests that wait on them).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.api.caching import IMMUTABLE, REVALIDATE, content_etag, version_etag
from timeline.projections import freshness
from timeline.projections.freshness import Scope
from timeline.projections.temporal import Temporal

if TYPE_CHECKING:
    from timeline.api.state import AppState

# What an entry costs besides its body: the key, the ETag, the snapshot text, the
# dict slot and the objects around them (an estimate; measured at about 600 bytes).
ENTRY_OVERHEAD = 600
LARGEST_SHARE = 8  # an answer over bound / LARGEST_SHARE is not kept

# A read computed for the cache: the value to encode and its version ETag, if any.
Fill = Callable[[AsyncConnection], Awaitable[tuple[Any, int | None]]]

_encoder = msgspec.json.Encoder()


@dataclass(slots=True)
class Answer:
    body: bytes
    headers: dict[str, str]
    etag: str
    scope: Scope
    # The snapshot it was last checked at; None when final (never checked again).
    since: str | None
    size: int


@dataclass(slots=True)
class _Rounds:
    """One key's checks: at most one running, and the next one, which waiters join."""

    running: asyncio.Future[Answer] | None = None
    queued: asyncio.Future[Answer] | None = None
    queued_start: Callable[[], Coroutine[Any, Any, Answer]] | None = None


class AnswerCache:
    """Encoded answers by key, least recently used evicted first, within `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        # What the reads cost, for tests and for a look at a running process.
        self.checks = 0  # freshness checks run
        self.fills = 0  # answers computed
        self._answers: OrderedDict[Hashable, Answer] = OrderedDict()
        self._rounds: dict[Hashable, _Rounds] = {}

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, key: Hashable) -> Answer | None:
        answer = self._answers.get(key)
        if answer is not None:
            self._answers.move_to_end(key)
        return answer

    def put(self, key: Hashable, answer: Answer) -> None:
        old = self._answers.pop(key, None)
        if old is not None:
            self.size -= old.size
        if answer.size > self.max_bytes // LARGEST_SHARE:
            return
        self._answers[key] = answer
        self.size += answer.size
        while self.size > self.max_bytes:
            _, evicted = self._answers.popitem(last=False)
            self.size -= evicted.size

    def next_round(
        self, key: Hashable, start: Callable[[], Coroutine[Any, Any, Answer]]
    ) -> asyncio.Future[Answer]:
        """A check of `key` that begins after now: a new one if none runs, else the
        one queued behind the running one (started by `start` of its first waiter)."""
        rounds = self._rounds.get(key)
        if rounds is None:
            rounds = self._rounds[key] = _Rounds()
        if rounds.running is None:
            return self._begin(key, rounds, start)
        if rounds.queued is None:
            rounds.queued = asyncio.get_running_loop().create_future()
            rounds.queued_start = start
        return rounds.queued

    def _begin(
        self, key: Hashable, rounds: _Rounds, start: Callable[[], Coroutine[Any, Any, Answer]]
    ) -> asyncio.Future[Answer]:
        # A task of its own: a waiter that goes away (a closed connection) cancels
        # its wait, never the check the others share.
        task = asyncio.ensure_future(start())
        rounds.running = task
        task.add_done_callback(lambda done: self._ended(key, rounds, done))
        return task

    def _ended(self, key: Hashable, rounds: _Rounds, done: asyncio.Future[Answer]) -> None:
        if not done.cancelled():
            done.exception()  # retrieved: the waiters re-raise it, or nobody needed it
        rounds.running = None
        queued, start = rounds.queued, rounds.queued_start
        rounds.queued = rounds.queued_start = None
        if queued is None or start is None:
            del self._rounds[key]
            return
        self._begin(key, rounds, start).add_done_callback(lambda task: _copy(task, queued))


def _copy(task: asyncio.Future[Answer], into: asyncio.Future[Answer]) -> None:
    if into.done():
        return
    if task.cancelled():
        into.cancel()
    elif (error := task.exception()) is not None:
        into.set_exception(error)
        into.exception()  # retrieved here too: every waiter may have gone
    else:
        into.set_result(task.result())


def _answer(
    value: Any, version: int | None, scope: Scope, since: str | None, key: Hashable
) -> Answer:
    body = _encoder.encode(value)
    etag = version_etag(version) if version is not None else content_etag(body)
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE if since is None else REVALIDATE}
    size = len(body) + len(repr(key)) + len(since or "") + ENTRY_OVERHEAD
    return Answer(body=body, headers=headers, etag=etag, scope=scope, since=since, size=size)


async def _round(
    state: AppState, key: Hashable, scope: Scope, fill: Fill, temporal: Temporal | None
) -> Answer:
    """Check the kept answer of `key`; compute it again if it changed or is not kept.

    A pinned answer first asks whether it can still change (`final_snapshot`, read
    before the check's or the read's own snapshot is taken, as finality needs): a
    kept one that is unchanged then becomes final.
    """
    cache = state.answers
    kept = cache.get(key)
    pinned = temporal.recorded_at if temporal is not None else None
    async with state.read() as conn:
        final = False
        if pinned is not None:
            since, final = await freshness.final_snapshot(conn, pinned)
        if kept is not None and kept.since is not None:
            cache.checks += 1
            changed, now = await freshness.changed_since(conn, kept.scope, kept.since)
            if not changed:
                if final:
                    kept.since = None
                    kept.headers = {**kept.headers, "Cache-Control": IMMUTABLE}
                else:
                    kept.since = now
                return kept
            since = now
        elif pinned is None:
            since = await freshness.snapshot(conn)
        cache.fills += 1
        value, version = await fill(conn)
    answer = _answer(value, version, scope, None if final else since, key)
    cache.put(key, answer)
    return answer


async def kept_answer(
    state: AppState, key: Hashable, scope: Scope, fill: Fill, temporal: Temporal | None
) -> Answer:
    """The answer of `key`, as fresh as a read begun now: kept, checked, or filled."""
    cache = state.answers
    answer = cache.get(key)
    if answer is None or answer.since is not None:
        check = cache.next_round(key, lambda: _round(state, key, scope, fill, temporal))
        answer = await asyncio.shield(check)
    return answer
