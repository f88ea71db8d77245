"""What counts as a server fault in the fuzz run, and how each distinct one is reported.

A fault is an HTTP 5xx or an error whose ``extensions.code`` is ``INTERNAL``.  Its signature is
the innermost frame of our own code in the server-side traceback (from the app's log, or from
the exception that escaped the ASGI app) with the exception's type.  Each signature raises its
own ``ServerFault`` subclass: Hypothesis tells bugs apart by exception type and place, so every
distinct fault is shrunk to its own minimal request and reported, not only the first one.
"""

from __future__ import annotations

import json
import logging
import os
import re
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.fuzz.request import FuzzRequest

ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]
OUR_CODE = re.compile(r'File "[^"]*/(?:backend|auth|notifications)/[^"]+", line \d+, in \S+')
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b(?::|$)")
FINDINGS_FILE = os.environ.get("FUZZ_FINDINGS")
"""Where to append the findings of a run (Markdown), when set; the test's failure lists them
either way."""


class ServerFault(AssertionError):
    """A 5xx or an ``INTERNAL`` error (subclassed once per signature)."""


_classes: dict[str, type[ServerFault]] = {}


def fault_class(signature: str) -> type[ServerFault]:
    """The one exception class of ``signature``."""
    if signature not in _classes:
        _classes[signature] = type(f"ServerFault{len(_classes)}", (ServerFault,), {})
    return _classes[signature]


class EscapedErrors:
    """An ASGI wrapper that keeps the traceback of whatever escapes the app (the 500 path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.tracebacks: list[str] = []

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception:
            self.tracebacks.append(traceback.format_exc())
            raise


def logged_tracebacks(records: list[logging.LogRecord]) -> list[str]:
    """The tracebacks (or messages) of the ERROR records of one request."""
    texts = []
    for record in records:
        if record.levelno < logging.ERROR:
            continue
        if record.exc_info and record.exc_info[1] is not None:
            texts.append(record.getMessage() + "\n"
                         + "".join(traceback.format_exception(*record.exc_info)))
        else:
            texts.append(record.getMessage())
    return texts


def signature(tracebacks: list[str], status: int, paths: list[str]) -> str:
    """The fault's identity: the exception type and our innermost frame (else the fields whose
    errors were INTERNAL, else the status)."""
    where = ",".join(paths) or f"HTTP {status}"
    for text in tracebacks:
        frames = OUR_CODE.findall(text)
        raised = [line for line in text.splitlines() if EXCEPTION_LINE.match(line)]
        kind = raised[-1].split(":")[0].rsplit(".", 1)[-1] if raised else "error"
        if frames:  # file and function: line numbers move while the code is edited
            return f"{kind} at " + re.sub(r", line \d+", "", frames[-1])
        if raised:
            return f"{kind} at {where}"
    return f"HTTP {status} at {','.join(paths) or 'request'}"


@dataclass
class Finding:
    """One distinct fault, with the last (after shrinking: the smallest) request that hit it."""

    signature: str
    kind: str
    status: int
    request: FuzzRequest
    tracebacks: list[str]


@dataclass
class Findings:
    """Every fault of the run, by signature."""

    seen: dict[str, Finding] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)

    def __repr__(self) -> str:
        return f"Findings({len(self.seen)} faults in {sum(self.statuses.values())} answers)"

    def count(self, status: int, body: Any) -> None:
        """Tally one answer (for the run's summary)."""
        self.statuses[status] += 1
        if status == 200 and not _errors(body):
            self.codes["(none: an answer without errors)"] += 1
        for error in _errors(body):
            self.codes[str((error.get("extensions") or {}).get("code"))] += 1

    def judge(self, kind: str, request: FuzzRequest, status: int, body: Any,
              tracebacks: list[str]) -> None:
        """Raise a ``ServerFault`` (of this signature's class) if the answer is a fault."""
        internal = [error for error in _errors(body)
                    if (error.get("extensions") or {}).get("code") == "INTERNAL"]
        if status < 500 and not internal:
            return
        paths = [".".join(map(str, error.get("path") or [])) for error in internal]
        key = signature(tracebacks, status, paths)
        self.seen[key] = Finding(key, kind, status, request, tracebacks)
        raise fault_class(key)(f"{key} (HTTP {status}, {len(internal)} INTERNAL) as {kind}")

    def write(self, label: str) -> None:
        """Append this test's tallies and findings to ``FUZZ_FINDINGS`` (when set)."""
        if FINDINGS_FILE is None:
            return
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        lines = [f"\n## {stamp} — {label}: {len(self.seen)} distinct fault(s)\n",
                 f"{sum(self.statuses.values())} requests; HTTP {dict(self.statuses)}; "
                 f"error codes {dict(self.codes.most_common())}\n"]
        for finding in self.seen.values():
            tail = "\n\n".join(_short(text) for text in finding.tracebacks[:2]) or (
                "(no server traceback)")
            request = json.dumps(finding.request.describe(), ensure_ascii=True, indent=2)
            lines += [f"### {finding.signature}", f"- credential: {finding.kind}",
                      f"- HTTP status: {finding.status}", "- request (smallest seen):",
                      "```json", request, "```", "- server traceback:", "```", tail, "```", ""]
        with Path(FINDINGS_FILE).open("a", encoding="utf-8") as out:
            out.write("\n".join(lines))


def _short(text: str) -> str:
    """A traceback cut to its first line, our own frames and its last lines."""
    lines = text.strip().splitlines()
    ours = [line.strip() for line in lines if OUR_CODE.search(line)]
    return "\n".join([lines[0], *(f"  {frame}" for frame in ours), "  ...", *lines[-8:]])


def _errors(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return []
    errors = body.get("errors")
    return [error for error in errors if isinstance(error, dict)] if isinstance(
        errors, list) else []


def parse(content: bytes) -> Any:
    """The JSON of an answer, or None when it is not JSON."""
    try:
        return json.loads(content)
    except ValueError:
        return None
