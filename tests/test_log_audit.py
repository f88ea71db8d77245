"""The run's log audit (``tests/log_audit.py``) finds personal data when a line carries it, and
fails the run: a checker that never fires would prove nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import pytest

from tests.factories import new_iin
from tests.log_audit import audit_of, findings, scan

ROOT = Path(__file__).resolve().parents[1]
IIN = new_iin(date(1985, 7, 14), "F")
JWT = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl"
FCM = "dGhpc2lzYW5pbnN0YW5jZQ:APA91bHPRgkF3JUikC4ENAHEeMrd41Zxv3hVZjC9KtT8OvPVGJ-hMMoZRn"
PLANTED = {
    "iin": f"stored {IIN}",
    "grouped iin": f"stored {IIN[:6]} {IIN[6:]}",
    "phone": "sms to +7 (701) 123-45-67",
    "phone digits": "sms to 87011234567",
    "jwt": f"token {JWT}",
    "bearer": "authorization: Bearer abcdefghijklmnopqrstuvwxyz0123",
    "refresh token or client secret": "refresh rt.Zm9vYmFyYmF6cXV4cXV1eGNvcmdl_-x1 reused",
    "fcm token": f"device {FCM}",
    "suite push token": "device tok:Zm9vYmFyYmF6cXV4cXV1eGNvcmdl",
}
CLEAN = [
    "2026-12-07T02:10:00.123Z", "stored [iin], sms to [phone], token [token] [push-token]",
    "paid 100 000 000 000 tiyn", "amount 150000000 tiyn", "epoch 1764000000 s",
    "id 5b1e4f0a-7011-2345-6789-0a1b2c3d4e5f", "request 4bf92f3577b34da6a3ce929d0e0e4736",
    "Bearer [token]",
]


@pytest.mark.parametrize(("kind", "line"), PLANTED.items())
def test_each_kind_of_personal_data_is_found(kind: str, line: str) -> None:
    assert kind in findings({"message": line})
    assert kind in findings({"extra": {"nested": [line]}}), "inside extra fields too"


def test_numbers_and_keys_are_looked_at() -> None:
    assert findings({"phone": 77011234567}) == ["phone digits"]
    assert findings({IIN: "value"}) == ["iin"]


@pytest.mark.parametrize("line", CLEAN)
def test_what_redaction_leaves_is_not_a_finding(line: str) -> None:
    assert findings({"message": line}) == []


def test_the_audit_file_is_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text(json.dumps({"message": "fine"}) + "\nnot json\n"
                    + json.dumps({"message": PLANTED["iin"]}) + "\n", encoding="utf-8")
    found = scan(path, strict=True)
    assert [(f.line, f.kinds) for f in found] == [(2, ("not JSON",)), (3, ("iin",))]
    assert [f.line for f in scan(path, strict=False)] == [3], "a process's prints are skipped"


def test_this_run_is_audited(request: pytest.FixtureRequest) -> None:
    """The plugin is on in this run, writing JSON lines through the production formatter."""
    import logging

    logging.getLogger("mhi.audit-check").warning("the audit hears this, not +77011234567")
    audit = audit_of(request.config)
    last = audit.path.read_text(encoding="utf-8").splitlines()[-1]
    entry = json.loads(last)
    assert entry["logger"] == "mhi.audit-check"
    assert entry["message"] == "the audit hears this, not [phone]"
    assert set(entry) >= {"time", "level", "logger", "message"}


PLANTED_RUN = '''
import json, logging, os
from pathlib import Path

def test_a_formatter_that_leaked(request):
    logging.getLogger("mhi.planted").warning("a clean line")
    path = Path(os.environ["MHI_LOG_AUDIT_FILE"])
    with path.open("a", encoding="utf-8") as audit:   # what a broken formatter would write
        audit.write(json.dumps({"message": "stored %s"}) + "\\n")

def test_a_process_that_leaked(tmp_path):
    (tmp_path / "worker.log").write_text(
        "worker banner, not JSON\\n" + json.dumps({"message": "sms to +77011234567"}) + "\\n")
'''


def test_a_leak_fails_the_run() -> None:
    """A run whose audit file, or a process's log under the run's temporary folder, carries
    personal data ends with exit status 1 and names the lines, though every test passed.
    (Outside this run's temporary folder, whose logs this run's audit reads.)"""
    with tempfile.TemporaryDirectory(prefix="mhi-planted-") as folder:
        _planted_run(Path(folder))


def _planted_run(tmp_path: Path) -> None:
    (tmp_path / "test_planted.py").write_text(PLANTED_RUN % IIN, encoding="utf-8")
    audit_file = tmp_path / "audit.jsonl"
    env = {**os.environ, "MHI_LOG_AUDIT_FILE": str(audit_file),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run(  # noqa: S603 (our own interpreter and files)
        [sys.executable, "-m", "pytest", "-p", "tests.log_audit", "-p", "no:cacheprovider",
         "-q", "--rootdir", str(tmp_path), "--basetemp", str(tmp_path / "base"),
         "-c", os.devnull, str(tmp_path / "test_planted.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    output = run.stdout + run.stderr
    assert "2 passed" in output, output
    assert run.returncode == 1, output
    assert f"{audit_file}:2: iin" in output, output
    assert "worker.log:2: phone" in output, output
    assert IIN not in output, "the finding does not repeat the value"
