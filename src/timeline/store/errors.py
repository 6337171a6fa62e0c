"""Errors of the store.

StoreError
 ├── StreamVersionConflict      the stream is not at the expected version
 ├── IdempotencyKeyReused       the key was used before for different content
 ├── InvalidCursor              a feed cursor that is malformed or from another store
 └── DatabaseUnavailable        the database does not answer (down, frozen, restarting)
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of the store's errors."""


class StreamVersionConflict(StoreError):
    """Another writer got to the stream first, or the expected version is stale."""

    def __init__(self, stream_type: str, stream_id: str, expected: int | None, actual: int | None):
        self.stream_type = stream_type
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        at = "another writer appended first" if actual is None else f"it is at version {actual}"
        super().__init__(f"{stream_type} {stream_id}: expected version {expected}, but {at}")


class IdempotencyKeyReused(StoreError):
    """An idempotency key sent again with different request content."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"idempotency key {key!r} was used for a different request")


class InvalidCursor(StoreError):
    """A feed cursor that this store did not hand out."""


class DatabaseUnavailable(StoreError):
    """The database did not answer in time, or the connection to it was lost; retry later."""
