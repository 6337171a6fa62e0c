"""A timeline's state as CSV, TimelineJS 3 JSON and GeoJSON: pure functions of the views."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import msgspec

from timeline.domain.kinds import KINDS
from timeline.domain.values import Quantity
from timeline.projections.views import AssertionView, TimelinePage
from timeline.transfer import acled

CSV_COLUMNS = (
    "id",
    "timeline",
    "occurred",
    "occurred_start",
    "occurred_end",
    "kind",
    "acled_event_type",
    "acled_sub_event_type",
    "cameo",
    "summary",
    "place",
    "lat",
    "lon",
    "geo_precision",
    "actors",
    "claimant",
    "quantities",
    "status",
    "stances",
    "citations",
    "version",
    "first_reported_at",
    "last_reported_at",
    "recorded_at",
)

_json = msgspec.json.Encoder(order="deterministic")


def _text(value: Any) -> str:
    return _json.encode(value).decode()


def _time(value: Any) -> str:
    return "" if value is None else str(value.isoformat().replace("+00:00", "Z"))


def to_csv(assertions: Sequence[AssertionView]) -> str:
    """One row per assertion; lists and nested values as JSON text, actors joined by '; '."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for a in assertions:
        kind = KINDS.get(a.kind)
        place = a.place
        writer.writerow(
            [
                a.id,
                a.timeline,
                a.occurred,
                a.occurred_start.isoformat(),
                a.occurred_end.isoformat(),
                a.kind,
                kind.acled_event_type or "" if kind else "",
                kind.acled_sub_event_type or "" if kind else "",
                kind.cameo or "" if kind else "",
                a.summary,
                place.name if place else "",
                "" if place is None or place.lat is None else repr(place.lat),
                "" if place is None or place.lon is None else repr(place.lon),
                place.precision if place else "",
                "; ".join(a.actors),
                a.claimant or "",
                _text(a.quantities),
                a.status,
                _text(a.stances),
                _text(a.citations),
                a.version,
                _time(a.first_reported_at),
                _time(a.last_reported_at),
                _time(a.recorded_at),
            ]
        )
    return out.getvalue()


def to_acled_csv(assertions: Sequence[AssertionView], publishers: Mapping[str, str]) -> str:
    """ACLED's CSV: its codebook's columns, a row per live assertion (transfer/acled.py maps).

    A retracted assertion is left out, as ACLED leaves out the rows it deleted.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(acled.COLUMNS)
    for a in assertions:
        if a.status != "retracted":
            writer.writerow(acled.export_row(a, publishers))
    return out.getvalue()


def _date_parts(edtf_part: str, bound: date) -> dict[str, int]:
    """TimelineJS date parts at the precision the EDTF text gives (year, month or day)."""
    digits = edtf_part.strip("~?%").lstrip("-").split("-")
    parts = {"year": bound.year}
    if len(digits) >= 2 and digits[1].isdigit() and int(digits[1]) <= 12:
        parts["month"] = bound.month
        if len(digits) >= 3 and digits[2].isdigit():
            parts["day"] = bound.day
    return parts


def _quantity(q: Quantity) -> str:
    span = f"{q.low if q.low is not None else ''}–{q.high if q.high is not None else ''}"
    if q.low is not None and q.low == q.high:
        span = str(q.low)
    shown = f"{q.measure}: {q.qualifier or span}"
    return f"{shown} ({span})" if q.qualifier and span != "–" else shown


def _details(a: AssertionView) -> str:
    lines = [f"<p>{html.escape(a.summary)}</p>"]
    if a.claimant:
        lines.append(f"<p>Claimed by {html.escape(a.claimant)}.</p>")
    if a.quantities:
        items = "".join(f"<li>{html.escape(_quantity(q))}</li>" for q in a.quantities)
        lines.append(f"<ul>{items}</ul>")
    for s in a.stances:
        lines.append(f"<p>{html.escape(s.party)} {s.stance} this: {html.escape(s.statement)}</p>")
    for c in a.citations:
        if c.quote:
            lines.append(f"<blockquote>{html.escape(c.quote)}</blockquote>")
    lines.append(f"<p>Status: {a.status}. Occurred: {html.escape(a.occurred)}.</p>")
    return "".join(lines)


def _headline(a: AssertionView) -> str:
    label = KINDS[a.kind].label if a.kind in KINDS else a.kind
    return f"{label}: {a.place.name}" if a.place else label


def to_timelinejs(page: TimelinePage, assertions: Sequence[AssertionView]) -> dict[str, Any]:
    """A TimelineJS 3 JSON document: one event per assertion, grouped by kind."""
    events = []
    for a in assertions:
        first, _, last = a.occurred.partition("/")
        event: dict[str, Any] = {
            "unique_id": a.id,
            "start_date": _date_parts(first, a.occurred_start),
            "text": {"headline": html.escape(_headline(a)), "text": _details(a)},
            "group": a.kind,
            "display_date": a.occurred,
        }
        if last:  # an interval; a single date shows at its own precision
            event["end_date"] = _date_parts(last, a.occurred_end)
        events.append(event)
    return {
        "title": {
            "text": {"headline": html.escape(page.title), "text": html.escape(page.description)}
        },
        "events": events,
    }


def to_geojson(page: TimelinePage, assertions: Sequence[AssertionView]) -> dict[str, Any]:
    """A FeatureCollection of Points, one per assertion whose place has coordinates."""
    features = []
    for a in assertions:
        if a.place is None or a.place.lat is None or a.place.lon is None:
            continue
        features.append(
            {
                "type": "Feature",
                "id": a.id,
                "geometry": {"type": "Point", "coordinates": [a.place.lon, a.place.lat]},
                "properties": {
                    "timeline": a.timeline,
                    "occurred": a.occurred,
                    "occurred_start": a.occurred_start.isoformat(),
                    "occurred_end": a.occurred_end.isoformat(),
                    "kind": a.kind,
                    "summary": a.summary,
                    "place": a.place.name,
                    "geo_precision": a.place.precision,
                    "actors": list(a.actors),
                    "claimant": a.claimant,
                    "quantities": msgspec.to_builtins(a.quantities),
                    "status": a.status,
                    "first_reported_at": _time(a.first_reported_at),
                },
            }
        )
    return {"type": "FeatureCollection", "name": page.slug, "features": features}
