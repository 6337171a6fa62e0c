"""`python -m timeline.welcome`: what `make run` prints before serving: the viewer, the docs and
three curls."""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy import text

from timeline.config import Settings
from timeline.store.db import create_engine
from timeline.variables import ConfigError

SLUG = "nagorno-karabakh-2020"

# The demo's casualty figure: the timeline's first assertion of kind casualties.
_CASUALTY_ID = text(
    "SELECT stream_id FROM events WHERE type = 'AssertionRecorded' AND timeline = :slug "
    "AND data->>'kind' = 'casualties' ORDER BY position LIMIT 1"
)


async def casualty_assertion_id(url: str) -> str | None:
    """The id of the demo timeline's casualty-figure assertion, looked up in the store."""
    engine = create_engine(url, pool_size=1, application="timeline welcome")
    try:
        async with engine.connect() as conn:
            value = await conn.scalar(_CASUALTY_ID, {"slug": SLUG})
    finally:
        await engine.dispose()
    return None if value is None else str(value)


def welcome_text(base: str, casualty_id: str | None) -> str:
    history = (
        f"curl -s {base}/v1/assertions/{casualty_id}/history"
        if casualty_id
        else "# (no casualty assertion: run `timeline demo load`)"
    )
    return "\n".join(
        [
            "",
            f"timeline is starting on {base}",
            f"  viewer:    {base}/timelines/{SLUG}  (all timelines: {base}/)",
            f"  API docs:  {base}/schema",
            "",
            "  # the Nagorno-Karabakh timeline as known now",
            f"  curl -s {base}/v1/timelines/{SLUG}",
            "  # as it looked on 1 October 2020: known then, occurred by then (the seed report",
            "  # dates from 10 October 2020, so this is empty; try as_of=2020-10-11)",
            f"  curl -s '{base}/v1/timelines/{SLUG}?as_of=2020-10-01'",
            "  # every version of the casualty figure, in knowledge order",
            f"  {history}",
            "",
        ]
    )


def main() -> int:
    try:
        settings = Settings.from_env()
        from timeline.embedded import database_url

        url = database_url(settings, announce=False)
    except ConfigError as error:
        print(f"timeline: {error}", file=sys.stderr)
        return 2
    casualty_id = asyncio.run(casualty_assertion_id(url))
    print(welcome_text(f"http://{settings.host}:{settings.port}", casualty_id))
    return 0


if __name__ == "__main__":
    sys.exit(main())
