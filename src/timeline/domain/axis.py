"""A broken axis of valid time: spans far apart get their own segment, so a backstory
(1988–1994) does not squash the weeks that matter.

Dates that lie within GAP_DAYS of one another (or that one `occurred` range
covers) share a segment with a linear scale; between segments the axis breaks.
Each segment's width follows how many assertions it holds, never less than
MIN_SHARE of the axis, so thirty assertions in two weeks get room and two in
seven years stay legible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

GAP_DAYS = 60
MIN_SHARE = 0.12
BREAK = 0.03  # the share of the axis each break takes


@dataclass(frozen=True)
class Segment:
    start: date
    end: date
    x0: float  # where the segment begins and ends on the axis, 0..1
    x1: float
    count: int

    def x(self, day: date) -> float:
        days = max(1, (self.end - self.start).days + 1)
        offset = (min(max(day, self.start), self.end + timedelta(days=1)) - self.start).days
        return self.x0 + (self.x1 - self.x0) * offset / days


@dataclass(frozen=True)
class Axis:
    segments: tuple[Segment, ...]

    def segment_of(self, day: date) -> Segment:
        return next((s for s in self.segments if s.start <= day <= s.end), self.segments[-1])

    def span(self, start: date, end: date) -> tuple[float, float]:
        """Where [start, end] lies on the axis (end inclusive), as 0..1 fractions."""
        after = end + timedelta(days=1)
        last = self.segment_of(end)
        return self.segment_of(start).x(start), last.x(min(after, last.end + timedelta(days=1)))


def build_axis(ranges: list[tuple[date, date]]) -> Axis | None:
    """The segments that cover every [start, end] in `ranges`; None when there are none."""
    if not ranges:
        return None
    groups: list[list[tuple[date, date]]] = []
    for start, end in sorted(ranges):
        if groups and start <= max(e for _, e in groups[-1]) + timedelta(days=GAP_DAYS):
            groups[-1].append((start, end))
        else:
            groups.append([(start, end)])
    total = sum(len(g) for g in groups)
    room = 1.0 - BREAK * (len(groups) - 1)
    shares = _shares([len(g) / total for g in groups])
    segments, x = [], 0.0
    for group, share in zip(groups, shares, strict=True):
        width = room * share
        start = min(s for s, _ in group)
        end = max(e for _, e in group)
        segments.append(Segment(start, end, x, x + width, len(group)))
        x += width + BREAK
    return Axis(tuple(segments))


def _shares(raw: list[float]) -> list[float]:
    """`raw` shares with each raised to at least MIN_SHARE, the rest scaled to fit."""
    floor = min(MIN_SHARE, 1.0 / len(raw))
    small = [r < floor for r in raw]
    rest = 1.0 - floor * sum(small)
    big_total = sum(r for r, s in zip(raw, small, strict=True) if not s) or 1.0
    return [floor if s else rest * r / big_total for r, s in zip(raw, small, strict=True)]


def ticks(segment: Segment, min_gap: float = 0.06) -> list[tuple[date, str]]:
    """Labelled dates along one segment (years for long ones, months, then days), no two
    closer than `min_gap` of the axis, so a narrow segment keeps legible labels."""
    days = (segment.end - segment.start).days
    if days > 2 * 365:
        candidates = [
            (date(y, 1, 1), str(y)) for y in range(segment.start.year, segment.end.year + 1)
        ]
        candidates = [(d, label) for d, label in candidates if d >= segment.start] or [
            (segment.start, str(segment.start.year))
        ]
    elif days > 90:
        candidates, day = [], date(segment.start.year, segment.start.month, 1)
        while day <= segment.end:
            if day >= segment.start:
                candidates.append((day, f"{day:%b %Y}"))
            day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    else:
        candidates = [
            (d, f"{d.day} {d:%b}")
            for d in (segment.start + timedelta(days=i) for i in range(days + 1))
        ]
    out: list[tuple[date, str]] = []
    for day, label in candidates:
        if not out or segment.x(day) - segment.x(out[-1][0]) >= min_gap:
            out.append((day, label))
    return out


def lanes(spans: list[tuple[float, float]], gap: float = 0.004) -> list[int]:
    """A lane per span so that spans in one lane do not overlap (greedy, in order given)."""
    ends: list[float] = []
    out = []
    for x0, x1 in spans:
        for i, end in enumerate(ends):
            if x0 >= end + gap:
                ends[i] = max(x1, x0 + gap)
                out.append(i)
                break
        else:
            ends.append(max(x1, x0 + gap))
            out.append(len(ends) - 1)
    return out
