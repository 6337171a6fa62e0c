"""Realistic ACLED and UCDP GED files from their codebooks, of any size, for tests and benchmarks.

No ACLED or UCDP file can be downloaded here, so these write files with the
codebooks' exact columns and value domains, and the awkward cases real files
have: every precision code, missing coordinates, several sources in one cell,
zero fatalities, quoted commas, quotes and newlines in notes, a UTF-8 BOM,
CRLF line ends, non-Latin place names. A row is a function of its index and
the release, so a second release changes exactly the rows it says it does.

    python -m tests.transfer.generate acled 1000000 /tmp/acled.csv [--release 2]
"""

from __future__ import annotations

import csv
import io
import random
import sys
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path

from timeline.transfer import acled, ucdp

PLACES = (
    # (location, admin1, latitude, longitude): Latin, Cyrillic, Armenian, Arabic, Azerbaijani
    ("Tartar", "Tartar", "40.3397", "46.9322"),
    ("Ստեփանակերտ", "Khankendi", "39.8153", "46.7519"),
    ("Шуша", "Shusha", "39.7583", "46.7483"),
    ("Gəncə", "Ganja", "40.6828", "46.3606"),
    ("حلب", "Aleppo", "36.2021", "37.1343"),
    ("Goranboy", "Goranboy", "40.6103", "46.7897"),
    ("Agdam", "Agdam", "39.9931", "46.9298"),
)
SOURCES = (
    "Reuters",
    "BBC News",
    "Azerbaijani Ministry of Defence",
    "Armenian Ministry of Defence",
    "Agence France Presse",
    "Human Rights Watch",
    "Twitter",
)
ACTORS = (
    ("Military Forces of Azerbaijan (2003-)", "State forces", "1"),
    ("Military Forces of Armenia (2018-)", "State forces", "1"),
    ("Artsakh Defense Army", "Rebel group", "2"),
    ("Civilians (Azerbaijan)", "Civilians", "7"),
    ("Protesters (Armenia)", "Protesters", "6"),
)
PAIRS = tuple((t, s) for t, subs in acled.EVENT_TYPES.items() for s in subs)
DISORDER = {
    "Battles": "Political violence",
    "Explosions/Remote violence": "Political violence",
    "Violence against civilians": "Political violence",
    "Protests": "Demonstrations",
    "Riots": "Political violence; Demonstrations",
    "Strategic developments": "Strategic developments",
}
START = date(2020, 9, 27)


def _notes(i: int, location: str, release: int) -> str:
    r = i % 7
    if r == 0:
        day = START + timedelta(days=i % 45)
        return f'On {day}, forces clashed near {location}, "heavily", as reported.'
    if r == 1:
        return (
            f"Shelling of {location}, with casualties;\nthe figure was disputed by the other side."
        )
    if r == 2:
        return ""  # ACLED leaves notes empty now and then
    tail = f" (revised in release {release})" if release > 1 and i % 20 == 0 else ""
    return f"Event {i} at {location}: reports, counts, and claims{tail}."


def acled_row(i: int, release: int = 1) -> list[str]:
    """Row `i` of an ACLED export as of release `release` (rows with i % 20 == 0 change)."""
    rnd = random.Random(i)
    event_type, sub = PAIRS[i % len(PAIRS)]
    location, admin1, lat, lon = PLACES[i % len(PLACES)]
    if i % 11 == 5:
        lat = lon = ""  # missing coordinates
    a1, inter1, code1 = ACTORS[i % len(ACTORS)]
    a2, inter2, code2 = ACTORS[(i + 1) % len(ACTORS)] if i % 4 else ("", "", "")
    day = START + timedelta(days=i % 400)
    sources = "; ".join(rnd.sample(SOURCES, 1 + i % 3))  # one to three sources in a cell
    fatalities = 0 if i % 3 == 0 else rnd.randint(1, 40)
    timestamp = 1600000000 + i
    if release > 1 and i % 20 == 0:
        fatalities += release
        timestamp += 86400 * release
    numeric = i % 2 == 0  # the older codebook's numeric inter codes, or the 2024 labels
    return [
        f"AZE{i + 1}",
        day.isoformat() if i % 9 else day.strftime("%d %B %Y"),
        str(day.year),
        str(1 + i % 3),
        DISORDER[event_type],
        event_type,
        sub,
        a1,
        "Government of Russia (2000-); OSCE Minsk Group" if i % 13 == 0 else "",
        code1 if numeric else inter1,
        a2,
        "",
        (code2 if numeric else inter2) if a2 else "",
        f"{code1}{code2}" if numeric else (f"{inter1}-{inter2}" if a2 else f"{inter1} only"),
        "Civilian targeting" if "Civilians" in a2 else "",
        "31",
        "Caucasus and Central Asia",
        "Azerbaijan",
        admin1,
        f"{admin1} District" if i % 5 else "",
        "",
        location,
        lat,
        lon,
        str(1 + i % 3),
        sources,
        "National" if i % 2 else "Other-National",
        _notes(i, location, release),
        str(fatalities),
        "crowd size=no report" if event_type == "Protests" else "",
        str(timestamp),
    ]


