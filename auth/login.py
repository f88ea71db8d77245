"""Citizen sign-in: IIN and phone number, then a 6-digit one-time code by SMS.

Whether an IIN exists never shows: details that match no one get the same answer, the same
statements and the same hashing as details that match; only the SMS is not sent (sending
happens after the answer, in the background, so the gateway's delay shows nowhere).  The
challenge made for them can never succeed.

A code is stored as its HMAC, bound to its challenge; it expires after 5 minutes and allows
5 attempts.  Throttles protect the person, not the attacker: every budget that refuses is
counted per requester (the client address, alone or with the *subject*, the digest of the
IIN with the phone typed), so nobody's requests use up someone else's.  Two budgets are per
subject alone:

- SMS per subject per day: over it no SMS goes, and the new challenge takes the code already
  sent (the newest one still valid), so whoever holds that code still signs in; attempts on
  it count on the code's own challenge, so a code allows 5 attempts in all.  One address
  asking 3 times every 15 minutes reaches it within an hour: a stranger can stop the day's
  texts (not the sign-in with a code already sent), the accepted cost of a daily ceiling;
- wrong codes per subject from every address per hour: against distributed guessing, far
  above what one person types (a guesser spread over many addresses can reach it and hold
  the owner until the hour ends: the accepted cost, see docs/identity.md).

A challenge can also confirm a registry-desk onboarding code (``confirm``): the code goes by
SMS to the phone on record, so the desk alone never gets a session.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth import throttle
from auth.errors import RateLimited, Refused
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
    """How ``auth`` finds people (``backend`` provides it; ``auth`` owns no people)."""

    async def phone_of(self, iin: str) -> tuple[uuid.UUID, str | None] | None:
        """The person's id and phone number on record, or None."""

    async def contact_of(self, person_id: uuid.UUID) -> tuple[str, str | None] | None:
        """The person's IIN and phone number on record, or None."""


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


