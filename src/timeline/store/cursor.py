"""Opaque, URL-safe feed cursors: (transaction id, position) plus the store's id.

A cursor names the last event a reader has seen, in feed order. The store id
prefix makes a cursor from another store (or a restored copy) a clear error
instead of a silent skip.
"""

from __future__ import annotations

import base64
import binascii
import struct

from timeline.store.errors import InvalidCursor

_LAYOUT = struct.Struct(">4sQQ")  # store id prefix, tx id, position


def encode_cursor(store_id: str, tx_id: int, position: int) -> str:
    raw = _LAYOUT.pack(_prefix(store_id), tx_id, position)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(store_id: str, cursor: str) -> tuple[int, int]:
    """(tx_id, position) from a cursor, or InvalidCursor."""
    if not cursor or len(cursor) > 64:
        raise InvalidCursor("not a cursor of this feed")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        prefix, tx_id, position = _LAYOUT.unpack(raw)
    except (binascii.Error, struct.error, ValueError):
        raise InvalidCursor("not a cursor of this feed") from None
    if prefix != _prefix(store_id):
        raise InvalidCursor("a cursor from another store")
    return tx_id, position


def _prefix(store_id: str) -> bytes:
    return bytes.fromhex(store_id.replace("-", "")[:8])
