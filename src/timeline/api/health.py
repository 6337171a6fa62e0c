"""GET /health: 200 while the database answers, 503 (problem+json) while it does not."""

from __future__ import annotations

import asyncio

from litestar import get
from litestar.di import NamedDependency
from sqlalchemy import text

from timeline.api.docs import problems
from timeline.api.errors import RETRY_AFTER_SECONDS, ApiProblem
from timeline.api.schemas import Health
from timeline.api.state import Reader

TIMEOUT_SECONDS = 1.5


async def _ping(reader: Reader) -> None:
    async with reader.read() as conn:
        await conn.execute(text("SELECT 1"))


@get(
    "/health",
    summary="Is the service up",
    operation_id="Health",
    tags=["service"],
    responses=problems(503),
)
async def health(reader: NamedDependency[Reader]) -> Health:
    """200 while the database answers a query within 1.5 seconds."""
    try:
        await asyncio.wait_for(_ping(reader), TIMEOUT_SECONDS)
    except Exception as error:  # any failure to answer means "not healthy", never a 500
        raise ApiProblem(
            503,
            "database-unavailable",
            f"the database does not answer: {type(error).__name__}",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None
    return Health(status="ok")
