"""Signed notes and cosignatures: Go's note_test.go vectors and the C2SP examples."""

from __future__ import annotations

import base64
import hashlib

import pytest

from backend.tlog.note import (
    ALG_COSIGNATURE_V1,
    AmbiguousVerifierError,
    Ed25519Signer,
    InvalidSignatureError,
    MalformedNoteError,
    Note,
    NoteError,
    Signature,
    UnknownVerifierError,
    UnverifiedNoteError,
    Verifiers,
    cosignature_time,
    generate_key,
    key_id,
    new_ed25519_verifier_key,
    new_signer,
    new_verifier,
    open_note,
    sign_line,
    sign_note,
)

PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_B64 = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
ENOCH_B64 = (
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ="
)
PETER_SIG = f"— PeterNeumann {PETER_B64}\n"
ENOCH_SIG = f"— EnochRoot {ENOCH_B64}\n"
PETER = Signature("PeterNeumann", 0xC74F20A3, PETER_B64)
ENOCH = Signature("EnochRoot", 0xAF0CFE78, ENOCH_B64)


def manglings(key: str) -> list[str]:
    """Every proper substring of ``key`` and every one-character increment (Go's tests)."""
    out = [key[i:j] for i in range(len(key) + 1) for j in range(i + 1, len(key) + 1)]
    out = [k for k in out if k != key]
    out += [key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :] for i in range(len(key))]
    return out


