"""Proof files (C2SP tlog-proof) as the library writes, reads and checks them."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from backend.tlog.prooffile import (
    HEADER,
    Extra,
    ProofFile,
    ProofFileError,
    make_proof_file,
    parse_extra,
    parse_proof,
    verify_proof,
)
from tests.unit.tlog_fixtures import LOG, WITNESS_1, WITNESS_2, sample_log

H1, H2 = hashlib.sha256(b"hash1").digest(), hashlib.sha256(b"hash2").digest()


def test_layout_follows_the_spec() -> None:
    """Header, extra, index, one hash a line, a blank line, then the checkpoint verbatim."""
    text = ProofFile(5, (H1, H2), "cp\n\n— x AAAA\n", b"extra information").text()
    assert text == (
        f"{HEADER}\nextra {base64.b64encode(b'extra information').decode()}\nindex 5\n"
        f"{base64.b64encode(H1).decode()}\n{base64.b64encode(H2).decode()}\n\ncp\n\n— x AAAA\n"
    )
    assert parse_proof(text) == ProofFile(5, (H1, H2), "cp\n\n— x AAAA\n", b"extra information")


def test_no_extra_and_no_hashes() -> None:
    """A leaf alone in its tree: index 0, no hashes; extra omitted when there is none."""
    text = ProofFile(0, (), "cp\n\n— x AAAA\n").text()
    assert text == f"{HEADER}\nindex 0\n\ncp\n\n— x AAAA\n"
    assert parse_proof(text).extra is None


# The error cases of transparency-dev/merkle's TestVerifyTLogProofErrors (proof/tlog_proof_test.go,
# commit b833df1), which any tlog-proof reader must refuse, and a few more of our strictness.
@pytest.mark.parametrize(
    "text",
    [
        "wrong-header\nindex 0\n\ncheckpoint\n",
        f"{HEADER}\nextra !!notbase64!!\nindex 0\n\ncheckpoint\n",
        f"{HEADER}\n\n\ncheckpoint\n",
        f"{HEADER}\nindex notanumber\n\ncheckpoint\n",
        f"{HEADER}\nindex -5\n\ncheckpoint\n",
        f"{HEADER}\nindex 0\n!!notbase64!!\n\ncheckpoint\n",
        f"{HEADER}\nindex 0\n{base64.b64encode(bytes(64)).decode()}\n\ncheckpoint\n",
        f"{HEADER}\nindex 01\n\ncheckpoint\n",
        f"{HEADER}\nindex 0\n",
        f"{HEADER}\nindex 0\n" + (base64.b64encode(H1).decode() + "\n") * 64 + "\ncheckpoint\n",
    ],
)
def test_malformed_files_are_refused(text: str) -> None:
    """Every malformed proof file is an error."""
    with pytest.raises(ProofFileError):
        parse_proof(text)


def test_extra_round_trip_and_rules() -> None:
    """Extra is JSON of base64 strings: entry, with record and salt together or not at all."""
    extra = Extra(b"entry", b"record", b"salt")
    assert json.loads(extra.encode()) == {"entry": "ZW50cnk=", "record": "cmVjb3Jk",
                                          "salt": "c2FsdA=="}
    assert parse_extra(extra.encode()) == extra
    assert parse_extra(Extra(b"e").encode()) == Extra(b"e")
    with pytest.raises(ProofFileError):
        Extra(b"e", b"r").encode()
    for bad in [b'{"entry":"ZQ==","record":"cg=="}', b'{"entry":"ZQ==","x":"cg=="}',
                b'{"entry":"ZQ==","entry":"Zg=="}', b'["ZQ=="]', b'{"entry":1}', b"\xff"]:
        with pytest.raises(ProofFileError):
            parse_extra(bad)


def test_verify_proof_accepts_ours_and_says_what_it_proved() -> None:
    """The server's own check: the entry is leaf 4 of the cosigned checkpoint."""
    log = sample_log(9)
    proved = verify_proof(log.proof_file(4), LOG.verifier(), [WITNESS_1.verifier()])
    assert proved.index == 4
    assert proved.entry == log.entries[4]
    assert proved.record == log.records[4]
    assert proved.checkpoint.size == 9
    assert proved.witnesses == ("w1.example.kz",)


def test_verify_proof_needs_the_quorum() -> None:
    """Cosigned by one witness: a quorum of two is refused."""
    log = sample_log(4)
    with pytest.raises(ProofFileError, match="1 witness cosignatures, 2 needed"):
        verify_proof(log.proof_file(1), LOG.verifier(),
                     [WITNESS_1.verifier(), WITNESS_2.verifier()], quorum=2)


def test_make_proof_file_reads_back() -> None:
    """make_proof_file writes what parse_proof and parse_extra read."""
    text = make_proof_file(3, [H1], "cp\n\n— x AAAA\n", b"e", b"r", b"s")
    proof = parse_proof(text)
    assert (proof.index, proof.hashes) == (3, (H1,))
    assert proof.extra is not None
    assert parse_extra(proof.extra) == Extra(b"e", b"r", b"s")
