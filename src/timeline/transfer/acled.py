"""ACLED's CSV export, by its codebook: one row to one assertion, and back.

Columns and value domains are the codebook's (ACLED Codebook, 2023-2024).
What maps to assertion fields (docs/data.md has the table):
`event_date` + `time_precision` → occurred (EDTF); `event_type` +
`sub_event_type` → kind; `location`, `latitude`, `longitude`, `geo_precision`
→ place; actors and associated actors → actors; `fatalities` → a `killed`
quantity; `source` → citations of sources deduplicated by name; `notes` →
summary. Every other column is kept as written in the assertion's
`dataset_row.columns`, so the export can write it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from timeline.domain.kinds import KINDS
from timeline.domain.occurred import parse_occurred
from timeline.domain.values import DatasetRow, Place, Quantity
from timeline.domain.words import MONTHS as MONTH_NAMES
from timeline.transfer import cells
from timeline.transfer.csvrows import Row
from timeline.transfer.dataset import Codebook, Mapped

COLUMNS: tuple[str, ...] = (
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "disorder_type",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "civilian_targeting",
    "iso",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
)

# Columns an assertion field carries; every other one goes to dataset_row.columns.
MAPPED = frozenset(
    {
        "event_id_cnty",
        "event_date",
        "year",
        "time_precision",
        "event_type",
        "sub_event_type",
        "location",
        "latitude",
        "longitude",
        "geo_precision",
        "notes",
        "fatalities",
    }
)

EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "Battles": (
        "Armed clash",
        "Government regains territory",
        "Non-state actor overtakes territory",
    ),
    "Explosions/Remote violence": (
        "Chemical weapon",
        "Air/drone strike",
        "Suicide bomb",
        "Shelling/artillery/missile attack",
        "Remote explosive/landmine/IED",
        "Grenade",
    ),
    "Violence against civilians": (
        "Sexual violence",
        "Attack",
        "Abduction/forced disappearance",
    ),
    "Protests": (
        "Peaceful protest",
        "Protest with intervention",
        "Excessive force against protesters",
    ),
    "Riots": ("Violent demonstration", "Mob violence"),
    "Strategic developments": (
        "Agreement",
        "Arrests",
        "Change to group/activity",
        "Disrupted weapons use",
        "Headquarters or base established",
        "Looting/property destruction",
        "Non-violent transfer of territory",
        "Other",
    ),
}
DISORDER_TYPES = (
    "Political violence",
    "Demonstrations",
    "Strategic developments",
    "Political violence; Demonstrations",
)
# inter1/inter2: the numeric codes of the older codebook, or the labels of the 2024 one.
INTER_LABELS = (
    "State forces",
    "Rebel group",
    "Political militia",
    "Identity militia",
    "Rioters",
    "Protesters",
    "Civilians",
    "External/Other forces",
)
INTER_CODES = tuple(str(n) for n in range(9))


# Where several kinds share an ACLED pair, the one a row of that pair becomes.
CANONICAL = {
    ("Strategic developments", "Agreement"): "agreement",  # not talks or ceasefire
    ("Strategic developments", "Other"): "strategic_development",
}


def _canonical_kinds() -> dict[tuple[str, str], str]:
    """(event type, sub-event type) → its canonical kind: CANONICAL's, else the first naming it."""
    found: dict[tuple[str, str], str] = dict(CANONICAL)
    for kind, info in KINDS.items():
        if info.acled_event_type and info.acled_sub_event_type:
            found.setdefault((info.acled_event_type, info.acled_sub_event_type), kind)
    return found


KIND_OF = _canonical_kinds()
assert all((t, s) in KIND_OF for t, subs in EVENT_TYPES.items() for s in subs), (
    "a sub-event lacks a kind"
)

GEO_PRECISION = {"1": "town", "2": "near_town", "3": "region"}
GEO_CODE = {"exact": "1", "town": "1", "near_town": "2", "region": "3", "country": "3"}
MONTHS = {name: number for number, name in enumerate(MONTH_NAMES, start=1)}


def _event_date(row: Row) -> date:
    raw = row.cells["event_date"].strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        pass
    try:
        return datetime.strptime(raw, "%d %B %Y").date()  # "10 May 2024", ACLED's own export
    except ValueError:
        raise row.cell_error(
            "event_date", f"{raw!r} is not a date (YYYY-MM-DD or '10 May 2024')"
        ) from None


def split_names(cell: str) -> tuple[str, ...]:
    """ACLED's lists in one cell: names separated by semicolons."""
    return tuple(name.strip() for name in cell.split(";") if name.strip())


def _occurred(row: Row, day: date) -> tuple[str, dict[str, str]]:
    precision = cells.choice(row, "time_precision", ("1", "2", "3"))
    if precision == "1":
        return day.isoformat(), {}
    if precision == "2":
        return f"{day.isoformat()}~", {}  # within a week of that day: approximate
    # Only the month is known; ACLED still writes a day, which we keep to write it back.
    return f"{day.year:04d}-{day.month:02d}", {"event_date": day.isoformat()}


