"""Citizen sign-in: IIN and phone number, then a 6-digit one-time code by SMS.

Whether an IIN exists never shows: details that match no one get the same answer, the same
statements and the same hashing as details that match; only the SMS is not sent (sending
happens after the answer, in the background, so the gateway's delay shows nowhere).  The
challenge made for them can never succeed.

A code is stored as its HMAC, bound to its challenge; it expires after 5 minutes and allows
5 attempts.  Code requests are throttled per IIN (by digest) and per client address, and
verifications per address, with ``RateLimited`` and the seconds to wait.  The IIN bucket is
the digest of the IIN together with the phone typed, so that someone who knows a person's IIN
but not their phone cannot lock them out of signing in.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth import throttle
from auth.errors import Refused
from auth.identifiers import InvalidIdentifier, validate_iin
from auth.keyring import utcnow
from auth.secrets import Secrets
from auth.sessions import Device, Sessions, Tokens
from auth.settings import AuthSettings
from auth.sms import SmsGateway
from auth.tokens import Audience

log = logging.getLogger(__name__)

_PHONE = re.compile(r"\+7[0-9]{10}")
CODE_DIGITS = 6


class PersonDirectory(Protocol):
    """How ``auth`` finds a person by IIN (``backend`` provides it; ``auth`` owns no people)."""

    async def phone_of(self, iin: str) -> tuple[uuid.UUID, str | None] | None:
        """The person's id and phone number on record, or None."""


@dataclass(frozen=True)
class Challenge:
    """What the app gets back from asking for a code (the same whether or not one was sent)."""

    id: uuid.UUID
    expires_at: datetime
    code_length: int = CODE_DIGITS


def normalize_phone(value: str) -> str:
    """``+7XXXXXXXXXX`` from what a person types (8 7XX…, 7XX…, spaces, dashes, brackets)."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) == 11 and digits[0] in "78":
        digits = digits[1:]
    phone = f"+7{digits}"
    if _PHONE.fullmatch(phone) is None:
        raise Refused("PHONE_INVALID", "The phone number must be a Kazakhstan number, "
                      "+7 and 10 digits.", "phone")
    return phone


def _iin(value: str) -> str:
    try:
        return validate_iin(value)
    except InvalidIdentifier as exc:
        raise Refused("IIN_INVALID", exc.message, "iin") from None


class CitizenLogin:
    """The two steps of signing in by code, and their throttles."""

    def __init__(self, engine: AsyncEngine, secrets_: Secrets, settings: AuthSettings,
                 directory: PersonDirectory, gateway: SmsGateway, sessions: Sessions,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._secrets = secrets_
        self._settings = settings
        self._directory = directory
        self._gateway = gateway
        self._sessions = sessions
        self._clock = clock
        self._sending: set[asyncio.Task[None]] = set()

    async def request_code(self, iin: str, phone: str, client_address: str) -> Challenge:
        """Send a code if IIN and phone match a person; answer alike either way."""
        s = self._settings
        valid_iin, valid_phone = _iin(iin), normalize_phone(phone)
        async with self._engine.begin() as conn:
            await throttle.hit(conn, f"otp-send:ip:{self._hash('ip', client_address)}",
                               throttle.Limit(s.otp_sends_per_ip,
                                              s.otp_sends_per_ip_window_seconds))
            # Per IIN *with the phone typed*: a stranger who knows an IIN but not the phone
            # on record cannot use up its owner's requests (and locks out no one).
            await throttle.hit(conn, f"otp-send:iin:{self._hash('iin', valid_iin + valid_phone)}",
                               throttle.Limit(s.otp_sends_per_iin,
                                              s.otp_sends_per_iin_window_seconds))
        found = await self._directory.phone_of(valid_iin)
        # Both paths compare (constant time, as bytes); only a phone on record can match.
        on_record = found[1] if found is not None and found[1] is not None else "+70000000000"
        same = hmac.compare_digest(on_record.encode(), valid_phone.encode())
        matches = same and found is not None and found[1] is not None
        challenge = uuid.uuid4()
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        expires = self._clock() + timedelta(seconds=s.otp_ttl_seconds)
        async with self._engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO auth.login_challenge (id, person_id, code_hash, expires_at) "
                "VALUES (:id, :person, :hash, :expires)"),
                {"id": challenge, "person": found[0] if matches and found else None,
                 "hash": self._secrets.digest("otp", f"{challenge}:{code}"),
                 "expires": expires})
        if matches:
            self._send_later(valid_phone, code)
        return Challenge(challenge, expires)

    def _hash(self, purpose: str, value: str) -> str:
        return self._secrets.digest(purpose, value).hex()[:32]

    def _send_later(self, phone: str, code: str) -> None:
        minutes = self._settings.otp_ttl_seconds // 60
        message = (f"MHI: {code} — кіру коды / код для входа / sign-in code. "
                   f"{minutes} min. Ешкімге айтпаңыз / никому не сообщайте / tell no one.")
        task = asyncio.get_running_loop().create_task(self._send(phone, message))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, phone: str, message: str) -> None:
        try:
            await self._gateway.send(phone, message)
        except Exception:  # the person asks again; the details stay out of the log
            log.error("the SMS gateway failed to send a sign-in code")

    async def drain(self) -> None:
        """Wait until every code handed to the gateway has been sent (tests, shutdown)."""
        while self._sending:
            await asyncio.gather(*list(self._sending), return_exceptions=True)

    async def verify(self, challenge_id: str, code: str, device: Device,
                     client_address: str) -> Tokens:
        """Tokens for the person if ``code`` is right; a typed refusal otherwise."""
        s = self._settings
        await throttle.hit(self._engine, f"otp-verify:ip:{self._hash('ip', client_address)}",
                           throttle.Limit(s.verifies_per_ip, s.verifies_per_ip_window_seconds))
        try:
            challenge = uuid.UUID(challenge_id)
        except ValueError:
            raise _wrong_code(0) from None
        async with self._engine.begin() as conn:  # the attempt counts even when it fails
            row = (await conn.execute(text(
                "UPDATE auth.login_challenge SET attempts = attempts + 1 "
                "WHERE id = :id AND consumed_at IS NULL "
                "RETURNING person_id, code_hash, expires_at, attempts"),
                {"id": challenge})).first()
        if row is None:
            raise _wrong_code(0)
        person, code_hash, expires_at, attempts = row
        if attempts > s.otp_max_attempts:
            raise _exhausted()
        if expires_at <= self._clock():
            raise Refused("CODE_EXPIRED", "The code has expired; ask for a new one.", "code")
        typed = "".join(ch for ch in code if ch.isdigit())
        right = self._secrets.matches("otp", f"{challenge}:{typed}", code_hash)
        if not right or person is None:
            if attempts >= s.otp_max_attempts:
                raise _exhausted()
            raise _wrong_code(s.otp_max_attempts - attempts)
        async with self._engine.begin() as conn:
            consumed = (await conn.execute(text(
                "UPDATE auth.login_challenge SET consumed_at = now() "
                "WHERE id = :id AND consumed_at IS NULL RETURNING 1"), {"id": challenge})).first()
            if consumed is None:
                raise _wrong_code(0)
            return await self._sessions.start(conn, Audience.MOBILE, str(person), device, "sms")


def _wrong_code(attempts_left: int) -> Refused:
    return Refused("WRONG_CODE", "The code is not right.", "code", attempts_left)


def _exhausted() -> Refused:
    return Refused("CODE_ATTEMPTS_EXHAUSTED", "Too many wrong codes; ask for a new one.", "code")
