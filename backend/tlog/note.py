"""C2SP ``signed-note`` (Ed25519) and ``tlog-cosignature`` v1: a port of Go's ``sumdb/note``.

A note is UTF-8 text ending in a newline, a blank line, and signature lines
``— <name> <base64(key ID ‖ signature)>``. Keys are written as text:

- verifier key: ``<name>+<hex key ID>+<base64(alg ‖ public key)>``
- signer key:   ``PRIVATE+KEY+<name>+<hex key ID>+<base64(alg ‖ Ed25519 seed)>``

with ``key ID = SHA-256(name ‖ 0x0A ‖ alg ‖ public key)[:4]``. Algorithm ``0x01`` signs the
note text with Ed25519; algorithm ``0x04`` is a witness cosignature: the signature is
``uint64 BE time ‖ Ed25519(cosignature/v1\\ntime <time>\\n ‖ note text)``, so a cosignature is
just another signature line and :func:`open_note` checks both kinds. (Go's ``note`` reads only
``0x01`` keys; ``0x04`` signer keys are our extension, in the same text form.)

:func:`open_note` fails as Go's ``note.Open`` does: malformed text, a known key whose
signature does not verify (the whole note is rejected), a verifier list with two keys of the
same name and ID, and no signature from a known key at all.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [  # not the Go-named aliases open and sign: a star import must not shadow open()
    "ALG_COSIGNATURE_V1", "ALG_ED25519", "MAX_SIGNATURES", "AmbiguousVerifierError",
    "Ed25519Signer", "Ed25519Verifier", "InvalidSignatureError", "MalformedNoteError", "Note",
    "NoteError", "Signature", "Signer", "UnknownVerifierError", "UnverifiedNoteError", "Verifier",
    "Verifiers", "cosignature_time", "cosigned_message", "generate_key", "is_valid_name",
    "key_id", "new_ed25519_verifier_key", "new_signer", "new_verifier", "open_note", "sign_line",
    "sign_note",
]

ALG_ED25519 = 0x01
"""Signature type of plain Ed25519 note signatures (C2SP signed-note)."""

ALG_COSIGNATURE_V1 = 0x04
"""Signature type of timestamped Ed25519 checkpoint cosignatures (C2SP tlog-cosignature)."""

MAX_SIGNATURES = 100
"""More signature lines than this make a note malformed (as in Go)."""

_SIG_PREFIX = "— "


class NoteError(ValueError):
    """A note that cannot be opened, or keys or signers that cannot be used."""


class MalformedNoteError(NoteError):
    """The note's text or signature lines break the format."""

    def __init__(self, message: str = "malformed note") -> None:
        super().__init__(message)


class UnknownVerifierError(NoteError):
    """No known verifier has this key name and ID."""

    def __init__(self, name: str, key_id: int) -> None:
        super().__init__(f"unknown key {name}+{key_id:08x}")
        self.name = name
        self.key_id = key_id


class AmbiguousVerifierError(NoteError):
    """Two known verifiers share a key name and ID."""

    def __init__(self, name: str, key_id: int) -> None:
        super().__init__(f"ambiguous key {name}+{key_id:08x}")


class InvalidSignatureError(NoteError):
    """A signature from a known key does not verify."""

    def __init__(self, name: str, key_id: int) -> None:
        super().__init__(f"invalid signature for key {name}+{key_id:08x}")
        self.name = name
        self.key_id = key_id


class UnverifiedNoteError(NoteError):
    """The note parsed, but no known key signed it; ``note`` holds what was read."""

    def __init__(self, note: Note) -> None:
        super().__init__("note has no verifiable signatures")
        self.note = note


class Verifier(Protocol):
    """Verifies signatures of one key."""

    @property
    def name(self) -> str:
        """The key's name."""
        ...

    @property
    def key_id(self) -> int:
        """The key's 32-bit ID."""
        ...

    def verify(self, msg: bytes, sig: bytes) -> bool:
        """Whether ``sig`` (without the key ID) is this key's signature of ``msg``."""
        ...


class Signer(Protocol):
    """Signs with one key."""

    @property
    def name(self) -> str:
        """The key's name."""
        ...

    @property
    def key_id(self) -> int:
        """The key's 32-bit ID."""
        ...

    def sign(self, msg: bytes) -> bytes:
        """The signature of ``msg`` (without the key ID)."""
        ...


