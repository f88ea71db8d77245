"""The standalone verifier (mobile_contract/verifier/mhi_verify.py) says yes to our proofs and
no to every tampered one, and stands alone."""

from __future__ import annotations

import ast
import base64
import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from backend.tlog.note import Ed25519Signer, sign_note
from backend.tlog.prooffile import ProofFileError, parse_proof, verify_proof
from tests.unit.tlog_fixtures import (
    LOG,
    ORIGIN,
    VERIFIER_PATH,
    WITNESS_1,
    WITNESS_2,
    MemoryLog,
    load_verifier,
    sample_log,
    seed,
)

V: ModuleType = load_verifier()
KEYS = ["--log-key", LOG.verifier().vkey, "--witness-key", WITNESS_1.verifier().vkey]


def run(tmp_path: Path, text: str | bytes, keys: list[str] = KEYS) -> tuple[int, str]:
    """Run the verifier's command line in-process on a file holding ``text``."""
    path = tmp_path / "receipt.tlog-proof"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = V.main([str(path), *keys])
    return code, out.getvalue().rstrip("\n")


def library_says(text: str) -> bool:
    """The server library's own check of the same file, for agreement."""
    try:
        verify_proof(text, LOG.verifier(), [WITNESS_1.verifier()], quorum=1)
    except ProofFileError:
        return False
    return True


