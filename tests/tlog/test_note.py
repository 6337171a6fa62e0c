"""Signed notes and checkpoints: what one key signs, only that key opens, byte for byte."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from timeline.tlog.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint
from timeline.tlog.note import (
    NoteError,
    Signer,
    Verifier,
    open_note,
    read_key_file,
    write_key_file,
)

TEXT = "timeline.test/log\n3\nqnk3yjU9vi4ZWtRVgMCgCmuMWqt2A/7vHZmMvbZx3Uk=\n"


def test_a_note_opens_with_its_key_and_gives_back_the_text() -> None:
    signer = Signer.generate("timeline.test/log")
    note = signer.sign(TEXT)
    assert note.startswith(TEXT + "\n\u2014 timeline.test/log ")
    assert open_note(note, Verifier.parse(signer.verifier().text())) == TEXT


def test_a_changed_byte_or_another_key_does_not_open() -> None:
    signer = Signer.generate("timeline.test/log")
    note = signer.sign(TEXT)
    with pytest.raises(NoteError, match="does not verify"):
        open_note(note.replace("\n3\n", "\n4\n"), signer.verifier())
    other = Signer.generate("timeline.test/log")
    with pytest.raises(NoteError, match="no signature by"):
        open_note(note, other.verifier())


def test_keys_round_trip_through_their_text_and_the_verifier_key_names_its_id() -> None:
    signer = Signer.generate("timeline.test/log")
    again = Signer.parse(signer.text())
    assert again.verifier() == signer.verifier()
    name, key_id, key = signer.verifier().text().split("+", 2)
    raw = base64.b64decode(key)
    assert (name, len(key_id), raw[0], len(raw)) == ("timeline.test/log", 8, 1, 33)
    with pytest.raises(NoteError, match="id does not match"):
        Verifier.parse(f"{name}+00000000+{key}")


def test_the_key_file_is_its_owners_alone_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "log.key"
    signer = Signer.generate("timeline.test/log")
    write_key_file(path, signer)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_key_file(path).verifier() == signer.verifier()
    with pytest.raises(FileExistsError):
        write_key_file(path, Signer.generate("timeline.test/log"))


def test_a_checkpoint_is_three_lines_and_opens_only_for_its_origin() -> None:
    signer = Signer.generate("timeline.test/log")
    checkpoint = Checkpoint("timeline.test/log", 3, bytes(range(32)))
    assert parse_checkpoint(checkpoint.text()) == checkpoint
    note = signer.sign(checkpoint.text())
    assert open_checkpoint(note, signer.verifier(), "timeline.test/log") == checkpoint
    with pytest.raises(NoteError, match="origin"):
        open_checkpoint(note, signer.verifier(), "elsewhere/log")


@pytest.mark.parametrize("text", ["o\n01\nAAAA\n", "o\n3\n", "o\nx\n" + "A" * 44 + "\n", ""])
def test_a_malformed_checkpoint_is_refused(text: str) -> None:
    with pytest.raises(NoteError, match="checkpoint"):
        parse_checkpoint(text)