@dataclass(frozen=True)
class Signature:
    """One signature line: the key's name and ID, and the base64 of ``key ID ‖ signature``."""

    name: str
    key_id: int
    base64: str

    def line(self) -> str:
        """The signature line, with its newline."""
        return f"{_SIG_PREFIX}{self.name} {self.base64}\n"


@dataclass
class Note:
    """A note's text and its signatures, verified and not."""

    text: str
    sigs: list[Signature] = field(default_factory=list)
    unverified_sigs: list[Signature] = field(default_factory=list)


def key_id(name: str, key: bytes) -> int:
    """The key ID of ``key`` (``alg ‖ public key``) named ``name``: a 32-bit integer."""
    digest = hashlib.sha256(name.encode() + b"\n" + key).digest()
    return int.from_bytes(digest[:4], "big")


def is_valid_name(name: str) -> bool:
    """Whether ``name`` can name a key: non-empty, without spaces or ``+``."""
    return bool(name) and not any(c.isspace() for c in name) and "+" not in name


def cosigned_message(text: bytes, timestamp: int) -> bytes:
    """What a v1 cosignature signs: ``cosignature/v1\\ntime <t>\\n`` and the checkpoint text."""
    return b"cosignature/v1\ntime %d\n" % timestamp + text


class Ed25519Verifier:
    """Verifies Ed25519 note signatures (``0x01``) or v1 cosignatures (``0x04``) of one key."""

    def __init__(self, name: str, public_key: bytes, alg: int = ALG_ED25519) -> None:
        """A verifier for the 32-byte Ed25519 ``public_key`` named ``name``."""
        if not is_valid_name(name):
            raise NoteError("invalid key name")
        if alg not in (ALG_ED25519, ALG_COSIGNATURE_V1) or len(public_key) != 32:
            raise NoteError("unknown verifier algorithm")
        self._name = name
        self._alg = alg
        self._public = public_key
        self._key = Ed25519PublicKey.from_public_bytes(public_key)
        self._key_id = key_id(name, bytes([alg]) + public_key)

    @property
    def name(self) -> str:
        """The key's name."""
        return self._name

    @property
    def key_id(self) -> int:
        """The key's 32-bit ID."""
        return self._key_id

    @property
    def alg(self) -> int:
        """The signature type: 0x01 (note signature) or 0x04 (cosignature)."""
        return self._alg

    @property
    def vkey(self) -> str:
        """The verifier key in its text form."""
        data = base64.b64encode(bytes([self._alg]) + self._public).decode()
        return f"{self._name}+{self._key_id:08x}+{data}"

    def verify(self, msg: bytes, sig: bytes) -> bool:
        """Whether ``sig`` is this key's signature (or cosignature) of note text ``msg``."""
        if self._alg == ALG_COSIGNATURE_V1:
            if len(sig) != 8 + 64:
                return False
            timestamp = int.from_bytes(sig[:8], "big")
            if timestamp >= 1 << 63:
                return False
            msg, sig = cosigned_message(msg, timestamp), sig[8:]
        try:
            self._key.verify(sig, msg)
        except InvalidSignature:
            return False
        return True


class Ed25519Signer:
    """Signs notes with an Ed25519 key: plain signatures (``0x01``) or cosignatures (``0x04``)."""

    def __init__(
        self,
        name: str,
        seed: bytes,
        alg: int = ALG_ED25519,
        clock: Callable[[], int] | None = None,
    ) -> None:
        """A signer named ``name`` for the 32-byte ``seed``; ``clock`` dates cosignatures."""
        if not is_valid_name(name):
            raise NoteError("invalid signer")
        if alg not in (ALG_ED25519, ALG_COSIGNATURE_V1) or len(seed) != 32:
            raise NoteError("unknown signer algorithm")
        self._name = name
        self._alg = alg
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self._seed = seed
        self._clock = clock or (lambda: int(time.time()))
        self.public_key = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._key_id = key_id(name, bytes([alg]) + self.public_key)

    @property
    def name(self) -> str:
        """The key's name."""
        return self._name

    @property
    def key_id(self) -> int:
        """The key's 32-bit ID."""
        return self._key_id

    @property
    def skey(self) -> str:
        """The signer key in its text form (secret)."""
        data = base64.b64encode(bytes([self._alg]) + self._seed).decode()
        return f"PRIVATE+KEY+{self._name}+{self._key_id:08x}+{data}"

    def verifier(self) -> Ed25519Verifier:
        """The verifier of this key's signatures."""
        return Ed25519Verifier(self._name, self.public_key, self._alg)

    def sign(self, msg: bytes) -> bytes:
        """The signature of note text ``msg``; a cosignature carries the clock's time first."""
        if self._alg == ALG_COSIGNATURE_V1:
            timestamp = self._clock()
            message = cosigned_message(msg, timestamp)
            return timestamp.to_bytes(8, "big") + self._key.sign(message)
        return self._key.sign(msg)