def test_imports_only_the_standard_library_and_cryptography() -> None:
    """The verifier shares no code with the server: its imports are stdlib or cryptography."""
    tree = ast.parse(VERIFIER_PATH.read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            roots.add((node.module or "").split(".")[0])
    assert roots, "the verifier imports something"
    foreign = {r for r in roots if r not in sys.stdlib_module_names and r != "cryptography"}
    assert foreign == set()
    assert "cryptography" in roots


def test_every_leaf_of_every_size_verifies(tmp_path: Path) -> None:
    """Proof files made by the library, for every leaf at sizes 1 to 13, get a yes."""
    log = MemoryLog()
    full = sample_log(13)
    for size in range(1, 14):
        log.append(full.entries[size - 1], full.records[size - 1], full.salts[size - 1])
        checkpoint = log.checkpoint()
        for index in range(size):
            text = log.proof_file(index, checkpoint)
            assert V.verify(text, V.parse_key(LOG.verifier().vkey, 1, "log"),
                            [V.parse_key(WITNESS_1.verifier().vkey, 4, "w")]).entry
            assert library_says(text)
    assert run(tmp_path, log.proof_file(7)) == (0, "yes")


def test_command_line_as_a_citizen_runs_it(tmp_path: Path) -> None:
    """`python mhi_verify.py FILE --log-key K --witness-key K` prints yes, exit 0, or no, 1."""
    good = tmp_path / "good.tlog-proof"
    good.write_text(sample_log().proof_file(3))
    bad = tmp_path / "bad.tlog-proof"
    bad.write_text(good.read_text().replace("index 3", "index 4"))
    for path, code, answer in [(good, 0, "yes\n"), (bad, 1, "no: ")]:
        done = subprocess.run(  # noqa: S603 -- our own script, fixed arguments
            [sys.executable, str(VERIFIER_PATH), str(path), *KEYS],
            capture_output=True, text=True, check=False, timeout=60,
        )
        assert done.returncode == code
        assert done.stdout.startswith(answer)


def test_show_prints_the_record(tmp_path: Path) -> None:
    """--show prints the entry and the record the citizen can read."""
    code, out = run(tmp_path, sample_log().proof_file(2), [*KEYS, "--show"])
    assert code == 0
    assert '"amount":"5002.00 KZT"' in out
    assert "witnesses: w1.example.kz" in out


def test_proof_without_record_still_proves_the_entry(tmp_path: Path) -> None:
    """A file with only the entry proves the entry (no commitment to check)."""
    assert run(tmp_path, sample_log().proof_file(5, with_record=False)) == (0, "yes")


def rewrite_extra(text: str, **changes: bytes) -> str:
    """The file with fields of its extra JSON replaced (as a forger would write them)."""
    proof = parse_proof(text)
    assert proof.extra is not None
    doc = json.loads(proof.extra)
    doc.update({k: base64.b64encode(v).decode() for k, v in changes.items()})
    extra = base64.b64encode(json.dumps(doc).encode()).decode()
    lines = text.split("\n")
    lines[1] = "extra " + extra
    return "\n".join(lines)


def flip_b64(b64: str, at: int = 0) -> str:
    """``b64`` with one bit flipped in its decoded byte ``at``."""
    raw = bytearray(base64.b64decode(b64))
    raw[at] ^= 1
    return base64.b64encode(bytes(raw)).decode()


class TestTampering:
    """Each kind of change to a proof file is caught, by the verifier and by the library."""

    log = sample_log()
    good = log.proof_file(6)

    def refused(self, tmp_path: Path, text: str, reason: str) -> None:
        code, out = run(tmp_path, text)
        assert code == 1
        assert out.startswith("no: ")
        assert reason in out
        assert not library_says(text)

    def test_entry_changed(self, tmp_path: Path) -> None:
        """Another entry (another record id) is not the leaf the proof leads from."""
        entry = self.log.entries[6].replace(b"1006", b"1007")
        self.refused(tmp_path, rewrite_extra(self.good, entry=entry), "inclusion proof")

    def test_entry_changed_without_record(self, tmp_path: Path) -> None:
        entry = self.log.entries[6].replace(b"1006", b"1007")
        bare = self.log.proof_file(6, with_record=False)
        self.refused(tmp_path, rewrite_extra(bare, entry=entry), "inclusion proof")

    def test_record_changed(self, tmp_path: Path) -> None:
        """A changed amount in the record no longer matches the commitment."""
        record = self.log.records[6].replace(b"5006.00", b"9006.00")
        self.refused(tmp_path, rewrite_extra(self.good, record=record), "commits to")

    def test_salt_changed(self, tmp_path: Path) -> None:
        salt = bytes([self.log.salts[6][0] ^ 1]) + self.log.salts[6][1:]
        self.refused(tmp_path, rewrite_extra(self.good, salt=salt), "commits to")

    def test_each_proof_hash_changed(self, tmp_path: Path) -> None:
        lines = self.good.split("\n")
        hash_rows = range(3, lines.index(""))
        assert len(hash_rows) == 4
        for row in hash_rows:
            bad = [*lines]
            bad[row] = flip_b64(bad[row], 31)
            self.refused(tmp_path, "\n".join(bad), "inclusion proof")

    def test_proof_hash_dropped_or_added(self, tmp_path: Path) -> None:
        lines = self.good.split("\n")
        self.refused(tmp_path, "\n".join(lines[:3] + lines[4:]), "inclusion proof")
        self.refused(tmp_path, "\n".join([*lines[:3], lines[3], *lines[3:]]), "inclusion proof")

    @pytest.mark.parametrize("index", ["5", "7", "12", "13", "99"])
    def test_index_changed(self, tmp_path: Path, index: str) -> None:
        self.refused(tmp_path, self.good.replace("index 6\n", f"index {index}\n"),
                     "inclusion proof")

    @pytest.mark.parametrize("index", ["06", "-6", "+6", "6 ", "", "٦"])
    def test_index_malformed(self, tmp_path: Path, index: str) -> None:
        self.refused(tmp_path, self.good.replace("index 6\n", f"index {index}\n"), "index")

    def test_checkpoint_size_changed(self, tmp_path: Path) -> None:
        self.refused(tmp_path, self.good.replace(f"{ORIGIN}\n13\n", f"{ORIGIN}\n14\n"),
                     "does not verify")

    def test_checkpoint_root_changed(self, tmp_path: Path) -> None:
        root = self.good.split(f"{ORIGIN}\n13\n")[1].split("\n")[0]
        self.refused(tmp_path, self.good.replace(root, flip_b64(root, 0)), "does not verify")

    def test_log_signature_changed(self, tmp_path: Path) -> None:
        line = next(x for x in self.good.split("\n") if x.startswith(f"— {ORIGIN} "))
        b64 = line.split(" ")[2]
        bad = self.good.replace(b64, flip_b64(b64, 10))
        self.refused(tmp_path, bad, f"signature of {ORIGIN} does not verify")

    def test_witness_cosignature_changed(self, tmp_path: Path) -> None:
        line = next(x for x in self.good.split("\n") if x.startswith("— w1.example.kz "))
        b64 = line.split(" ")[2]
        for at in (5, 11, 40):  # the time, and the signature
            self.refused(tmp_path, self.good.replace(b64, flip_b64(b64, at)),
                         "signature of w1.example.kz does not verify")

    def test_no_witness_cosignature(self, tmp_path: Path) -> None:
        bare = self.log.proof_file(6, self.log.checkpoint(cosigners=()))
        self.refused(tmp_path, bare, "0 of the given witnesses")

    def test_only_another_witness(self, tmp_path: Path) -> None:
        other = self.log.proof_file(6, self.log.checkpoint(cosigners=(WITNESS_2,)))
        self.refused(tmp_path, other, "0 of the given witnesses")

    def test_checkpoint_of_a_forged_log(self, tmp_path: Path) -> None:
        """A checkpoint signed by another key of the same name is not the log's."""
        forger = Ed25519Signer(ORIGIN, seed("forger"))
        text = self.good.split("\n\n")[1] + "\n"
        forged = sign_note(text, [forger, WITNESS_1])
        head = self.good.split("\n\n")[0]
        self.refused(tmp_path, head + "\n\n" + forged, "not signed by the log key")

    def test_proof_for_another_size(self, tmp_path: Path) -> None:
        """A valid proof at size 12 against the checkpoint of size 13 fails."""
        text = self.log.proof_file(6, self.log.checkpoint(), size=12)
        self.refused(tmp_path, text, "inclusion proof")

    def test_every_bit_flip_is_refused(self, tmp_path: Path) -> None:
        """Any single changed bit anywhere in the file makes the answer no."""
        data = self.good.encode()
        key_args = (V.parse_key(LOG.verifier().vkey, 1, "l"),
                    [V.parse_key(WITNESS_1.verifier().vkey, 4, "w")])
        for at in range(len(data)):
            for bit in (0x01, 0x20):
                bad = bytearray(data)
                bad[at] ^= bit
                try:
                    text = bytes(bad).decode("utf-8")
                except UnicodeDecodeError:
                    continue  # main() refuses non-UTF-8 files (tested below)
                with pytest.raises(V.Refused):
                    V.verify(text, *key_args)
        assert run(tmp_path, b"\xff" + data) == (1, "no: the file is not UTF-8 text")


class TestKeys:
    """The verifier's keys are C2SP vkeys of the right type."""

    good = sample_log().proof_file(0)

    def test_witness_key_of_type_1_is_refused(self, tmp_path: Path) -> None:
        plain = Ed25519Signer("w1.example.kz", seed("w1")).verifier().vkey
        code, out = run(tmp_path, self.good, ["--log-key", LOG.verifier().vkey,
                                              "--witness-key", plain])
        assert (code, out) == (1, "no: a witness key is not an Ed25519 key of type 0x04")

    def test_mangled_log_key_is_refused(self, tmp_path: Path) -> None:
        vkey = LOG.verifier().vkey
        mangled = vkey[:-3] + ("A" if vkey[-3] != "A" else "B") + vkey[-2:]
        code, out = run(tmp_path, self.good, ["--log-key", mangled, *KEYS[2:]])
        assert code == 1
        assert "the log key" in out

    def test_no_witness_key_given(self, tmp_path: Path) -> None:
        assert run(tmp_path, self.good, KEYS[:2])[0] == 1

    def test_quorum_of_two(self, tmp_path: Path) -> None:
        log = sample_log(3)
        both = log.proof_file(1, log.checkpoint(cosigners=(WITNESS_1, WITNESS_2)))
        keys = [*KEYS, "--witness-key", WITNESS_2.verifier().vkey, "--quorum", "2"]
        assert run(tmp_path, both, keys) == (0, "yes")
        one = log.proof_file(1, log.checkpoint(cosigners=(WITNESS_1,)))
        assert run(tmp_path, one, keys)[0] == 1

    def test_windows_line_endings_are_named(self, tmp_path: Path) -> None:
        """A file whose newlines an editor turned into CRLF gets a reason a person can act on."""
        code, out = run(tmp_path, self.good.replace("\n", "\r\n"))
        assert (code, out) == (1, "no: the file has Windows line endings: use the file as it "
                                  "was downloaded")

    def test_missing_file(self, tmp_path: Path) -> None:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            code = V.main([str(tmp_path / "nothing.tlog-proof"), *KEYS])
        assert code == 1
        assert out.getvalue().startswith("no: cannot read the file")


def test_server_leaves_verify(tmp_path: Path) -> None:
    """Leaves in the server's own format (backend.tlog.leaves), Kazakh and Russian text in the
    record included, verify; the verifier reads the commitment the server writes."""
    from datetime import UTC, date, datetime

    from backend.tlog import leaves

    log = MemoryLog()
    row = {"id": 7, "at": datetime(2026, 12, 7, 9, 30, tzinfo=UTC), "actor_kind": "staff",
           "actor_id": "42", "actor_name": "Айгүл Серікқызы", "organization": "Емхана №3",
           "purpose": "desk_help", "reason": "пациент попросил", "reference": None}
    record = leaves.record_bytes("access", row)
    salt = leaves.new_salt()
    person = leaves.pseudonym(b"k" * 32, "900101300123")
    entry = leaves.entry_bytes(kind="access", record_id=7, person=person,
                               logged=date(2026, 12, 7), record=record, salt=salt)
    log.append(b"an earlier leaf")
    index = log.append(entry, record, salt)
    log.append(b"a later leaf")
    code, out = run(tmp_path, log.proof_file(index), [*KEYS, "--show"])
    assert code == 0, out
    assert "Айгүл Серікқызы" in out
    assert json.loads(entry)["commitment"] == leaves.commitment(salt, record)
    changed = record.replace("Емхана №3".encode(), "Емхана №4".encode())
    forged = rewrite_extra(log.proof_file(index), record=changed)
    assert run(tmp_path, forged)[1] == "no: the record and salt are not what the entry commits to"
