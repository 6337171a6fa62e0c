"""A timeline's state as CSV, TimelineJS 3 JSON and GeoJSON: pure functions of the views."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import msgspec

from timeline.domain.axis import build_axis
from timeline.domain.kinds import KINDS
from timeline.domain.words import (
    kind_words,
    occurred_words,
    precision_words,
    quantity_words,
    status_words,
)
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


def _group(kind: str) -> str:
    """A TimelineJS row in words: the kind's ACLED event type, or what it is when it has none."""
    info = KINDS.get(kind)
    if info is None:
        return kind_words(kind)
    if kind == "casualties":
        return "Casualty figures"
    if info.acled_sub_event_type == "Agreement":
        return "Talks and agreements"
    return info.acled_event_type or "Statements and claims"


def _details(a: AssertionView) -> str:
    where = (
        f" {html.escape(a.place.name)} ({precision_words(a.place.precision)})." if a.place else ""
    )
    lines = [f"<p><strong>{html.escape(kind_words(a.kind))}</strong>.{where}</p>"]
    if len(a.summary) > HEADLINE_CHARS:
        lines.append(f"<p>{html.escape(a.summary)}</p>")
    if a.claimant:
        lines.append(f"<p>According to {html.escape(a.claimant)}.</p>")
    if a.quantities:
        items = "".join(
            f"<li>{html.escape(quantity_words(q))}"
            + (f" (as written: “{html.escape(q.qualifier)}”)" if q.qualifier else "")
            + "</li>"
            for q in a.quantities
        )
        lines.append(f"<ul>{items}</ul>")
    for s in a.stances:
        lines.append(f"<p>{html.escape(s.party)} {s.stance} it: {html.escape(s.statement)}</p>")
    for c in a.citations:
        if c.quote:
            lines.append(f"<blockquote>{html.escape(c.quote)}</blockquote>")
    if a.status != "active":
        lines.append(f"<p>Status: {html.escape(status_words(a.status))}.</p>")
    return "".join(lines)


HEADLINE_CHARS = 110


def _headline(a: AssertionView) -> str:
    """Who did what where, as the summary says it, cut at a word to fit a slide's headline."""
    summary = a.summary.strip()
    if len(summary) <= HEADLINE_CHARS:
        return summary
    cut = summary[:HEADLINE_CHARS].rsplit(" ", 1)[0].rstrip(",;:")
    return f"{cut}…"


def _when(a: AssertionView) -> str:
    return occurred_words(a.occurred, a.occurred_start, a.occurred_end)


def _event(a: AssertionView) -> dict[str, Any]:
    first, _, last = a.occurred.partition("/")
    event: dict[str, Any] = {
        "unique_id": a.id,
        "start_date": _date_parts(first, a.occurred_start),
        "text": {"headline": html.escape(_headline(a)), "text": _details(a)},
        "group": _group(a.kind),
        "display_date": _when(a),
    }
    if last:  # an interval; a single date shows at its own precision
        event["end_date"] = _date_parts(last, a.occurred_end)
    return event


def to_timelinejs(page: TimelinePage, assertions: Sequence[AssertionView]) -> dict[str, Any]:
    """A TimelineJS 3 JSON document: a slide per assertion of the period that matters, in
    rows named in words; the backstory (assertions in earlier periods far apart, which on
    TimelineJS's one linear scale would squash the period into a column) is told on the
    title slide, and the period is an era."""
    axis = build_axis([(a.occurred_start, a.occurred_end) for a in assertions])
    main = max(axis.segments, key=lambda s: (s.count, s.start)) if axis else None

    def in_main(a: AssertionView) -> bool:
        return main is None or main.start <= a.occurred_start <= main.end

    backstory = [a for a in assertions if not in_main(a)]
    title = html.escape(page.description)
    if backstory:
        items = "".join(
            f"<li><strong>{html.escape(_when(a))}</strong>: {html.escape(a.summary)}</li>"
            for a in backstory
        )
        title += f"<h3>Background</h3><ul>{items}</ul>"
    doc: dict[str, Any] = {
        "title": {"text": {"headline": html.escape(page.title), "text": title}},
        "events": [_event(a) for a in assertions if in_main(a)],
    }
    if main is not None and backstory:
        doc["eras"] = [
            {
                "start_date": _date_parts(main.start.isoformat(), main.start),
                "end_date": _date_parts(main.end.isoformat(), main.end),
                "text": {"headline": html.escape(_span_words(main.start, main.end))},
            }
        ]
    return doc


def _span_words(start: date, end: date) -> str:
    return occurred_words(f"{start.isoformat()}/{end.isoformat()}", start, end)


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
