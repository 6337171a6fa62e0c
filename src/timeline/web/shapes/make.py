"""Make `caucasus.json` from Natural Earth's 1:50m country outlines (public domain), as the
npm package world-atlas@2.0.2 ships them in TopoJSON (`countries-50m.json`).

Run by hand when the region changes, never at install or run time:

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python -m timeline.web.shapes.make package/countries-50m.json

It keeps the countries whose outline reaches the box below, clamps their
points to the box (the map only ever shows the inside of it) and rounds them
to 0.01 degrees, so the file stays small.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# lon_min, lat_min, lon_max, lat_max: the South Caucasus and its neighbours, Moscow included.
BOX = (26.0, 28.0, 64.0, 60.0)
OUT = Path(__file__).with_name("caucasus.json")


def _arcs(topo: dict[str, Any]) -> list[list[tuple[float, float]]]:
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    out = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        out.append(points)
    return out


def _ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    ring: list[tuple[float, float]] = []
    for i in indexes:
        points = arcs[i] if i >= 0 else arcs[~i][::-1]
        ring.extend(points[1:] if ring else points)
    return ring


def _clamp(ring: list[tuple[float, float]]) -> list[list[float]]:
    lo_x, lo_y, hi_x, hi_y = BOX
    out: list[list[float]] = []
    for x, y in ring:
        point = [round(min(max(x, lo_x), hi_x), 2), round(min(max(y, lo_y), hi_y), 2)]
        if not out or out[-1] != point:
            out.append(point)
    return out


def _touches(ring: list[tuple[float, float]]) -> bool:
    lo_x, lo_y, hi_x, hi_y = BOX
    return any(lo_x <= x <= hi_x and lo_y <= y <= hi_y for x, y in ring)


def main(path: str) -> None:
    topo = json.loads(Path(path).read_text())
    arcs = _arcs(topo)
    countries = []
    for geometry in topo["objects"]["countries"]["geometries"]:
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        rings = [_ring(arcs, r) for polygon in polygons for r in polygon]
        kept = [_clamp(r) for r in rings if _touches(r)]
        kept = [r for r in kept if len(r) >= 4]
        if kept:
            countries.append({"name": geometry["properties"]["name"], "rings": kept})
    body = {
        "about": "Country outlines from Natural Earth 1:50m (public domain, naturalearthdata.com), "
        "via the npm package world-atlas 2.0.2 (ISC, Mike Bostock); clamped to the box and "
        "rounded by timeline/web/shapes/make.py.",
        "box": BOX,
        "countries": countries,
    }
    OUT.write_text(json.dumps(body, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