def ucdp_row(i: int, release: int = 1) -> list[str]:
    """Row `i` of a GED release `release` (rows with i % 20 == 0 change their toll)."""
    rnd = random.Random(i)
    location, admin1, lat, lon = PLACES[i % len(PLACES)]
    violence = str(1 + i % 3)
    start = START + timedelta(days=i % 400)
    end = start + timedelta(days=(i % 5) if i % 4 == 0 else 0)
    low = rnd.randint(0, 10)
    best = low + (i % 3)
    if release > 1 and i % 20 == 0:
        best += release
    high = best + (i % 4)
    side_a, side_b = ("Government of Azerbaijan", "Republic of Artsakh")
    if violence == "3":
        side_b = "Civilians"
    cells = {
        "id": str(300000 + i),
        "relid": f"AZE-2020-1-{i}",
        "year": str(start.year),
        "active_year": "1",
        "code_status": "Clear",
        "type_of_violence": violence,
        "conflict_dset_id": "388",
        "conflict_new_id": "388",
        "conflict_name": "Azerbaijan: Nagorno-Karabakh",
        "dyad_dset_id": "11407",
        "dyad_new_id": "11407",
        "dyad_name": f"{side_a} - {side_b}",
        "side_a_dset_id": "120",
        "side_a_new_id": "120",
        "side_a": side_a,
        "side_b_dset_id": "1053",
        "side_b_new_id": "1053",
        "side_b": side_b,
        "number_of_sources": str(1 + i % 3),
        "source_article": (
            f'"Reuters,{start},Fighting near {location}";"AFP,{start},Shelling, again"'
        ),
        "source_office": ";".join(
            rnd.sample(("Reuters", "Agence France Presse", "BBC News"), 1 + i % 2)
        ),
        "source_date": f"{start};{start}",
        "source_headline": f"Fighting near {location};\nShelling, again",
        "source_original": "Azerbaijani MoD" if i % 2 else "",
        "where_prec": str(1 + i % 7),
        "where_coordinates": f"{location} town",
        "where_description": f"near {location}, {admin1}" if i % 3 else "",
        "adm_1": f"{admin1} rayon",
        "adm_2": "",
        "latitude": lat,
        "longitude": lon,
        "geom_wkt": f"POINT ({lon} {lat})" if lat else "",
        "priogrid_gid": str(180000 + i % 500),
        "country": "Azerbaijan",
        "country_id": "373",
        "region": "Europe",
        "event_clarity": str(1 + i % 2),
        "date_prec": str(1 + i % 5),
        "date_start": f"{start} 00:00:00.000",
        "date_end": f"{end} 00:00:00.000",
        "deaths_a": str(best // 2),
        "deaths_b": str(best - best // 2),
        "deaths_civilians": "0",
        "deaths_unknown": "0",
        "best": str(best),
        "high": str(high),
        "low": str(low),
        "gwnoa": "373",
        "gwnob": "",
    }
    return [cells[name] for name in ucdp.COLUMNS]


def write_csv(
    out: io.TextIOBase | io.TextIOWrapper,
    header: Iterable[str],
    rows: Iterable[list[str]],
    *,
    crlf: bool = True,
) -> None:
    """CSV as the datasets write it: every field that needs it quoted, CRLF by default."""
    writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(list(header))
    writer.writerows(rows)


def write_file(
    path: Path, dataset: str, count: int, *, release: int = 1, skip: Iterable[int] = ()
) -> Path:
    """A file of `count` rows of `dataset` (acled, ucdp-ged) as of `release`, BOM and CRLF."""
    header, row = (acled.COLUMNS, acled_row) if dataset == "acled" else (ucdp.COLUMNS, ucdp_row)
    left_out = set(skip)
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        write_csv(out, header, (row(i, release) for i in range(count) if i not in left_out))
    return path


def rows_of(dataset: str, count: int, release: int = 1) -> Iterator[list[str]]:
    row = acled_row if dataset == "acled" else ucdp_row
    return (row(i, release) for i in range(count))


if __name__ == "__main__":
    args = sys.argv[1:]
    release = int(args[args.index("--release") + 1]) if "--release" in args else 1
    write_file(Path(args[2]), args[0], int(args[1]), release=release)