def _split_key(text: str, parts: int) -> list[str]:
    fields = text.split("+", parts - 1)
    return fields + [""] * (parts - len(fields))


def _decode_key(name: str, hex_id: str, data: str) -> tuple[int, int, bytes]:
    """(key ID, alg, key material) of a key's text fields; raises on any malformation."""
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
        hash_ok = len(hex_id) == 8 and all(c in "0123456789abcdefABCDEF" for c in hex_id)
    except (binascii.Error, UnicodeEncodeError):
        raw, hash_ok = b"", False
    if not hash_ok or not is_valid_name(name) or not raw:
        raise NoteError("malformed verifier id")
    return int(hex_id, 16), raw[0], raw[1:]


def new_verifier(vkey: str) -> Ed25519Verifier:
    """A verifier from its text form ``<name>+<hex id>+<base64(alg ‖ key)>`` (``0x01``/``0x04``)."""
    name, hex_id, data = _split_key(vkey, 3)
    claimed, alg, key = _decode_key(name, hex_id, data)
    if claimed != key_id(name, bytes([alg]) + key):
        raise NoteError("invalid verifier hash")
    if alg not in (ALG_ED25519, ALG_COSIGNATURE_V1):
        raise NoteError("unknown verifier algorithm")
    if len(key) != 32:
        raise NoteError("malformed verifier id")
    return Ed25519Verifier(name, key, alg)


def new_signer(skey: str, clock: Callable[[], int] | None = None) -> Ed25519Signer:
    """A signer from its text form ``PRIVATE+KEY+<name>+<hex id>+<base64(alg ‖ seed)>``."""
    private, key_word, name, hex_id, data = _split_key(skey, 5)
    if private != "PRIVATE" or key_word != "KEY":
        raise NoteError("malformed signer key")
    claimed, alg, seed = _decode_key(name, hex_id, data)
    if alg not in (ALG_ED25519, ALG_COSIGNATURE_V1):
        raise NoteError("unknown signer algorithm")
    if len(seed) != 32:
        raise NoteError("malformed signer key")
    signer = Ed25519Signer(name, seed, alg, clock)
    if signer.key_id != claimed:
        raise NoteError("invalid signer hash")
    return signer


def generate_key(name: str, alg: int = ALG_ED25519) -> tuple[str, str]:
    """A new key pair for ``name``: ``(signer key, verifier key)`` in their text forms."""
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    signer = Ed25519Signer(name, seed, alg)
    return signer.skey, signer.verifier().vkey


def new_ed25519_verifier_key(name: str, public_key: bytes, alg: int = ALG_ED25519) -> str:
    """The verifier key text of a 32-byte Ed25519 public key."""
    if len(public_key) != 32:
        raise NoteError(f"invalid public key size {len(public_key)}, expected 32")
    return Ed25519Verifier(name, public_key, alg).vkey


class Verifiers:
    """A set of known verifiers, found by key name and ID (Go's ``VerifierList``)."""

    def __init__(self, verifiers: Iterable[Verifier] = ()) -> None:
        """Know ``verifiers``; two with the same name and ID make that pair ambiguous."""
        self._by_key: dict[tuple[str, int], list[Verifier]] = {}
        for v in verifiers:
            self._by_key.setdefault((v.name, v.key_id), []).append(v)

    def verifier(self, name: str, key_id: int) -> Verifier:
        """The verifier of ``name`` and ``key_id``; raises Unknown- or AmbiguousVerifierError."""
        found = self._by_key.get((name, key_id))
        if not found:
            raise UnknownVerifierError(name, key_id)
        if len(found) > 1:
            raise AmbiguousVerifierError(name, key_id)
        return found[0]


def _check_characters(text: str) -> None:
    if any(c < " " and c != "\n" for c in text):
        raise MalformedNoteError()


