"""UCDP GED's CSV, by its codebook (UCDP GED Codebook, version 24.1): one row to one assertion.

What maps (docs/data.md has the table): `date_start`/`date_end` → occurred
(a day, or the interval the event lies in; `date_prec` is kept); the type of
violence → kind; `where_coordinates`, `latitude`, `longitude`, `where_prec` →
place; `side_a`, `side_b` → actors; `best`/`low`/`high` → a `killed` quantity
with its best estimate; `source_office` → citations; a summary written from
the dyad, the toll and the place. Every other column is kept as written in
`dataset_row.columns`. GED releases are full: a row a release no longer has
was deleted.
"""

from __future__ import annotations

from datetime import date

from timeline.domain.occurred import parse_occurred
from timeline.domain.values import DatasetRow, Place, Quantity
from timeline.transfer import cells
from timeline.transfer.csvrows import Row
from timeline.transfer.dataset import Codebook, Mapped

REQUIRED: tuple[str, ...] = (
    "id",
    "relid",
    "year",
    "type_of_violence",
    "conflict_name",
    "dyad_name",
    "side_a",
    "side_b",
    "source_article",
    "source_office",
    "source_date",
    "source_headline",
    "source_original",
    "where_prec",
    "where_coordinates",
    "latitude",
    "longitude",
    "country",
    "date_prec",
    "date_start",
    "date_end",
    "best",
    "high",
    "low",
)

# The 24.1 release's columns in its order, for generators and readers; files of
# other versions may carry fewer or more, and every unmapped one is kept.
COLUMNS: tuple[str, ...] = (
    "id",
    "relid",
    "year",
    "active_year",
    "code_status",
    "type_of_violence",
    "conflict_dset_id",
    "conflict_new_id",
    "conflict_name",
    "dyad_dset_id",
    "dyad_new_id",
    "dyad_name",
    "side_a_dset_id",
    "side_a_new_id",
    "side_a",
    "side_b_dset_id",
    "side_b_new_id",
    "side_b",
    "number_of_sources",
    "source_article",
    "source_office",
    "source_date",
    "source_headline",
    "source_original",
    "where_prec",
    "where_coordinates",
    "where_description",
    "adm_1",
    "adm_2",
    "latitude",
    "longitude",
    "geom_wkt",
    "priogrid_gid",
    "country",
    "country_id",
    "region",
    "event_clarity",
    "date_prec",
    "date_start",
    "date_end",
    "deaths_a",
    "deaths_b",
    "deaths_civilians",
    "deaths_unknown",
    "best",
    "high",
    "low",
    "gwnoa",
    "gwnob",
)

MAPPED = frozenset(
    {
        "id",
        "year",
        "type_of_violence",
        "where_coordinates",
        "latitude",
        "longitude",
        "where_prec",
        "date_start",
        "date_end",
        "best",
        "high",
        "low",
    }
)

VIOLENCE = {"1": "state-based conflict", "2": "non-state conflict", "3": "one-sided violence"}
KIND = {"1": "armed_clash", "2": "armed_clash", "3": "attack_on_civilians"}
# where_prec: 1 exact place, 2 within 25 km, 3 second-order administrative division,
# 4 first-order division, 5 a part of the country larger than one, 6 the country,
# 7 international waters or airspace.
WHERE_PRECISION = {
    "1": "exact",
    "2": "near_town",
    "3": "region",
    "4": "region",
    "5": "region",
    "6": "country",
    "7": "country",
}
DATE_PRECISIONS = ("1", "2", "3", "4", "5")


def _day(row: Row, name: str) -> date:
    raw = row.cells[name].strip()
    try:
        return date.fromisoformat(raw[:10])  # "2020-10-01" or "2020-10-01 00:00:00.000"
    except ValueError:
        raise row.cell_error(name, f"{raw!r} is not a date (YYYY-MM-DD)") from None


def parse_row(row: Row) -> Mapped:
    """The assertion fields of one GED row; RowError names the first bad cell."""
    cells.no_nul(row)
    c = row.cells
    row_id = c["id"].strip()
    if not row_id.isdigit() or len(row_id) > 18:
        raise row.cell_error("id", f"{row_id!r} is not a GED id (a whole number)")
    violence = cells.choice(row, "type_of_violence", VIOLENCE)
    start, end = _day(row, "date_start"), _day(row, "date_end")
    if end < start:
        raise row.cell_error("date_end", f"{end} is before date_start {start}")
    if cells.integer(row, "year") != start.year:
        raise row.cell_error("year", f"{c['year']} is not the year of date_start {start}")
    cells.choice(row, "date_prec", DATE_PRECISIONS)
    occurred = start.isoformat() if start == end else f"{start.isoformat()}/{end.isoformat()}"
    parse_occurred(occurred)
    best, low, high = (
        cells.integer(row, "best"),
        cells.integer(row, "low"),
        cells.integer(row, "high"),
    )
    if not low <= best <= high:
        raise row.cell_error("best", f"best {best} is not within low {low} .. high {high}")
    lat = cells.coordinate(row, "latitude", 90)
    lon = cells.coordinate(row, "longitude", 180)
    if (lat is None) != (lon is None):
        raise row.cell_error("longitude" if lon is None else "latitude", "give both or neither")
    precision = WHERE_PRECISION[cells.choice(row, "where_prec", WHERE_PRECISION)]
    where = c["where_coordinates"].strip() or c["country"].strip()
    if not where:
        raise row.cell_error("where_coordinates", "names no place, and the row has no country")
    side_a, side_b = c["side_a"].strip(), c["side_b"].strip()
    if not side_a:
        raise row.cell_error("side_a", "must not be empty")
    place_text = c.get("where_description", "").strip() or where
    summary = (
        f"{c['dyad_name'].strip() or side_a}: {best} killed ({VIOLENCE[violence]}), {place_text}"
    )
    columns = {name: value for name, value in c.items() if name not in MAPPED}
    return Mapped(
        row_id=row_id,
        occurred=occurred,
        kind=KIND[violence],
        summary=summary[:2000],
        place=Place(name=where, lat=lat, lon=lon, precision=precision),  # type: ignore[arg-type]
        actors=(side_a, side_b) if side_b else (side_a,),
        quantities=(Quantity(measure="killed", low=low, high=high, best=best),),
        sources=tuple(n.strip() for n in c["source_office"].split(";") if n.strip()),
        dataset_row=DatasetRow(dataset="ucdp-ged", row_id=row_id, columns=columns),
    )


CODEBOOK = Codebook(
    name="ucdp-ged",
    label="UCDP GED",
    required=REQUIRED,
    parse=parse_row,
    full_releases=True,
)
