"""The viewer's script and stylesheet, read once and served from memory.

They are small and few, so a route that answers bytes held in memory (with an
ETag of their content and a day of caching) beats opening, stat-ing and
streaming a file per request. The pages inline the stylesheet (7 KB) under its
hash, so their first paint waits for nothing else.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from pathlib import Path

from litestar import Response, get
from litestar.datastructures import CacheControlHeader

from timeline.api.errors import ApiProblem

STATIC = Path(__file__).with_name("static")
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@cache
def stylesheet() -> tuple[str, str]:
    """The stylesheet's text, to be inlined in each page, and its CSP source ('sha256-...').

    Inlined, the first paint waits for no second request; the hash lets the page's
    Content-Security-Policy allow exactly this style and no other inline one.
    """
    text = (STATIC / "viewer.css").read_text()
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return text, f"'sha256-{digest}'"


@cache
def _asset(name: str) -> tuple[bytes, str, str] | None:
    path = STATIC / name
    if path.parent != STATIC or path.suffix not in TYPES or not path.is_file():
        return None
    body = path.read_bytes()
    return body, TYPES[path.suffix], '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


@get(
    "/static/{name:str}",
    include_in_schema=False,
    cache_control=CacheControlHeader(max_age=86400, public=True),
    sync_to_thread=False,
)
def static_asset(name: str) -> Response[bytes]:
    """/static/viewer.css and /static/viewer.js."""
    found = _asset(name)
    if found is None:
        raise ApiProblem(404, "not-found", f"no asset {name!r}", field="name")
    body, media_type, etag = found
    return Response(body, media_type=media_type, headers={"ETag": etag})
