"""Errors of the write path beyond the domain's and the store's."""

from __future__ import annotations


class StaleVersion(Exception):
    """The version the writer saw (If-Match) is no longer the stream's version."""

    def __init__(self, expected: int, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(f"you saw version {expected}, but it is now at version {actual}")
