"""C2SP tlog-checkpoint: the origin, the tree size and the root hash, one per line."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from timeline.tlog.note import NoteError, Verifier, open_note


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """The checkpoint of a note's text; extension lines after the third are allowed."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint is an origin, a size and a root hash, each on a line")
    origin, size, root = lines[:3]
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise NoteError(f"checkpoint size {size!r}: not a decimal number")
    try:
        digest = base64.b64decode(root, validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != 32 or not origin:
        raise NoteError("checkpoint: no origin, or the root is not a base64 SHA-256 hash")
    return Checkpoint(origin, int(size), digest)


def open_checkpoint(note: str, verifier: Verifier, origin: str | None = None) -> Checkpoint:
    """The checkpoint of a signed note, when `verifier` signed it (and for `origin`, if given)."""
    checkpoint = parse_checkpoint(open_note(note, verifier))
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not {origin!r}")
    return checkpoint
