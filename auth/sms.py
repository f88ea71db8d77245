"""Sending SMS (sign-in and consent codes, critical notices): the gateway interface and the
development sink.

Production plugs a real operator's gateway in behind ``SmsGateway``; nothing else changes.
The development sink appends each message to a JSON-lines file (``AUTH_DEV_SMS_FILE``) that
``mhi sms`` and the ``/dev/sms`` page show: the code never goes to a log, in any environment.

``send`` returns the operator's id of the message (or None when it gives none) and raises
``SmsError`` saying what a failure means: whether trying again may succeed (``retry``) and
whether the operator may have taken the message anyway (``maybe_sent``: the answer was lost,
so sending again could send twice).  Any other exception counts as ``maybe_sent``.

A gateway that can tell what became of a message also offers ``SmsDeliveryReports``
(``delivery_states``): the notifications worker asks it, in batches, about the messages it
sent.  Every gateway here offers both; the operator's adapter is ``auth.sms_mobizon``.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal, Protocol, runtime_checkable


@dataclass(frozen=True)
class Sms:
    """One text message to one phone number (E.164)."""

    phone: str
    text: str
    sent_at: str


class SmsError(Exception):
    """The gateway did not take a message.

    ``code`` is short and holds no personal data (it may be logged and stored): the
    operator's error code or a transport failure's name.  ``retry``: a later try may succeed
    (the operator is down, throttled); otherwise the message or the number is wrong, or the
    account is.  ``maybe_sent``: the request left and no answer came.  ``retry_after``: the
    operator asked for this many seconds of rest."""

    def __init__(self, code: str, *, retry: bool, maybe_sent: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.retry = retry
        self.maybe_sent = maybe_sent
        self.retry_after = retry_after


class SmsGateway(Protocol):
    """Where text messages go."""

    async def send(self, phone: str, text: str) -> str | None:
        """Deliver ``text`` to ``phone`` (E.164); the operator's message id, if it gives one.
        Raises ``SmsError`` (or anything else, read as maybe sent) on failure; callers log
        without the number or the text."""


DeliveryState = Literal["delivered", "undelivered", "pending"]
"""What became of a message: ``delivered`` and ``undelivered`` are final, ``pending`` is not
(queued, with the carrier, or only some of its parts delivered)."""
DELIVERY_STATES: Final[tuple[DeliveryState, ...]] = ("delivered", "undelivered", "pending")


@runtime_checkable
class SmsDeliveryReports(Protocol):
    """A gateway that can say what became of the messages it took."""

    async def delivery_states(self, message_ids: Sequence[str]) -> dict[str, str]:
        """``'delivered'`` | ``'undelivered'`` | ``'pending'`` per id the operator knows (ids
        it does not know are left out).  Raises ``SmsError`` when the operator cannot be
        asked now (``retry``) or refuses (not ``retry``)."""


class DevSmsSink:
    """Development gateway: messages go to a local file (mode 0600), newest last."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, phone: str, text: str) -> str | None:
        """Append the message to the file; its id is made up here."""
        line = json.dumps(asdict(Sms(phone, text, datetime.now(UTC).isoformat())),
                          ensure_ascii=False)
        await asyncio.to_thread(self._append, line)
        return f"dev-{secrets.token_hex(8)}"

    async def delivery_states(self, message_ids: Sequence[str]) -> dict[str, str]:
        """The sink's own messages (ids ``dev-…``) count as delivered once written; any other
        id is not its own and is left out."""
        return {known: "delivered" for known in message_ids if known.startswith("dev-")}

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

    async def send(self, phone: str, text: str) -> str | None:
        """Always fails (and never sends)."""
        raise SmsError("NO_GATEWAY", retry=False)

    async def delivery_states(self, message_ids: Sequence[str]) -> dict[str, str]:
        """Knows no message: it never took one."""
        return {}