def test_new_verifier_accepts_gos_key_and_no_mangling() -> None:
    """TestNewVerifier: the key parses; no substring or altered character of it does."""
    assert new_verifier(PETER_VKEY).vkey == PETER_VKEY
    for bad in manglings(PETER_VKEY):
        with pytest.raises(NoteError):
            new_verifier(bad)
    # Wrong length key, and unknown algorithm, each with an adjusted key hash.
    with pytest.raises(NoteError):
        new_verifier(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
    with pytest.raises(NoteError):
        new_verifier("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_new_signer_accepts_gos_key_and_no_mangling() -> None:
    """TestNewSigner: the key parses to the same key ID; no mangling of it does."""
    signer = new_signer(PETER_SKEY)
    assert (signer.name, signer.key_id) == ("PeterNeumann", 0xC74F20A3)
    assert signer.skey == PETER_SKEY
    assert signer.verifier().vkey == PETER_VKEY
    for bad in manglings(PETER_SKEY):
        with pytest.raises(NoteError):
            new_signer(bad)


def test_generate_key_round_trip() -> None:
    """TestGenerateKey: a new pair signs and verifies; a changed signature or message fails."""
    skey, vkey = generate_key("EnochRoot")
    signer, verifier = new_signer(skey), new_verifier(vkey)
    assert signer.name == verifier.name == "EnochRoot"
    assert signer.key_id == verifier.key_id
    sig = signer.sign(b"hi")
    assert verifier.verify(b"hi", sig)
    assert not verifier.verify(b"hi", bytes([sig[0] ^ 1]) + sig[1:])
    assert not verifier.verify(b"ii", sig)


def test_verifier_key_from_public_key() -> None:
    """TestFromEd25519: a vkey made from a raw public key verifies that key's signatures."""
    signer = new_signer(PETER_SKEY)
    assert new_ed25519_verifier_key("PeterNeumann", signer.public_key) == PETER_VKEY
    with pytest.raises(NoteError):
        new_ed25519_verifier_key("PeterNeumann", signer.public_key[:-1])


def test_sign_matches_go() -> None:
    """TestSign: the same bytes as Go, and an existing signature by the same key replaced."""
    signer = new_signer(PETER_SKEY)
    want = TEXT + "\n" + PETER_SIG
    assert sign_note(TEXT, [signer]) == want
    stale = Signature("PeterNeumann", 0xC74F20A3, "BADSIGN=")
    assert sign_note(Note(TEXT, sigs=[stale]), [signer]) == want
    with pytest.raises(MalformedNoteError):
        sign_note("abc", [signer])
    with pytest.raises(MalformedNoteError):
        sign_note(Note(TEXT, sigs=[Signature("a+b", 0, "ABCD")]), [])
    with pytest.raises(MalformedNoteError):
        sign_note(Note(TEXT, sigs=[Signature("PeterNeumann", 0xC74F20A3, "BADHASH=")]), [])


def test_verifier_list() -> None:
    """TestVerifierList: found by name and ID; unknown and ambiguous pairs are errors."""
    peter, enoch = new_verifier(PETER_VKEY), new_verifier(ENOCH_VKEY)
    known = Verifiers([peter, enoch, enoch])
    assert known.verifier("PeterNeumann", 0xC74F20A3) is peter
    with pytest.raises(UnknownVerifierError, match=r"unknown key PeterNeumann\+c74f20a4"):
        known.verifier("PeterNeumann", 0xC74F20A4)
    with pytest.raises(UnknownVerifierError, match=r"unknown key PeterNeuman\+c74f20a3"):
        known.verifier("PeterNeuman", 0xC74F20A3)
    with pytest.raises(AmbiguousVerifierError, match=r"ambiguous key EnochRoot\+af0cfe78"):
        known.verifier("EnochRoot", 0xAF0CFE78)


class TestOpen:
    """TestOpen: Go's cases for note.Open."""

    def test_one_verified_one_not(self) -> None:
        note = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [new_verifier(PETER_VKEY)])
        assert note.text == TEXT
        assert note.sigs == [PETER]
        assert note.unverified_sigs == [ENOCH]

    def test_both_verified(self) -> None:
        known = [new_verifier(PETER_VKEY), new_verifier(ENOCH_VKEY)]
        note = open_note((TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode(), known)
        assert note.sigs == [PETER, ENOCH]
        assert note.unverified_sigs == []

    def test_none_verified(self) -> None:
        with pytest.raises(UnverifiedNoteError, match="no verifiable signatures") as caught:
            open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])
        assert caught.value.note.sigs == []
        assert caught.value.note.unverified_sigs == [PETER, ENOCH]

    def test_duplicated_verifier(self) -> None:
        peter, enoch = new_verifier(PETER_VKEY), new_verifier(ENOCH_VKEY)
        with pytest.raises(AmbiguousVerifierError):
            open_note(TEXT + "\n" + ENOCH_SIG, [enoch, peter, enoch])
        assert open_note(TEXT + "\n" + PETER_SIG, [enoch, peter, enoch]).sigs == [PETER]

    def test_too_many_signatures(self) -> None:
        for known in ([new_verifier(PETER_VKEY)], []):
            with pytest.raises(MalformedNoteError):
                open_note(TEXT + "\n" + PETER_SIG * 101, known)

    def test_invalid_signature(self) -> None:
        bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
        with pytest.raises(InvalidSignatureError, match=r"PeterNeumann\+c74f20a3"):
            open_note(TEXT + "\n" + bad, [new_verifier(PETER_VKEY)])

    def test_duplicates_dropped(self) -> None:
        # Go's [:60] counts bytes; the em dash is three of them, one character here.
        enoch_abcd = Signature("EnochRoot", 0xAF0CFE78, ENOCH_B64[:46] + "ABCD" + ENOCH_B64[46:])
        msg = (
            TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG
            + ENOCH_SIG[:58] + "ABCD" + ENOCH_SIG[58:]
        )
        note = open_note(msg, [new_verifier(PETER_VKEY)])
        assert note.sigs == [PETER]
        assert note.unverified_sigs == [ENOCH, enoch_abcd]

    @pytest.mark.parametrize(
        "msg",
        [
            TEXT,
            TEXT + "\n",
            TEXT + "\n" + PETER_SIG[:-1],
            "\x01" + TEXT + "\n" + PETER_SIG,
            "\udcff" + TEXT + "\n" + PETER_SIG,  # the byte 0xff: not UTF-8
            TEXT + "\n— Bad Name " + PETER_B64,
            TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        ],
    )
    def test_malformed(self, msg: str) -> None:
        data = msg.encode("utf-8", "surrogateescape")
        with pytest.raises(MalformedNoteError):
            open_note(data, [new_verifier(PETER_VKEY)])


