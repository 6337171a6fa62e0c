"""Opaque, URL-safe feed cursors: (transaction id, position) plus the store's id.

A cursor names the last event a reader has seen, in feed order. The store id
prefix makes a cursor from another store (or a restored copy) a clear error
instead of a silent skip.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Callable

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


def cursor_encoder(store: str) -> Callable[[int, int], str]:
    """encode_cursor for one store, with its prefix worked out once (it runs once per event)."""
    prefix, pack, b64 = _prefix(store), _LAYOUT.pack, binascii.b2a_base64
    # 20 bytes encode to 27 characters and one '=' of padding, which cursors drop.
    return lambda tx, position: (
        b64(pack(prefix, tx, position), newline=False)[:-1].translate(_URL_SAFE).decode()
    )


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def cursor_sql(store: str) -> str:
    """encode_cursor as an SQL expression over an events row, for readers that select it."""
    layout = (
        f"'\\x{_prefix(store).hex()}'::bytea || int8send(tx_id::text::bigint) || int8send(position)"
    )
    return f"translate(rtrim(encode({layout}, 'base64'), '='), '+/', '-_')"
