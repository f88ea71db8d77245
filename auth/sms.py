"""Sending one-time codes by SMS: the gateway interface and the development sink.

Production plugs a real operator's gateway in behind ``SmsGateway``; nothing else changes.
The development sink appends each message to a JSON-lines file (``AUTH_DEV_SMS_FILE``) that
``mhi sms`` and the ``/dev/sms`` page show: the code never goes to a log, in any environment.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Sms:
    """One text message to one phone number (E.164)."""

    phone: str
    text: str
    sent_at: str


class SmsGateway(Protocol):
    """Where one-time codes go."""

    async def send(self, phone: str, text: str) -> None:
        """Deliver ``text`` to ``phone`` (raise on failure; the caller logs without details)."""


class DevSmsSink:
    """Development gateway: messages go to a local file (mode 0600), newest last."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, phone: str, text: str) -> None:
        """Append the message to the file."""
        line = json.dumps(asdict(Sms(phone, text, datetime.now(UTC).isoformat())),
                          ensure_ascii=False)
        await asyncio.to_thread(self._append, line)

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def recent(self, count: int = 20) -> list[Sms]:
        """The last ``count`` messages, newest first."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as handle:
            lines = deque(handle, maxlen=count)
        return [Sms(**json.loads(line)) for line in reversed(lines)]


class DisabledGateway:
    """No gateway configured: sending fails (production must configure a real one)."""

    async def send(self, phone: str, text: str) -> None:
        """Always fails."""
        raise RuntimeError("no SMS gateway is configured")
