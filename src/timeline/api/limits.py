"""Rate limits on writes, per API key: Litestar's rate-limit middleware, keyed by the key.

Each key (a hash of its secret, never the secret) gets `per_minute` writes in a
sliding minute; one more is 429 problem+json with `Retry-After`. Reads are not
limited here. The counts live in the process's memory store: with several API
processes, each counts its own share.
"""

from __future__ import annotations

import hashlib
from typing import Any

from litestar import Request
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address


def _writer(request: Request[Any, Any, Any]) -> str:
    """Who is writing: the key's hash, or the peer's address for a request without one."""
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return "key:" + hashlib.sha256(authorization[7:].strip().encode()).hexdigest()[:32]
    return "peer:" + get_remote_address(request)


def _is_write(request: Request[Any, Any, Any]) -> bool:
    return request.method == "POST"


def write_rate_limit(per_minute: int) -> RateLimitConfig | None:
    """The limit's middleware config; None when `per_minute` is 0 (no limit)."""
    if per_minute <= 0:
        return None
    return RateLimitConfig(
        rate_limit=("minute", per_minute),
        identifier_for_request=_writer,
        check_throttle_handler=_is_write,
        store="write_rate_limit",
    )
