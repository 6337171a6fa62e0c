"""The event store: one append-only table, read by stream and as a gap-free feed.

Store functions take an `AsyncConnection` and never commit: the caller owns the
transaction, so an append and the projection rows it changes commit together.
"""