def iin_of(value: str) -> str:
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
        self.directory = directory
        self._gateway = gateway
        self._sessions = sessions
        self._clock = clock
        self._sending: set[asyncio.Task[None]] = set()

    async def request_code(self, iin: str, phone: str, client_address: str) -> Challenge:
        """Send a code if IIN and phone match a person; answer alike either way."""
        s = self._settings
        valid_iin, valid_phone = iin_of(iin), normalize_phone(phone)
        subject = self._subject(valid_iin, valid_phone)
        async with self._engine.begin() as conn:
            await throttle.hit(conn, f"otp-send:ip:{self._hash('ip', client_address)}",
                               throttle.Limit(s.otp_sends_per_ip,
                                              s.otp_sends_per_ip_window_seconds))
            # Per subject *from this address*: others' requests never use up the owner's.
            await throttle.hit(conn, f"otp-send:iin:{self._source(client_address, subject)}",
                               throttle.Limit(s.otp_sends_per_iin,
                                              s.otp_sends_per_iin_window_seconds))
        found = await self.directory.phone_of(valid_iin)
        # Both paths compare (constant time, as bytes); only a phone on record can match.
        on_record = found[1] if found is not None and found[1] is not None else "+70000000000"
        same = hmac.compare_digest(on_record.encode(), valid_phone.encode())
        person = found[0] if same and found is not None and found[1] is not None else None
        return await self._issue(subject, person, valid_phone, None)

    async def confirm(self, person_id: uuid.UUID, window_id: uuid.UUID) -> Challenge:
        """A challenge whose code goes to ``person_id``'s phone on record, to finish a desk
        onboarding: signing in with it starts a session ``desk onboarding``.

        ``Refused("NO_PHONE_ON_RECORD")`` when there is no phone to send it to.
        """
        contact = await self.directory.contact_of(person_id)
        if contact is None or contact[1] is None:
            raise no_phone()
        iin, phone = contact[0], contact[1]
        return await self._issue(self._subject(iin, phone), person_id, phone, window_id)

    async def has_phone(self, person_id: uuid.UUID) -> bool:
        """Whether a confirmation could be sent to ``person_id``."""
        contact = await self.directory.contact_of(person_id)
        return contact is not None and contact[1] is not None

    async def _issue(self, subject: bytes, person: uuid.UUID | None, phone: str,
                     window: uuid.UUID | None) -> Challenge:
        """Store a challenge and send its code, or (over the SMS ceiling) point it at the
        code already sent; the same statements whether or not ``person`` is known."""
        s = self._settings
        challenge = uuid.uuid4()
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        now = self._clock()
        expires = now + timedelta(seconds=s.otp_ttl_seconds)
        async with self._engine.begin() as conn:
            code_of = None
            try:
                await throttle.hit(conn, f"otp-sms:{subject.hex()[:32]}", throttle.Limit(
                    s.otp_sms_per_subject, s.otp_sms_window_seconds))
                over = False
            except RateLimited:
                over = True
                # The challenge that holds the code already sent; for details that match no
                # one, their own newest challenge (which can never succeed), so that the
                # statements here and when verifying are the same either way.
                live = (await conn.execute(_LIVE, {"subject": subject, "now": now,
                                                   "max": s.otp_max_attempts})).first()
                code_of, person = (live[0], live[1]) if live is not None else (None, None)
            await conn.execute(_INSERT, {
                "id": challenge, "person": person,
                "hash": self._secrets.digest("otp", f"{challenge}:{code}"),
                "expires": expires, "subject": subject, "code_of": code_of, "window": window})
        if person is not None and not over:
            self._send_later(phone, code)
        return Challenge(challenge, expires)

    def _subject(self, iin: str, phone: str) -> bytes:
        return self._secrets.digest("iin", iin + phone)

    def _hash(self, purpose: str, value: str) -> str:
        return self._secrets.digest(purpose, value).hex()[:32]

    def _source(self, client_address: str, subject: bytes) -> str:
        return self._hash("ip-subject", f"{client_address}|{subject.hex()}")

    def _guess_buckets(self, subject: bytes, client_address: str) -> list[throttle.Bucket]:
        s = self._settings
        window = s.otp_failures_window_seconds
        return [(f"otp-fail:src:{self._source(client_address, subject)}",
                 throttle.Limit(s.otp_failures_per_source, window)),
                (f"otp-fail:iin:{subject.hex()[:32]}",
                 throttle.Limit(s.otp_failures_per_iin, window))]

    def _send_later(self, phone: str, code: str) -> None:
        minutes = self._settings.otp_ttl_seconds // 60
        self.send_later(phone, f"MHI: {code} — кіру коды / код для входа / sign-in code. "
                        f"{minutes} min. Ешкімге айтпаңыз / никому не сообщайте / tell no one.")

    def send_later(self, phone: str, message: str) -> None:
        """Hand ``message`` to the gateway after the answer (its delay shows nowhere); a
        failure is logged without the number or the text."""
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
        row = await self._attempt(challenge, client_address)
        if row is None:
            raise _wrong_code(0)
        if row.attempts > s.otp_max_attempts:
            raise _exhausted()
        bound, code_hash, expires_at = row.bound, row.code_hash, row.expires_at
        if expires_at <= self._clock():
            raise Refused("CODE_EXPIRED", "The code has expired; ask for a new one.", "code")
        typed = "".join(ch for ch in code if ch.isdigit())
        right = self._secrets.matches("otp", f"{bound}:{typed}", code_hash)
        if not right or row.person_id is None:
            if row.attempts >= s.otp_max_attempts:
                raise _exhausted()
            raise _wrong_code(s.otp_max_attempts - row.attempts)
        async with self._engine.begin() as conn:  # the code works once, whichever challenge
            used = (await conn.execute(_CONSUME, {"ids": [challenge, bound]})).all()
            if len(used) != len({challenge, bound}):
                raise _wrong_code(0)  # used at the same moment (rolled back)
            tokens = await self._sessions.start(
                conn, Audience.MOBILE, str(row.person_id), device,
                "desk onboarding" if row.window_id is not None else "sms")
            if row.window_id is not None:
                await conn.execute(_STARTED, {"id": challenge, "session": tokens.session_id})
        if row.subject_key is not None:  # a right code is no failure: give the count back
            await throttle.release(self._engine, self._guess_buckets(
                bytes(row.subject_key), client_address))
        return replace(tokens, window_id=row.window_id)

    async def _attempt(self, challenge: uuid.UUID, client_address: str) -> _Attempt | None:
        """Count the attempt on the challenge and in the subject's budgets (it counts even
        when it fails; a right code gives the budgets back), unless a budget is already full
        (then ``RateLimited``, nothing counted).

        A challenge made over the SMS ceiling takes the code of another (``code_of``); the
        attempt counts on that one too, so a code allows 5 attempts however many challenges
        point at it.
        """
        async with self._engine.begin() as conn:  # raising rolls the attempt back
            row = (await conn.execute(_ATTEMPT, {"id": challenge})).first()
            if row is None:
                return None
            if row.subject_key is not None:
                await throttle.reserve(conn, self._guess_buckets(
                    bytes(row.subject_key), client_address))
            if row.code_of is None:
                return _Attempt(row.person_id, challenge, row.code_hash, row.expires_at,
                                row.attempts, row.subject_key, row.window_id)
            target = (await conn.execute(_ATTEMPT, {"id": row.code_of})).first()
        if target is None:  # used meanwhile: nothing can match
            return _Attempt(row.person_id, row.code_of, b"", row.expires_at, row.attempts,
                            row.subject_key, row.window_id)
        return _Attempt(row.person_id, row.code_of, target.code_hash,
                        min(row.expires_at, target.expires_at),
                        max(row.attempts, target.attempts), row.subject_key, row.window_id)


