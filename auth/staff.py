"""Registry-desk staff: accounts, sign-in, the patient's consent and onboarding codes.

A desk worker belongs to one clinic and signs in with a password (argon2id).  To help a
patient they need the patient's consent: the patient's app shows a consent code (8
characters, 10 minutes, single use), the worker types it, and that opens a window of 15
minutes on that patient alone, for onboarding help only (status, devices, an onboarding
code).  An onboarding code (12 characters, QR alphanumeric, 10 minutes, single use) is only
half of a sign-in on a new phone: redeeming it sends a one-time code by SMS to the phone on
record, and only that code, typed into the app, gives a session.  The desk alone never holds
a session of the patient.

Wrong passwords are counted per client address with the name, per client address, and per
name from everywhere (a high ceiling against distributed guessing), and only failures count:
a stranger's wrong passwords elsewhere do not lock the worker out.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auth import throttle
from auth.errors import Refused
from auth.keyring import utcnow
from auth.login import Challenge, CitizenLogin, no_phone
from auth.secrets import Secrets, group, normalize_code, random_code
from auth.sessions import Device, Sessions, Tokens
from auth.settings import AuthSettings
from auth.tokens import Audience

CONSENT_CODE_LENGTH = 8
ONBOARDING_CODE_LENGTH = 12
ONBOARDING_PREFIX = "MHI1"  # QR payload: MHI1<code>, uppercase alphanumerics only
MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()
# Verified when the name is unknown, so that a wrong name costs what a wrong password does.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


@dataclass(frozen=True)
class StaffMember:
    """A desk worker's account, without the password."""

    id: uuid.UUID
    username: str
    display_name: str
    provider_id: uuid.UUID
    provider_name: str
    active: bool


@dataclass(frozen=True)
class Code:
    """A code to show or read aloud, grouped in fours, and when it expires."""

    code: str
    expires_at: datetime


@dataclass(frozen=True)
class Window:
    """Consent to help one patient: who, for whom, until when."""

    id: uuid.UUID
    staff_id: uuid.UUID
    provider_id: uuid.UUID
    person_id: uuid.UUID
    opened_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Helper:
    """The desk worker who made an onboarding code, for the patient's access log."""

    staff_id: uuid.UUID
    display_name: str
    provider_name: str
    window_id: uuid.UUID
    person_id: uuid.UUID


def _password_matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _window_closed() -> Refused:
    return Refused("WINDOW_CLOSED", "This patient's consent has ended; ask for a new consent "
                   "code.", "windowId")


