"""Value objects: places, quantities, citations and stances."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

import msgspec

# The taxonomy's closed lists, each written once: the API's types are these
# (api/schemas.py), and the decisions check against the same values.
Precision = Literal["exact", "town", "near_town", "region", "country"]
PRECISIONS: tuple[str, ...] = get_args(Precision)

StanceKind = Literal["confirms", "denies", "disputes"]
STANCES: tuple[str, ...] = get_args(StanceKind)

Status = Literal["active", "contested", "retracted", "unsupported"]


class Place(msgspec.Struct, frozen=True, kw_only=True):
    """Where it happened, with ACLED's geo-precision."""

    name: str
    lat: float | None = None
    lon: float | None = None
    precision: Precision = "town"


class Quantity(msgspec.Struct, frozen=True, kw_only=True):
    """A counted measure; `low`/`high` may be open ("more than 300": low 300, no high).

    `best` is the single most likely figure where the source gives one (UCDP
    GED's `best`, ACLED's `fatalities`), between `low` and `high`.
    """

    measure: str
    low: int | None = None
    high: int | None = None
    approximate: bool = False
    qualifier: str = ""
    best: int | None = None


class DatasetRow(msgspec.Struct, frozen=True, kw_only=True):
    """Where an assertion came from in a published dataset, so a reader can look the row up.

    `dataset` is `acled` or `ucdp-ged`; `row_id` the dataset's own id
    (`event_id_cnty`, GED `id`); `columns` the row's codebook columns that no
    assertion field carries, as written (admin areas, interaction codes, ...).
    """

    dataset: str
    row_id: str
    columns: dict[str, str] = msgspec.field(default_factory=dict)


class Citation(msgspec.Struct, frozen=True, kw_only=True):
    """A source an event rests on, with the words quoted from it."""

    source_id: str
    quote: str = ""


class Stance(msgspec.Struct, frozen=True, kw_only=True):
    """A party confirming, denying or disputing an assertion."""

    party: str
    stance: StanceKind
    statement: str = ""
    citations: tuple[Citation, ...] = ()
    reported_at: datetime