C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = (
    "This is an example message.\n\n— example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)


def test_c2sp_signed_note_example() -> None:
    """The example of c2sp.org/signed-note verifies with its vkey, and not once altered."""
    note = open_note(C2SP_NOTE, [new_verifier(C2SP_VKEY)])
    assert note.text == "This is an example message.\n"
    with pytest.raises(InvalidSignatureError):
        altered = C2SP_NOTE.replace("example message", "example massage")
        open_note(altered, [new_verifier(C2SP_VKEY)])


def test_c2sp_cosignature_example_carries_its_time() -> None:
    """The cosignature line of c2sp.org/tlog-cosignature holds the time its message shows."""
    line = (
        "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0"
        "xUe+mbIUBkBIfZ+qnA=="
    )
    raw = base64.b64decode(line)
    sig = Signature("witness.example.com/w1", int.from_bytes(raw[:4], "big"), line)
    assert cosignature_time(sig) == 1679315147


CHECKPOINT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


class TestCosignature:
    """C2SP tlog-cosignature v1 (algorithm 0x04) as a note signature."""

    def signer(self, at: int = 1679315147) -> Ed25519Signer:
        seed = hashlib.sha256(b"witness seed").digest()
        return Ed25519Signer("witness.example.com/w1", seed, ALG_COSIGNATURE_V1, lambda: at)

    def test_key_id_uses_algorithm_4(self) -> None:
        signer = self.signer()
        expected = key_id("witness.example.com/w1", b"\x04" + signer.public_key)
        assert signer.key_id == expected
        assert signer.key_id != key_id("witness.example.com/w1", b"\x01" + signer.public_key)

    def test_signs_the_cosigned_message(self) -> None:
        """The signature is time ‖ Ed25519 over 'cosignature/v1\\ntime T\\n' + checkpoint."""
        signer = self.signer()
        line = sign_line(CHECKPOINT, signer)
        raw = base64.b64decode(line.split(" ")[2])
        assert raw[:4] == signer.key_id.to_bytes(4, "big")
        assert int.from_bytes(raw[4:12], "big") == 1679315147
        message = b"cosignature/v1\ntime 1679315147\n" + CHECKPOINT.encode()
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        Ed25519PublicKey.from_public_bytes(signer.public_key).verify(raw[12:], message)

    def test_open_checks_cosignatures_and_times(self) -> None:
        log = Ed25519Signer("example.com/behind-the-sofa", bytes(32))
        witness = self.signer()
        signed = sign_note(CHECKPOINT, [log, witness])
        vkey = witness.verifier().vkey
        assert vkey.split("+", 2)[2] == base64.b64encode(b"\x04" + witness.public_key).decode()
        note = open_note(signed, [log.verifier(), new_verifier(vkey)])
        names = [s.name for s in note.sigs]
        assert names == ["example.com/behind-the-sofa", "witness.example.com/w1"]
        assert cosignature_time(note.sigs[1]) == 1679315147

    def test_changed_time_fails(self) -> None:
        """A cosignature whose time is changed no longer verifies: the time is signed."""
        witness = self.signer()
        line = sign_line(CHECKPOINT, witness)
        name, b64 = line[2:-1].split(" ")
        raw = bytearray(base64.b64decode(b64))
        raw[11] ^= 1
        forged = f"— {name} {base64.b64encode(bytes(raw)).decode()}\n"
        with pytest.raises(InvalidSignatureError):
            open_note(CHECKPOINT + "\n" + forged, [witness.verifier()])

    def test_plain_key_does_not_verify_cosignature(self) -> None:
        """The same key as a 0x01 verifier has another key ID: the cosignature is unknown to it."""
        witness = self.signer()
        plain = Ed25519Signer(witness.name, hashlib.sha256(b"witness seed").digest())
        with pytest.raises(UnverifiedNoteError):
            open_note(sign_note(CHECKPOINT, [witness]), [plain.verifier()])

    def test_cosigner_key_text_round_trip(self) -> None:
        skey, vkey = generate_key("w.example/1", ALG_COSIGNATURE_V1)
        signer = new_signer(skey, clock=lambda: 5)
        note = open_note(sign_note(CHECKPOINT, [signer]), [new_verifier(vkey)])
        assert cosignature_time(note.sigs[0]) == 5