class Desk:
    """Staff accounts and everything a desk worker does with a patient's consent."""

    def __init__(self, engine: AsyncEngine, secrets_: Secrets, settings: AuthSettings,
                 sessions: Sessions, login: CitizenLogin,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._secrets = secrets_
        self._settings = settings
        self._sessions = sessions
        self._login = login
        self._clock = clock

    # -- accounts (the admin CLI) ---------------------------------------------------------

    async def create_staff(self, username: str, display_name: str, password: str,
                           provider_id: uuid.UUID, provider_name: str) -> StaffMember:
        """A new active account (the name is stored in lower case)."""
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        member = StaffMember(uuid.uuid4(), username.strip().lower(), display_name.strip(),
                             provider_id, provider_name, True)
        async with self._engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO auth.staff_account (id, username, display_name, provider_id, "
                "provider_name, password_hash) VALUES (:id, :username, :display, :provider, "
                ":provider_name, :hash)"),
                {"id": member.id, "username": member.username, "display": member.display_name,
                 "provider": provider_id, "provider_name": provider_name,
                 "hash": await asyncio.to_thread(_hasher.hash, password)})
        return member

    async def deactivate(self, username: str) -> bool:
        """Stop an account from signing in, and end its sessions."""
        async with self._engine.begin() as conn:
            row = (await conn.execute(text(
                "UPDATE auth.staff_account SET active = false WHERE username = :u RETURNING id"),
                {"u": username.strip().lower()})).first()
            if row is None:
                return False
            await conn.execute(text(
                "UPDATE auth.session_family SET revoked_at = now(), revoked_reason = "
                "'account deactivated' WHERE subject = :s AND audience = 'desk' "
                "AND revoked_at IS NULL"), {"s": str(row[0])})
            return True

    async def member(self, conn: AsyncConnection, staff_id: uuid.UUID) -> StaffMember | None:
        """The account with this id."""
        row = (await conn.execute(text(
            "SELECT id, username, display_name, provider_id, provider_name, active "
            "FROM auth.staff_account WHERE id = :id"), {"id": staff_id})).first()
        return None if row is None else StaffMember(*row)

    # -- signing in -----------------------------------------------------------------------

    async def sign_in(self, username: str, password: str, device: Device,
                      client_address: str) -> Tokens:
        """Desk tokens for the right name and password; the same refusal for any mistake."""
        name = username.strip().lower()
        buckets = self._sign_in_buckets(name, client_address)
        await throttle.reserve(self._engine, buckets)
        async with self._engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT id, provider_id, password_hash, active, display_name, provider_name "
                "FROM auth.staff_account WHERE username = :u"), {"u": name})).first()
        stored = row[2] if row is not None else _DUMMY_HASH
        if not await asyncio.to_thread(_password_matches, stored, password) \
                or row is None or not row[3]:
            raise Refused("WRONG_CREDENTIALS", "The name or the password is not right.",
                          "password")
        await throttle.release(self._engine, buckets)
        claims = {"org": str(row[1]), "name": row[4], "org_name": row[5]}
        async with self._engine.begin() as conn:
            return await self._sessions.start(conn, Audience.DESK, str(row[0]), device,
                                              "password", claims)

    def _sign_in_buckets(self, name: str, client_address: str) -> list[throttle.Bucket]:
        s = self._settings
        window = s.staff_sign_ins_window_seconds
        address = self._secrets.digest("ip", client_address).hex()[:32]
        source = self._secrets.digest("staff", f"{client_address}|{name}").hex()[:32]
        account = self._secrets.digest("staff", name).hex()[:32]
        return [(f"staff-fail:src:{source}", throttle.Limit(s.staff_failures_per_source, window)),
                (f"staff-fail:ip:{address}", throttle.Limit(s.staff_failures_per_address, window)),
                (f"staff-fail:name:{account}", throttle.Limit(s.staff_failures_per_name, window))]

    # -- consent --------------------------------------------------------------------------

    async def consent_code(self, person_id: uuid.UUID) -> Code:
        """A new consent code for the patient to show a desk worker (older ones stay valid)."""
        code = random_code(CONSENT_CODE_LENGTH)
        expires = self._clock() + timedelta(seconds=self._settings.consent_code_ttl_seconds)
        async with self._engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO auth.consent_code (code_hash, person_id, expires_at) "
                "VALUES (:hash, :person, :expires)"),
                {"hash": self._secrets.digest("consent", code), "person": person_id,
                 "expires": expires})
        return Code(group(code), expires)

    async def open_window(self, staff_id: uuid.UUID, provider_id: uuid.UUID,
                          consent_code: str) -> Window:
        """Use a patient's consent code: a 15-minute window on that patient for this worker."""
        s = self._settings
        bucket = f"consent:staff:{staff_id}"
        limit = throttle.Limit(s.consent_failures_per_staff, s.consent_failures_window_seconds)
        await throttle.check(self._engine, bucket, limit)
        now = self._clock()
        digest = self._secrets.digest("consent", normalize_code(consent_code))
        async with self._engine.begin() as conn:
            person = (await conn.execute(text(
                "UPDATE auth.consent_code SET used_at = :now WHERE code_hash = :hash "
                "AND used_at IS NULL AND expires_at > :now RETURNING person_id"),
                {"hash": digest, "now": now})).scalar()
            if person is not None:
                window = Window(uuid.uuid4(), staff_id, provider_id, person, now,
                                now + timedelta(seconds=s.consent_window_seconds))
                await conn.execute(text(
                    "INSERT INTO auth.consent_window (id, staff_id, provider_id, person_id, "
                    "opened_at, expires_at) VALUES (:id, :staff, :provider, :person, :opened, "
                    ":expires)"),
                    {"id": window.id, "staff": staff_id, "provider": provider_id,
                     "person": person, "opened": now, "expires": window.expires_at})
                return window
        await throttle.hit(self._engine, bucket, limit)  # only failures count
        raise Refused("WRONG_CODE", "This consent code is not valid; ask the patient to show "
                      "a new one.", "consentCode")

    async def window(self, staff_id: uuid.UUID, window_id: uuid.UUID) -> Window:
        """The open window ``window_id`` of this worker; ``WINDOW_CLOSED`` otherwise."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT id, staff_id, provider_id, person_id, opened_at, expires_at "
                "FROM auth.consent_window WHERE id = :id AND staff_id = :staff"),
                {"id": window_id, "staff": staff_id})).first()
        if row is None or row[5] <= self._clock():
            raise _window_closed()
        return Window(*row)

    async def open_windows(self, staff_id: uuid.UUID) -> list[Window]:
        """This worker's windows that are still open, newest first."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT id, staff_id, provider_id, person_id, opened_at, expires_at "
                "FROM auth.consent_window WHERE staff_id = :staff AND expires_at > :now "
                "ORDER BY opened_at DESC"), {"staff": staff_id, "now": self._clock()})).all()
        return [Window(*row) for row in rows]

    # -- onboarding -----------------------------------------------------------------------

    async def onboarding_code(self, staff_id: uuid.UUID, window_id: uuid.UUID) -> Code:
        """A one-time code that starts signing the window's patient in on a new phone (the
        patient finishes with the SMS code sent to the phone on record)."""
        code = random_code(ONBOARDING_CODE_LENGTH)
        expires = self._clock() + timedelta(seconds=self._settings.onboarding_code_ttl_seconds)
        window = await self.window(staff_id, window_id)
        if not await self._login.has_phone(window.person_id):
            raise no_phone()
        async with self._engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO auth.onboarding_code (code_hash, person_id, window_id, expires_at) "
                "VALUES (:hash, :person, :window, :expires)"),
                {"hash": self._secrets.digest("onboarding", code), "person": window.person_id,
                 "window": window.id, "expires": expires})
        return Code(group(code), expires)

    async def redeem_onboarding(self, code: str, client_address: str) -> Challenge:
        """Use an onboarding code (once): a sign-in challenge whose code goes by SMS to the
        patient's phone on record.  ``signIn`` with that code gives the session."""
        s = self._settings
        await throttle.hit(self._engine,
                           f"onboard:ip:{self._secrets.digest('ip', client_address).hex()[:32]}",
                           throttle.Limit(s.verifies_per_ip, s.verifies_per_ip_window_seconds))
        raw = code.strip().upper()
        if raw.startswith(ONBOARDING_PREFIX) and len(raw) > ONBOARDING_CODE_LENGTH:
            raw = raw[len(ONBOARDING_PREFIX):]  # the QR form; before O/I/L are read as digits
        typed = normalize_code(raw)
        now = self._clock()
        code_hash = self._secrets.digest("onboarding", typed)
        async with self._engine.begin() as conn:  # used, and committed, before any SMS goes
            row = (await conn.execute(text(
                "UPDATE auth.onboarding_code SET used_at = :now WHERE code_hash = :hash "
                "AND used_at IS NULL AND expires_at > :now RETURNING person_id, window_id"),
                {"hash": code_hash, "now": now})).first()
        if row is None:
            raise Refused("WRONG_CODE", "This code is not valid or has expired; ask the "
                          "desk for a new one.", "code")
        try:
            return await self._login.confirm(row[0], row[1])
        except Refused:  # no phone on record any more: the code may be used again later
            async with self._engine.begin() as conn:
                await conn.execute(text(
                    "UPDATE auth.onboarding_code SET used_at = NULL WHERE code_hash = :hash"),
                    {"hash": code_hash})
            raise

    async def helper(self, window_id: uuid.UUID) -> Helper | None:
        """Who made the onboarding code of ``window_id`` (for the patient's access log)."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT s.id, s.display_name, s.provider_name, w.id, w.person_id "
                "FROM auth.consent_window w "
                "JOIN auth.staff_account s ON s.id = w.staff_id WHERE w.id = :id"),
                {"id": window_id})).first()
        return None if row is None else Helper(*row)
