"""Conditional requests (RFC 9110 §13): the one reading of If-None-Match and If-Match.

Used by every read and write of the API and by the feed's pages. If-None-Match
uses the weak comparison (§13.1.2: `W/"3"` matches `"3"`), since a 304 only says
"what you hold is still good". If-Match uses the strong comparison (§13.1.1): a
weak tag never matches, because a write must be sure of the exact version.
"""

from __future__ import annotations

import re

# One entity tag: an optional W/ and a quoted string of visible ASCII but `"`.
_TAG = re.compile(r'\s*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')


class MalformedTags(ValueError):
    """A header that is neither `*` nor a comma-separated list of entity tags."""


def entity_tags(header: str) -> list[tuple[bool, str]] | None:
    """(weak, quoted tag) for each tag in an If-Match / If-None-Match header; None for `*`."""
    text = header.strip()
    if text == "*":
        return None
    tags, at = [], 0
    while at < len(text):
        match = _TAG.match(text, at)
        if match is None or match.end() == at:
            raise MalformedTags(f"not an entity tag list: {text[:40]!r}")
        tags.append((match.group(1) is not None, match.group(2)))
        at = match.end()
    if not tags:
        raise MalformedTags("empty")
    return tags


def none_match(header: str | None, etag: str) -> bool:
    """True when If-None-Match names `etag` (weak comparison) or is `*`: answer 304.

    A malformed header matches nothing, so the client gets the full answer.
    """
    if not header:
        return False
    try:
        tags = entity_tags(header)
    except MalformedTags:
        return False
    if tags is None:
        return True
    opaque = etag.removeprefix("W/")
    return any(tag == opaque for _, tag in tags)


def strong_tag(header: str) -> str | None:
    """The one strong tag If-Match names, quoted; None when it names only weak ones.

    MalformedTags when it is not one entity tag (`*` and lists included: a write
    names the one version it read).
    """
    tags = entity_tags(header)
    if tags is None or len(tags) != 1:
        raise MalformedTags("expected one entity tag")
    weak, tag = tags[0]
    return None if weak else tag
