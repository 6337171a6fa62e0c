"""C2SP signed-note with Ed25519: keys, signing and opening notes.

Key formats are Go's (golang.org/x/mod/sumdb/note), so either side's keys work
with the other's code: a verifier key is `<name>+<key id hex>+<base64(0x01 ‖
public key)>`, a signer key `PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 ‖
seed)>`. The key id is the first four bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖
public key). A signature line is `— <name> <base64(key id ‖ signature)>`, the
signature over the text including its final newline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
DASH = "\u2014 "


class NoteError(ValueError):
    """A key or note that is malformed, or a note the key did not sign."""


def check_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise NoteError(f"key name {name!r}: must be non-empty, with no spaces and no '+'")


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public).digest()[:4]


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    name: str
    id: bytes
    public: Ed25519PublicKey

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        """A verifier from its `<name>+<id>+<key>` text; NoteError saying what is wrong."""
        parts = vkey.strip().split("+", 2)  # base64 may hold a "+"
        if len(parts) != 3:
            raise NoteError("a verifier key is <name>+<key id hex>+<base64 key>")
        name, hex_id, b64 = parts
        check_name(name)
        try:
            raw = base64.b64decode(b64, validate=True)
            wanted = bytes.fromhex(hex_id)
        except (binascii.Error, ValueError):
            raise NoteError("verifier key: the id is not hex or the key is not base64") from None
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("verifier key: not an Ed25519 key (0x01 and 32 bytes)")
        if len(wanted) != 4 or key_id(name, raw[1:]) != wanted:
            raise NoteError("verifier key: its id does not match its name and key")
        return cls(name, wanted, Ed25519PublicKey.from_public_bytes(raw[1:]))

    def text(self) -> str:
        raw = bytes([ED25519]) + _raw(self.public)
        return f"{self.name}+{self.id.hex()}+{base64.b64encode(raw).decode()}"


@dataclass(frozen=True)
class Signer:
    name: str
    private: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Signer:
        check_name(name)
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, skey: str) -> Signer:
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a signer key is PRIVATE+KEY+<name>+<key id hex>+<base64 key>")
        name, hex_id, b64 = parts[2:]
        check_name(name)
        try:
            raw = base64.b64decode(b64, validate=True)
        except binascii.Error:
            raise NoteError("signer key: the key is not base64") from None
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("signer key: not an Ed25519 key (0x01 and a 32-byte seed)")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.verifier().id.hex() != hex_id.lower():
            raise NoteError("signer key: its id does not match its name and key")
        return signer

    def text(self) -> str:
        seed = self.private.private_bytes_raw()
        raw = base64.b64encode(bytes([ED25519]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier().id.hex()}+{raw}"

    def verifier(self) -> Verifier:
        public = self.private.public_key()
        return Verifier(self.name, key_id(self.name, _raw(public)), public)

    def sign(self, text: str) -> str:
        """The signed note of `text` (which must end in a newline and hold no blank line)."""
        if not text.endswith("\n") or "\n\n" in text:
            raise NoteError("a note's text ends in one newline and has no blank line")
        signature = self.private.sign(text.encode())
        blob = base64.b64encode(self.verifier().id + signature).decode()
        return f"{text}\n{DASH}{self.name} {blob}\n"


def open_note(note: str, verifier: Verifier) -> str:
    """The text of `note` when `verifier`'s key signed it; NoteError otherwise."""
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise NoteError("not a signed note: no blank line before the signatures")
    text, lines = note[: split + 1], note[split + 2 :].splitlines()
    for line in lines:
        if not line.startswith(DASH):
            raise NoteError("a signature line begins with an em dash and a space")
        name, _, blob = line[len(DASH) :].partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error:
            raise NoteError("a signature is not base64") from None
        if name != verifier.name or raw[:4] != verifier.id:
            continue  # another key's signature: not ours to judge
        try:
            verifier.public.verify(raw[4:], text.encode())
        except InvalidSignature:
            raise NoteError(f"the signature of {name} does not verify") from None
        return text
    raise NoteError(f"the note carries no signature by {verifier.name}+{verifier.id.hex()}")


def write_key_file(path: Path, signer: Signer) -> None:
    """Write the signer key readable by its owner only (0600); never over an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(signer.text() + "\n")


def read_key_file(path: Path) -> Signer:
    try:
        return Signer.parse(path.read_text())
    except FileNotFoundError:
        raise NoteError(f"{path}: no log key (make one with `timeline log key create`)") from None
