"""Dataset CSV files read a row at a time, each row with the line it starts on.

Real exports carry a UTF-8 byte-order mark, CRLF line ends, and quoted fields
holding commas and newlines, so a row's line number is where its record
starts, not a count of rows. Nothing here holds more than one row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

import msgspec

# Notes of a few thousand characters are common; a field this long is not a field.
FIELD_LIMIT = 1 << 20
csv.field_size_limit(FIELD_LIMIT)


class RowError(ValueError):
    """One bad cell or row: `line N, column C (name): reason`."""

    def __init__(self, line: int, reason: str, column: int | None = None, name: str = "") -> None:
        self.line = line
        self.column = column
        self.name = name
        self.reason = reason
        where = f"line {line}" if column is None else f"line {line}, column {column} ({name})"
        super().__init__(f"{where}: {reason}")


class HeaderError(ValueError):
    """The file cannot be read as this dataset at all (its header, its encoding)."""


class Row(msgspec.Struct, frozen=True):
    """A record's cells by column name, and the line it starts on."""

    line: int
    cells: dict[str, str]
    header: tuple[str, ...]

    def cell_error(self, name: str, reason: str) -> RowError:
        return RowError(self.line, reason, self.header.index(name) + 1, name)


def read_rows(stream: BinaryIO, required: Sequence[str]) -> Iterator[tuple[Row | RowError, int]]:
    """(row or its error, bytes read so far) for each record after the header.

    HeaderError when the header lacks a required column or the file is not
    UTF-8 text. A malformed record (wrong number of fields, a NUL) is yielded as
    a RowError and reading goes on with the next one.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    header = _header(reader, required)
    start = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as error:
            raise HeaderError(f"after line {reader.line_num}: not UTF-8 ({error.reason})") from None
        except csv.Error as error:
            yield RowError(start, str(error)), stream.tell() if stream.seekable() else 0
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        read = _tell(stream)
        if not record or record == [""]:
            continue  # a blank line
        if len(record) != len(header):
            yield RowError(line, f"{len(record)} fields where the header has {len(header)}"), read
            continue
        yield Row(line, dict(zip(header, record, strict=True)), header), read


def _header(reader: Any, required: Sequence[str]) -> tuple[str, ...]:
    """The header's column names; HeaderError when it lacks one or names one twice."""
    try:
        header = tuple(h.strip() for h in next(reader))
    except StopIteration:
        raise HeaderError("the file is empty; it needs a header line") from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise HeaderError(f"line 1: {error}") from None
    missing = [name for name in required if name not in header]
    if missing:
        raise HeaderError(f"line 1: the header lacks the columns {', '.join(missing)}")
    if len(set(header)) != len(header):
        raise HeaderError("line 1: a column name appears twice")
    return header


def read_header(path: str, required: Sequence[str]) -> tuple[str, ...]:
    """The column names of a file's header line (HeaderError as read_rows raises it)."""
    with open(path, "rb") as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        return _header(csv.reader(text, strict=True), required)


def _tell(stream: BinaryIO) -> int:
    try:
        return stream.tell()
    except (OSError, ValueError):
        return 0
