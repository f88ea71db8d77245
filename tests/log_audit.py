"""A pytest plugin: every log record of the run, written as production writes it (one JSON
object a line, ``backend.observability.logs``), then read back and searched for personal data.

``tests/conftest.py`` loads it (``pytest_plugins``).  From the start of the run a handler on
the root logger writes every record that reaches it into ``MHI_LOG_AUDIT_FILE`` (default: a
file in a temporary folder), through the JSON formatter and the request-context filter that
``mhi`` installs.  The loggers that production runs at INFO (uvicorn's, the worker's
``mhi``, fcm-local, sms-local, the witness) are set to INFO here as well, so their lines are
produced and searched too.  The processes that tests start (``mhi serve``, ``mhi worker``
with ``APP_ENVIRONMENT=test``, hence JSON) write into ``*.log`` files under pytest's temporary
folder: their JSON lines are searched as well.

When the run ends every line is parsed (a line of the audit file that is not a JSON object is
a finding) and ``findings`` looks at every string, key and number in it.  Any finding fails
the run (exit status 1) and is printed with its file and line number, the value masked.
The patterns are deliberately not ``backend.logs``'s: a gap there must not hide itself here.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from auth.identifiers import InvalidIdentifier, validate_iin
from backend.logs import RequestContext
from backend.observability.logs import JsonLogFormatter

PRODUCTION_INFO = ("uvicorn.access", "uvicorn.error", "mhi", "notifications.fcm_local",
                   "auth.sms_local", "backend.tlog.witness")
"""Loggers that ``mhi serve``, ``mhi worker`` and the local servers run at INFO."""

_SEP = r"[ \-.\u00a0]"
CHECKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("iin", re.compile(r"(?<!\d)\d{12}(?!\d)")),
    ("grouped iin", re.compile(rf"(?<![\d.])\d{{2,6}}(?:{_SEP}\d{{2,6}}){{1,5}}(?![\d])")),
    ("phone", re.compile(r"\+\s*7[\s().\-]*\d{3}[\s().\-]*\d{3}[\s.\-]*\d{2}[\s.\-]*\d{2}")),
    ("phone digits", re.compile(r"(?<![\d.])(?:[78]?7\d{9})(?![\d])")),
    ("jwt", re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.")),
    ("bearer", re.compile(r"(?i)\bbearer\s+(?!\[)[\w.~+/=-]{12,}")),
    ("refresh token or client secret", re.compile(r"\b(?:rt\.|cs_)[\w-]{20,}")),
    ("fcm token", re.compile(r"[\w-]{8,}:APA91[\w-]{20,}")),
    ("suite push token", re.compile(r"\btok:[\w-]{20,}")),
)
"""What personal data looks like in a line.  ``grouped iin`` only counts when the digits
make twelve with a valid check digit (``_is_iin``), so dates and grouped amounts pass."""


def _is_iin(digits: str) -> bool:
    """Whether ``digits`` could be someone's IIN (a birth date, the century digit, the
    check digit: ``auth.identifiers``)."""
    try:
        validate_iin(digits)
    except InvalidIdentifier:
        return False
    return True


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        yield str(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def findings(entry: Any) -> list[str]:
    """The kinds of personal data found anywhere in a parsed line (empty: clean)."""
    found: list[str] = []
    for text in _strings(entry):
        for kind, pattern in CHECKS:
            for match in pattern.finditer(text):
                if kind == "grouped iin" and not _is_iin(re.sub(r"\D", "", match.group())):
                    continue
                found.append(kind)
    return found


@dataclass(frozen=True)
class Finding:
    """One line with personal data in it."""

    path: Path
    line: int
    kinds: tuple[str, ...]


def scan(path: Path, *, strict: bool) -> list[Finding]:
    """Every finding in ``path``.  ``strict``: every line must be a JSON object (the audit
    file); otherwise lines that are not JSON objects are skipped (a process's output mixes
    its log lines with what it prints)."""
    result: list[Finding] = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            try:
                entry = json.loads(line)
            except ValueError:
                if strict:
                    result.append(Finding(path, number, ("not JSON",)))
                continue
            if not isinstance(entry, dict):
                if strict:
                    result.append(Finding(path, number, ("not a JSON object",)))
                continue
            kinds = findings(entry)
            if kinds:
                result.append(Finding(path, number, tuple(sorted(set(kinds)))))
    return result


@dataclass
class LogAudit:
    """The run's audit file, its handler, and what the scan found."""

    path: Path
    handler: logging.Handler
    lines: int = 0
    found: list[Finding] = field(default_factory=list)
    saved_levels: dict[str, int] = field(default_factory=dict)


_AUDIT = pytest.StashKey[LogAudit]()


class _AuditHandler(logging.FileHandler):
    """The audit's file: JSON lines through the production formatter, whatever a test's
    ``configure_logging`` (``mhi`` run in process) later sets on the root's handlers."""

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        """The first formatter stays."""
        if self.formatter is None:
            super().setFormatter(fmt)


def audit_of(config: pytest.Config) -> LogAudit:
    """The run's audit (tests may read where it writes)."""
    return config.stash[_AUDIT]


def pytest_configure(config: pytest.Config) -> None:
    """Start writing every record of the run into the audit file."""
    named = os.environ.get("MHI_LOG_AUDIT_FILE")
    path = Path(named) if named else Path(tempfile.mkdtemp(prefix="mhi-log-audit-")) / "run.jsonl"
    handler = _AuditHandler(path, encoding="utf-8")
    handler.setFormatter(JsonLogFormatter())
    handler.addFilter(RequestContext())
    logging.getLogger().addHandler(handler)
    audit = LogAudit(path, handler)
    for name in PRODUCTION_INFO:
        logger = logging.getLogger(name)
        audit.saved_levels[name] = logger.level
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)
    config.stash[_AUDIT] = audit


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Read every line back; any finding fails the run."""
    audit = session.config.stash.get(_AUDIT, None)
    if audit is None:
        return
    logging.getLogger().removeHandler(audit.handler)
    audit.handler.close()
    for name, level in audit.saved_levels.items():
        logging.getLogger(name).setLevel(level)
    with audit.path.open(encoding="utf-8") as lines:
        audit.lines = sum(1 for _ in lines)
    audit.found = scan(audit.path, strict=True)
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None:
        base = factory.getbasetemp()
        for log_file in sorted(base.rglob("*.log")):
            audit.found += scan(log_file, strict=False)
    if audit.found:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say how many lines were searched, and every finding."""
    audit = config.stash.get(_AUDIT, None)
    if audit is None:
        return
    if audit.found:
        terminalreporter.section("personal data in log lines", red=True)
        for finding in audit.found[:50]:
            terminalreporter.line(f"{finding.path}:{finding.line}: {', '.join(finding.kinds)}")
        terminalreporter.line(f"{len(audit.found)} line(s) with personal data; every record "
                              f"of the run is in {audit.path}")
    else:
        terminalreporter.line(f"log audit: {audit.lines} JSON log lines, no personal data "
                              f"({audit.path})")