@dataclass(frozen=True)
class _Attempt:
    """One counted attempt: whose, which challenge's code to compare (``bound``), and the
    counts that decide the answer."""

    person_id: uuid.UUID | None
    bound: uuid.UUID
    code_hash: bytes
    expires_at: datetime
    attempts: int
    subject_key: bytes | None
    window_id: uuid.UUID | None


_INSERT = text(
    "INSERT INTO auth.login_challenge (id, person_id, code_hash, expires_at, subject_key, "
    "code_of, window_id) VALUES (:id, :person, :hash, :expires, :subject, :code_of, :window)")
# The newest code made for this subject that may still sign in (over the SMS ceiling, a new
# challenge takes it instead of a new SMS).
_LIVE = text(
    "SELECT id, person_id FROM auth.login_challenge WHERE subject_key = :subject "
    "AND code_of IS NULL AND consumed_at IS NULL "
    "AND expires_at > :now AND attempts < :max ORDER BY created_at DESC LIMIT 1")
_ATTEMPT = text(
    "UPDATE auth.login_challenge SET attempts = attempts + 1 "
    "WHERE id = :id AND consumed_at IS NULL "
    "RETURNING person_id, code_hash, expires_at, attempts, subject_key, code_of, window_id")
_STARTED = text("UPDATE auth.login_challenge SET session_id = :session WHERE id = :id")
_CONSUME = text(
    "UPDATE auth.login_challenge SET consumed_at = now() "
    "WHERE id = ANY(:ids) AND consumed_at IS NULL RETURNING id")


def no_phone() -> Refused:
    """The patient has no phone on record to confirm an onboarding with."""
    return Refused("NO_PHONE_ON_RECORD", "There is no phone number on record to send the "
                   "confirmation code to.", "code")


def _wrong_code(attempts_left: int) -> Refused:
    return Refused("WRONG_CODE", "The code is not right.", "code", attempts_left)


def _exhausted() -> Refused:
    return Refused("CODE_ATTEMPTS_EXHAUSTED", "Too many wrong codes; ask for a new one.", "code")