def _parse_signature_line(line: str) -> tuple[Signature, bytes]:
    if not line.startswith(_SIG_PREFIX):
        raise MalformedNoteError()
    name, _, b64 = line[len(_SIG_PREFIX) :].partition(" ")
    try:
        raw = base64.b64decode(b64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise MalformedNoteError() from None
    if not is_valid_name(name) or not b64 or len(raw) < 5:
        raise MalformedNoteError()
    return Signature(name, int.from_bytes(raw[:4], "big"), b64), raw[4:]


def open_note(msg: bytes | str, known: Verifiers | Sequence[Verifier]) -> Note:
    """Parse a signed note and check its signatures against the ``known`` verifiers.

    Signatures of unknown keys are kept in ``unverified_sigs``; repeated ones are dropped.
    Raises :class:`MalformedNoteError`, :class:`InvalidSignatureError` (a known key's signature
    fails: the whole note is refused), :class:`AmbiguousVerifierError`, or
    :class:`UnverifiedNoteError` when no known key signed it.
    """
    if not isinstance(known, Verifiers):
        known = Verifiers(known)
    try:
        text_all = msg.decode("utf-8") if isinstance(msg, bytes) else msg
        text_all.encode("utf-8")  # a str holding lone surrogates is not UTF-8
    except UnicodeError:
        raise MalformedNoteError() from None
    _check_characters(text_all)
    split = text_all.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError()
    text, sigs = text_all[: split + 1], text_all[split + 2 :]
    if not sigs or not sigs.endswith("\n"):
        raise MalformedNoteError()
    lines = sigs[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError()

    note = Note(text)
    seen: set[tuple[str, int]] = set()
    seen_unverified: set[str] = set()
    for line in lines:
        signature, sig = _parse_signature_line(line)
        try:
            verifier = known.verifier(signature.name, signature.key_id)
        except UnknownVerifierError:
            if line not in seen_unverified:
                seen_unverified.add(line)
                note.unverified_sigs.append(signature)
            continue
        if verifier.name != signature.name or verifier.key_id != signature.key_id:
            raise NoteError("verifier name or hash doesn't match signature")
        if (signature.name, signature.key_id) in seen:
            continue
        seen.add((signature.name, signature.key_id))
        if not verifier.verify(text.encode(), sig):
            raise InvalidSignatureError(signature.name, signature.key_id)
        note.sigs.append(signature)
    if not note.sigs:
        raise UnverifiedNoteError(note)
    return note


def sign_line(text: str, signer: Signer) -> str:
    """One signature line of ``signer`` over note text ``text`` (what a witness answers)."""
    if not text.endswith("\n"):
        raise MalformedNoteError()
    if not is_valid_name(signer.name):
        raise NoteError("invalid signer")
    raw = signer.key_id.to_bytes(4, "big") + signer.sign(text.encode())
    return Signature(signer.name, signer.key_id, base64.b64encode(raw).decode()).line()


def sign_note(note: Note | str, signers: Sequence[Signer]) -> str:
    """The signed note: its text, a blank line, its existing signatures, then the new ones.

    An existing signature by the same key as a new signer is replaced (Go's ``note.Sign``).
    """
    if isinstance(note, str):
        note = Note(note)
    if not note.text.endswith("\n"):
        raise MalformedNoteError()
    _check_characters(note.text)
    new = [sign_line(note.text, s) for s in signers]
    have = {(s.name, s.key_id) for s in signers}
    lines: list[str] = []
    for sig in [*note.sigs, *note.unverified_sigs]:
        if not is_valid_name(sig.name):
            raise MalformedNoteError()
        if (sig.name, sig.key_id) in have:
            continue
        try:
            raw = base64.b64decode(sig.base64.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise MalformedNoteError() from None
        if len(raw) < 4 or int.from_bytes(raw[:4], "big") != sig.key_id:
            raise MalformedNoteError()
        lines.append(sig.line())
    return note.text + "\n" + "".join(lines) + "".join(new)


def cosignature_time(signature: Signature) -> int:
    """The timestamp (POSIX seconds) inside a v1 cosignature line's signature."""
    raw = base64.b64decode(signature.base64)
    if len(raw) != 4 + 8 + 64:
        raise NoteError("not a v1 cosignature")
    return int.from_bytes(raw[4:12], "big")


# Go's names, for readers who know them.
open = open_note  # shadows the builtin only as note.open, Go's note.Open
sign = sign_note
