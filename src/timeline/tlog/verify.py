"""`timeline verify`: does this export match what the log signed, line for line?

Offline, from the export, the signed checkpoint and the verifier key alone: the
first `size` logged lines must hash to the checkpoint's root. Given the log's
URL as well, it also finds the first line whose leaf differs (from the log's
level-0 tiles, themselves checked against the signed root), proves a shorter
export a prefix of the signed tree, and checks that the log's latest
checkpoint extends the given one.
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import msgspec

from timeline.domain import merkle
from timeline.tlog.checkpoint import Checkpoint, open_checkpoint
from timeline.tlog.note import NoteError, Verifier

Fetch = Callable[[str], bytes]  # a path under the log's URL (e.g. "checkpoint") → body


class _Indexed(msgspec.Struct):
    log_index: int | None = None


_decode = msgspec.json.Decoder(_Indexed).decode


@dataclass
class Report:
    ok: bool = True
    lines: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.lines.append(text)

    def fail(self, text: str) -> Report:
        self.ok = False
        self.lines.append(text)
        return self


def http_fetch(base_url: str, timeout: float = 30.0) -> Fetch:
    base = base_url.rstrip("/")
    if not base.endswith("/v1/log"):
        base += "/v1/log"

    def fetch(path: str) -> bytes:
        with urllib.request.urlopen(f"{base}/{path}", timeout=timeout) as response:
            body: bytes = response.read()
            return body

    return fetch


@dataclass
class _Export:
    leaves: list[bytes]  # of the logged lines, in order
    line_numbers: list[int]  # the export line of each leaf
    unlogged: int  # lines with no log_index yet


def _read_export(lines: Iterable[bytes], report: Report) -> _Export | None:
    export = _Export([], [], 0)
    for number, raw in enumerate(lines, start=1):
        entry = raw[:-1] if raw.endswith(b"\n") else raw
        if not entry.strip():
            continue
        try:
            index = _decode(entry).log_index
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            report.fail(f"line {number}: not an export line ({error})")
            return None
        if index is None:
            export.unlogged += 1
            continue
        if export.unlogged or index != len(export.leaves):
            report.fail(
                f"line {number}: log_index {index} where leaf {len(export.leaves)} comes next: "
                "the export is not the log in its order"
            )
            return None
        export.leaves.append(merkle.leaf_hash(entry))
        export.line_numbers.append(number)
    return export


def _root(leaves: Iterable[bytes]) -> bytes:
    frontier = merkle.Frontier()
    for leaf in leaves:
        frontier.append(leaf, lambda level, index, h: None)
    return frontier.root()


def _proof(fetch: Fetch, path: str) -> list[bytes]:
    body = msgspec.json.decode(fetch(path))
    return [base64.b64decode(h) for h in body["hashes"]]


def _tile_leaves(fetch: Fetch, size: int) -> list[bytes]:
    leaves: list[bytes] = []
    for t in range((size + merkle.TILE_WIDTH - 1) // merkle.TILE_WIDTH):
        width = min(merkle.TILE_WIDTH, size - t * merkle.TILE_WIDTH)
        suffix = "" if width == merkle.TILE_WIDTH else f".p/{width}"
        body = fetch(f"tile/0/{merkle.tile_path_index(t)}{suffix}")
        leaves += [body[i : i + 32] for i in range(0, len(body), 32)]
    return leaves


def _first_difference(export: _Export, cp: Checkpoint, fetch: Fetch, report: Report) -> Report:
    signed = _tile_leaves(fetch, cp.size)
    if len(signed) != cp.size or _root(signed) != cp.root:
        return report.fail(
            f"the log's tiles of size {cp.size} do not make this checkpoint's root: the log no "
            "longer serves the tree it signed (its history was rewritten)"
        )
    for index, (ours, theirs) in enumerate(zip(export.leaves, signed, strict=False)):
        if ours != theirs:
            return report.fail(
                f"line {export.line_numbers[index]} (log_index {index}) differs from the "
                "signed tree's leaf: that event is not what the log signed"
            )
    return report.fail("the export's lines are not the signed tree's leaves")


def _check_latest(cp: Checkpoint, verifier: Verifier, fetch: Fetch, report: Report) -> None:
    latest = open_checkpoint(fetch("checkpoint").decode(), verifier, cp.origin)
    if latest.size < cp.size:
        report.fail(f"the log's latest checkpoint (size {latest.size}) is older than this one")
        return
    proof = _proof(fetch, f"proof/consistency?from={cp.size}&to={latest.size}")
    if latest.size == cp.size:
        consistent = latest.root == cp.root
    else:
        consistent = merkle.verify_consistency(cp.size, latest.size, cp.root, latest.root, proof)
    if consistent:
        report.say(f"the log's latest checkpoint (size {latest.size}) extends this one")
    else:
        report.fail(
            f"the log's latest checkpoint (size {latest.size}) does NOT extend this one: "
            "the log has rewritten what it signed"
        )


def verify_export(
    lines: Iterable[bytes], note: str, verifier: Verifier, fetch: Fetch | None = None
) -> Report:
    """Check an NDJSON export against a signed checkpoint (and the log, with `fetch`)."""
    report = Report()
    try:
        cp = open_checkpoint(note, verifier)
    except NoteError as error:
        return report.fail(f"the checkpoint does not open with this key: {error}")
    report.say(f"checkpoint: {cp.origin}, tree size {cp.size}, signature good")
    export = _read_export(lines, report)
    if export is None:
        return report
    have = len(export.leaves)
    try:
        if have == 0:
            return report.fail("the export holds no logged lines")
        if have < cp.size:
            if fetch is None:
                return report.fail(
                    f"the export has {have} logged lines, the checkpoint {cp.size}: "
                    "give --url to check it as a prefix of the signed tree"
                )
            proof = _proof(fetch, f"proof/consistency?from={have}&to={cp.size}")
            if merkle.verify_consistency(have, cp.size, _root(export.leaves), cp.root, proof):
                report.say(f"the export's {have} logged lines are a prefix of the signed tree")
            else:
                _first_difference(export, cp, fetch, report)
        elif _root(export.leaves[: cp.size]) != cp.root:
            if fetch is None:
                return report.fail(
                    f"the export's first {cp.size} logged lines do not make the signed root: "
                    "it is not a prefix of the signed tree (give --url to find the first line "
                    "that differs)"
                )
            _first_difference(export, cp, fetch, report)
        else:
            report.say(f"lines 1 to {export.line_numbers[cp.size - 1]} are the signed tree")
            if have > cp.size:
                report.say(
                    f"{have - cp.size} logged lines come after it (check them with a newer one)"
                )
        if export.unlogged:
            report.say(f"{export.unlogged} lines are not in the log yet")
        if fetch is not None:
            _check_latest(cp, verifier, fetch, report)
    except (urllib.error.URLError, OSError, msgspec.DecodeError, KeyError, NoteError) as error:
        return report.fail(f"the log could not be asked: {error}")
    return report
