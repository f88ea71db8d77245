"""Checkpoint bodies (C2SP tlog-checkpoint) and opening a cosigned checkpoint."""

from __future__ import annotations

import hashlib

import pytest

from backend.tlog.checkpoint import (
    Checkpoint,
    CheckpointError,
    open_checkpoint,
    parse_checkpoint,
)
from backend.tlog.note import (
    ALG_COSIGNATURE_V1,
    Ed25519Signer,
    InvalidSignatureError,
    sign_line,
    sign_note,
)

# The example of c2sp.org/tlog-checkpoint.
C2SP_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def test_c2sp_example_parses_and_writes_back() -> None:
    """The spec's example body reads as origin, size and hash, and writes back byte for byte."""
    cp = parse_checkpoint(C2SP_BODY)
    assert cp.origin == "example.com/behind-the-sofa"
    assert cp.size == 20852163
    assert cp.hash.hex().startswith("0ac5186a")
    assert cp.extensions == ()
    assert cp.text() == C2SP_BODY


def test_extension_lines_round_trip() -> None:
    """Extension lines are kept in order after the hash."""
    body = C2SP_BODY + "ext one\next two\n"
    cp = parse_checkpoint(body)
    assert cp.extensions == ("ext one", "ext two")
    assert cp.text() == body


@pytest.mark.parametrize(
    "body",
    [
        C2SP_BODY[:-1],  # no final newline
        "example.com/log\n5\n",  # no hash
        "\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # empty origin
        "o\n05\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # leading zero
        "o\n+5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n٥\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # a non-ASCII digit
        "o\n9223372036854775808\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # 2**63
        "o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",  # no padding
        "o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",  # non-canonical base64
        "o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=AAAA\n",  # 35 bytes
        "o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",  # empty extension
    ],
)
def test_malformed_bodies_are_refused(body: str) -> None:
    """Strict parsing: any deviation from the format is an error, not a guess."""
    with pytest.raises(CheckpointError):
        parse_checkpoint(body)


def test_zero_size_and_largest_size() -> None:
    """0 is written as '0'; 2**63 - 1 is the largest size."""
    empty = hashlib.sha256(b"").digest()
    assert parse_checkpoint(Checkpoint("o", 0, empty).text()).size == 0
    assert parse_checkpoint(Checkpoint("o", 2**63 - 1, empty).text()).size == 2**63 - 1
    with pytest.raises(CheckpointError):
        Checkpoint("o", -1, empty)
    with pytest.raises(CheckpointError):
        Checkpoint("o\nx", 1, empty)


LOG = Ed25519Signer("example.com/behind-the-sofa", hashlib.sha256(b"log").digest())
W1 = Ed25519Signer("w1.example", hashlib.sha256(b"w1").digest(), ALG_COSIGNATURE_V1, lambda: 7)
W2 = Ed25519Signer("w2.example", hashlib.sha256(b"w2").digest(), ALG_COSIGNATURE_V1, lambda: 8)


class TestOpenCheckpoint:
    """A client trusts a checkpoint with the log's signature and enough witness cosignatures."""

    def test_log_and_one_witness(self) -> None:
        signed = sign_note(C2SP_BODY, [LOG, W1])
        opened = open_checkpoint(signed, LOG.verifier(), [W1.verifier(), W2.verifier()], quorum=1)
        assert opened.checkpoint.size == 20852163
        assert opened.witnesses == ("w1.example",)

    def test_too_few_witnesses(self) -> None:
        signed = sign_note(C2SP_BODY, [LOG, W1])
        with pytest.raises(CheckpointError, match="1 witness cosignatures, 2 needed"):
            open_checkpoint(signed, LOG.verifier(), [W1.verifier(), W2.verifier()], quorum=2)

    def test_witness_alone_is_not_the_log(self) -> None:
        signed = sign_note(C2SP_BODY, [W1])
        with pytest.raises(CheckpointError, match="not signed by the log"):
            open_checkpoint(signed, LOG.verifier(), [W1.verifier()], quorum=1)

    def test_cosignature_appended_later(self) -> None:
        """A witness's answer (a signature line) appended to the log's note is a cosignature."""
        signed = sign_note(C2SP_BODY, [LOG]) + sign_line(C2SP_BODY, W2)
        opened = open_checkpoint(signed, LOG.verifier(), [W2.verifier()], quorum=1)
        assert opened.witnesses == ("w2.example",)

    def test_bad_witness_signature_refuses_the_checkpoint(self) -> None:
        signed = sign_note(C2SP_BODY, [LOG]) + sign_line(C2SP_BODY.replace("3\n", "4\n"), W2)
        with pytest.raises(InvalidSignatureError):
            open_checkpoint(signed, LOG.verifier(), [W2.verifier()], quorum=1)

    def test_origin_must_be_the_log_keys_name(self) -> None:
        other = Ed25519Signer("example.com/other", hashlib.sha256(b"log").digest())
        signed = sign_note(C2SP_BODY, [other])
        with pytest.raises(CheckpointError, match="origin"):
            open_checkpoint(signed, other.verifier())
