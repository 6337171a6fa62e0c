"""What a dataset row becomes: the assertion fields it maps to, whatever the dataset.

A codebook module (acled.py, ucdp.py) turns one CSV row into a `Mapped` row
or a RowError naming the cell; `release.py` turns mapped rows into events.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from functools import lru_cache

import msgspec

from timeline.domain.values import DatasetRow, Place, Quantity
from timeline.transfer.csvrows import Row

# Ids are uuid5 of stable names, so a later release finds the same streams.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://timeline.invalid/datasets")


class Mapped(msgspec.Struct, frozen=True, kw_only=True):
    """The assertion fields one row maps to, and the names of the sources it cites."""

    row_id: str
    occurred: str
    kind: str
    summary: str
    place: Place | None
    actors: tuple[str, ...]
    quantities: tuple[Quantity, ...]
    sources: tuple[str, ...]
    dataset_row: DatasetRow


class Codebook(msgspec.Struct, frozen=True, kw_only=True):
    """A dataset's CSV shape: its name, the columns it needs, how a row maps."""

    name: str  # as in DatasetRow.dataset and --format: acled, ucdp-ged
    label: str  # as in a revision's reason: "ACLED release 2024-05-14"
    required: tuple[str, ...]
    parse: Callable[[Row], Mapped]
    # A full release lists every row: a row it no longer has was deleted.
    full_releases: bool


def assertion_id(dataset: str, timeline: str, row_id: str) -> str:
    """The assertion a dataset row is on a timeline, the same in every release."""
    return str(uuid.uuid5(NAMESPACE, f"{dataset}/{timeline}/{row_id}"))


@lru_cache(maxsize=4096)
def source_id(name: str) -> str:
    """The source a dataset's source name stands for: one per name, across datasets."""
    return str(uuid.uuid5(NAMESPACE, f"source/{name}"))


def release_reason(codebook: Codebook, release: date) -> str:
    return f"{codebook.label} release {release.isoformat()}"
