"""The two fields of a served timeline page that the page tests read, its views kept as bytes."""

from __future__ import annotations

import msgspec


class RawPage(msgspec.Struct):
    assertions: msgspec.Raw
    next_cursor: str | None


def raw_page(page: msgspec.Raw | None) -> RawPage:
    """get_timeline_json's page, its assertions as the exact bytes served."""
    assert page is not None
    return msgspec.json.decode(page, type=RawPage)
