"""The map: places with coordinates drawn over country outlines the package ships.

No tiles and no map library: the outlines (Natural Earth, public domain,
shapes/caucasus.json) become SVG paths in an equirectangular projection,
squeezed by cos(latitude) so the region keeps its shape. A place's precision
is drawn as the size of the area it may lie in.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from timeline.projections.views import AssertionView

WIDTH = 640.0
# the radius, in degrees of latitude, of the area a place of this precision may lie in
PRECISION_RADIUS = {"exact": 0.02, "town": 0.06, "near_town": 0.15, "region": 0.45, "country": 1.2}


@dataclass
class MapPlace:
    name: str
    lat: float
    lon: float
    precision: str
    assertion_ids: list[str] = field(default_factory=list)
    x: float = 0.0
    y: float = 0.0
    r: float = 0.0

    labelled: bool = False


@dataclass
class MapView:
    width: float
    height: float
    outlines: list[tuple[str, str]]  # (country name, SVG path)
    places: list[MapPlace]
    # places far from the others (Moscow, for talks about the Caucasus): listed, not drawn,
    # so they do not shrink the region that matters to a corner
    elsewhere: list[MapPlace]


FOCUS_DEGREES = 6.0


def _focus(places: list[MapPlace]) -> tuple[list[MapPlace], list[MapPlace]]:
    """The places within FOCUS_DEGREES of the median place, and the rest."""
    lats = sorted(p.lat for p in places)
    lons = sorted(p.lon for p in places)
    lat, lon = lats[len(lats) // 2], lons[len(lons) // 2]
    near = [
        p for p in places if abs(p.lat - lat) <= FOCUS_DEGREES and abs(p.lon - lon) <= FOCUS_DEGREES
    ]
    return near, [p for p in places if p not in near]


@cache
def _shapes() -> dict[str, Any]:
    text = (resources.files("timeline.web") / "shapes" / "caucasus.json").read_text()
    shapes: dict[str, Any] = json.loads(text)
    return shapes


def places_of(assertions: list[AssertionView]) -> list[MapPlace]:
    """One entry per place (name and coordinates) that the assertions name with coordinates."""
    found: dict[tuple[str, float, float, str], MapPlace] = {}
    for a in assertions:
        p = a.place
        if p is None or p.lat is None or p.lon is None:
            continue
        key = (p.name, p.lat, p.lon, p.precision)
        found.setdefault(key, MapPlace(p.name, p.lat, p.lon, p.precision)).assertion_ids.append(
            a.id
        )
    return list(found.values())


def build_map(assertions: list[AssertionView]) -> MapView | None:
    """The map of the assertions' places; None when no place has coordinates."""
    found = places_of(assertions)
    if not found:
        return None
    places, elsewhere = _focus(found)
    pad = 1.2
    lat0 = min(p.lat for p in places) - pad
    lat1 = max(p.lat for p in places) + pad
    lon0 = min(p.lon for p in places) - pad
    lon1 = max(p.lon for p in places) + pad
    # at least 4 degrees of latitude, so one place still shows its surroundings
    if lat1 - lat0 < 4:
        mid = (lat0 + lat1) / 2
        lat0, lat1 = mid - 2, mid + 2
    squeeze = math.cos(math.radians((lat0 + lat1) / 2))
    if (lon1 - lon0) * squeeze < (lat1 - lat0) * 1.4:
        mid, half = (lon0 + lon1) / 2, (lat1 - lat0) * 1.4 / squeeze / 2
        lon0, lon1 = mid - half, mid + half
    scale = WIDTH / ((lon1 - lon0) * squeeze)
    height = (lat1 - lat0) * scale

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (lon - lon0) * squeeze * scale, (lat1 - lat) * scale

    outlines = _outlines((lon0, lat0, lon1, lat1), WIDTH)
    for place in places:
        place.x, place.y = project(place.lon, place.lat)
        place.r = max(3.0, PRECISION_RADIUS.get(place.precision, 0.1) * scale)
    places.sort(key=lambda p: -p.r)  # large areas first, so small ones stay clickable on top
    _label(places)
    return MapView(WIDTH, round(height, 1), outlines, places, elsewhere)


@lru_cache(maxsize=64)
def _outlines(view: tuple[float, float, float, float], width: float) -> list[tuple[str, str]]:
    """The country outlines inside `view` (lon0, lat0, lon1, lat1) as SVG paths `width` wide.

    Points are clamped to the view plus a margin (outside it nothing shows) and kept only
    when a pixel or more from the last one kept, so a path holds what the eye can see:
    a few kilobytes, where the 1:50m outlines of the whole box are a hundred and more.
    """
    lon0, lat0, lon1, lat1 = view
    squeeze = math.cos(math.radians((lat0 + lat1) / 2))
    scale = width / ((lon1 - lon0) * squeeze)
    height = (lat1 - lat0) * scale
    lo_x, lo_y, hi_x, hi_y = -4.0, -4.0, width + 4, height + 4
    out = []
    for country in _shapes()["countries"]:
        d = []
        for ring in country["rings"]:
            points: list[tuple[int, int]] = []
            inside = False
            for lon, lat in ring:
                x = (lon - lon0) * squeeze * scale
                y = (lat1 - lat) * scale
                inside = inside or (lo_x < x < hi_x and lo_y < y < hi_y)
                point = (round(min(max(x, lo_x), hi_x)), round(min(max(y, lo_y), hi_y)))
                if not points or abs(point[0] - points[-1][0]) + abs(point[1] - points[-1][1]) >= 2:
                    points.append(point)
            if inside and len(points) >= 3:
                d.append("M" + "L".join(f"{x},{y}" for x, y in points) + "Z")
        if d:
            out.append((country["name"], "".join(d)))
    return out


def _label(places: list[MapPlace], room: float = 28.0) -> None:
    """Name on the map only places with no named place close by; the rest are named
    in their titles and in the list under the map."""
    named: list[MapPlace] = []
    for place in sorted(places, key=lambda p: p.r):
        if all(abs(place.x - o.x) > room * 3 or abs(place.y - o.y) > room / 2 for o in named):
            place.labelled = True
            named.append(place)