def parse_row(row: Row) -> Mapped:
    """The assertion fields of one ACLED row; RowError names the first bad cell."""
    cells.no_nul(row)
    c = row.cells
    row_id = c["event_id_cnty"].strip()
    if not row_id or len(row_id) > 64 or any(ch.isspace() for ch in row_id):
        raise row.cell_error("event_id_cnty", f"{row_id!r} is not an ACLED event id")
    day = _event_date(row)
    if cells.integer(row, "year", minimum=1) != day.year:
        raise row.cell_error("year", f"{c['year']} is not the year of event_date {day}")
    occurred, kept = _occurred(row, day)
    event_type = cells.choice(row, "event_type", tuple(EVENT_TYPES))
    sub = cells.choice(row, "sub_event_type", EVENT_TYPES[event_type])
    cells.choice(row, "disorder_type", DISORDER_TYPES)
    cells.choice(row, "inter1", INTER_CODES + INTER_LABELS)
    cells.choice(row, "inter2", INTER_CODES + INTER_LABELS, empty=True)
    cells.choice(row, "civilian_targeting", ("Civilian targeting",), empty=True)
    cells.integer(row, "timestamp")
    if not c["actor1"].strip():
        raise row.cell_error("actor1", "ACLED names at least one actor")
    lat = cells.coordinate(row, "latitude", 90)
    lon = cells.coordinate(row, "longitude", 180)
    if (lat is None) != (lon is None):
        raise row.cell_error("longitude" if lon is None else "latitude", "give both or neither")
    location = c["location"].strip()
    if not location:
        raise row.cell_error("location", "must not be empty")
    precision = GEO_PRECISION.get(c["geo_precision"].strip())
    if precision is None:
        raise row.cell_error("geo_precision", f"{c['geo_precision']!r} is not one of 1, 2, 3")
    notes = c["notes"].strip()
    if len(notes) > 2000:
        raise row.cell_error("notes", f"{len(notes)} characters; a summary holds 2000")
    if not notes:
        kept["notes"] = ""  # written back empty; the summary says what ACLED's columns say
    killed = cells.integer(row, "fatalities")
    actors = (
        c["actor1"].strip(),
        *split_names(c["assoc_actor_1"]),
        *((c["actor2"].strip(),) if c["actor2"].strip() else ()),
        *split_names(c["assoc_actor_2"]),
    )
    columns = {name: value for name, value in c.items() if name not in MAPPED}
    parse_occurred(occurred)
    return Mapped(
        row_id=row_id,
        occurred=occurred,
        kind=KIND_OF[(event_type, sub)],
        summary=notes or f"{sub}: {location}",
        place=Place(name=location, lat=lat, lon=lon, precision=precision),  # type: ignore[arg-type]
        actors=actors,
        quantities=(Quantity(measure="killed", low=killed, best=killed),),
        sources=split_names(c["source"]),
        dataset_row=DatasetRow(dataset="acled", row_id=row_id, columns={**columns, **kept}),
    )


CODEBOOK = Codebook(
    name="acled",
    label="ACLED",
    required=COLUMNS,
    parse=parse_row,
    full_releases=False,  # an export is any slice of ACLED; deletions come in their own file
)


# -- export ---------------------------------------------------------------------


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def export_row(view: Any, publishers: Mapping[str, str]) -> list[str]:
    """One ACLED row from an assertion view; columns a non-ACLED assertion lacks stay empty."""
    kept: dict[str, str] = dict(view.dataset_row.columns) if view.dataset_row else {}
    kind = KINDS.get(view.kind)
    occurred = parse_occurred(view.occurred)
    text = view.occurred
    if text.endswith("~") and len(text) == 11:
        precision, day = "2", occurred.start
    elif len(text) == 10:
        precision, day = "1", occurred.start
    else:
        precision = "3"
        nominal = kept.get("event_date", "")
        day = date.fromisoformat(nominal) if nominal else occurred.start
    place = view.place
    killed = next((q for q in view.quantities if q.measure == "killed"), None)
    fatalities = (
        "" if killed is None else str(killed.best if killed.best is not None else killed.low or 0)
    )
    actors = list(view.actors)
    cited = [publishers.get(c.source_id, "") for c in view.citations]
    mapped = {
        "event_id_cnty": view.dataset_row.row_id if view.dataset_row else view.id,
        "event_date": day.isoformat(),
        "year": str(day.year),
        "time_precision": precision,
        "event_type": (kind.acled_event_type or "") if kind else "",
        "sub_event_type": (kind.acled_sub_event_type or "") if kind else "",
        "location": place.name if place else "",
        "latitude": _number(place.lat if place else None),
        "longitude": _number(place.lon if place else None),
        "geo_precision": GEO_CODE.get(place.precision, "") if place else "",
        "notes": kept.get("notes", view.summary),
        "fatalities": fatalities,
        # for an assertion that did not come from ACLED: its actors and sources as best we can
        "actor1": actors[0] if actors else "",
        "actor2": actors[1] if len(actors) > 1 else "",
        "assoc_actor_1": "; ".join(actors[2:]),
        "source": "; ".join(name for name in cited if name),
    }
    return [
        kept[name] if name in kept and name not in MAPPED else mapped.get(name, "")
        for name in COLUMNS
    ]
