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
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auth import throttle
from auth.errors import Refused
from auth.keyring import utcnow
from auth.login import CODE_DIGITS, Challenge, CitizenLogin, iin_of, no_phone
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
    role: str = "worker"

    @property
    def is_admin(self) -> bool:
        """Whether this account manages its clinic's staff."""
        return self.role == "admin"


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
class ConsentSms:
    """A consent code sent by SMS: the challenge to answer, until when, and where it went
    (the phone with all but its last digits hidden)."""

    id: uuid.UUID
    expires_at: datetime
    masked_phone: str
    person_id: uuid.UUID


def mask_phone(phone: str) -> str:
    """``+7 ••• ••• •• 67``: enough for the patient to recognise their number."""
    return f"+7 ••• ••• •• {phone[-2:]}"


def consent_text(code: str, clinic: str) -> str:
    """The consent SMS in the three languages (the phone's language is not known)."""
    return (f"MHI: {code} — {clinic}. Тіркеу орнына көмек коды / код для помощи в "
            "регистратуре / code for the registry desk. Тек алдыңыздағы қызметкерге айтыңыз / "
            "сообщите только сотруднику перед вами / tell only the worker in front of you.")


class OnboardingStage(StrEnum):
    """The steps of signing a patient in on a new phone at the desk, in order."""

    CODE_SHOWN = "code_shown"
    CODE_EXPIRED = "code_expired"
    SCANNED = "scanned"
    SIGNED_IN = "signed_in"
    NOTIFICATIONS_ON = "notifications_on"


@dataclass(frozen=True)
class Onboarding:
    """How far the newest onboarding of a window has gone: the code made (and until when),
    redeemed in the app (``scanned_at``: the SMS went to the phone on record), confirmed with
    that SMS code (``signed_in_at``: the app has a session, ``session_id``)."""

    made_at: datetime
    expires_at: datetime
    scanned_at: datetime | None
    signed_in_at: datetime | None
    session_id: uuid.UUID | None
    device_name: str | None

    def stage(self, now: datetime, pushes: bool) -> OnboardingStage:
        """The furthest step reached (``pushes``: the app registered the phone for pushes
        since it signed in, which ``notifications`` knows)."""
        if self.signed_in_at is not None:
            return OnboardingStage.NOTIFICATIONS_ON if pushes else OnboardingStage.SIGNED_IN
        if self.scanned_at is not None:
            return OnboardingStage.SCANNED
        if self.expires_at <= now:
            return OnboardingStage.CODE_EXPIRED
        return OnboardingStage.CODE_SHOWN


@dataclass(frozen=True)
class Helper:
    """The desk worker who made an onboarding code, for the patient's access log."""

    staff_id: uuid.UUID
    display_name: str
    provider_name: str
    window_id: uuid.UUID
    person_id: uuid.UUID


MEMBER_COLUMNS = "id, username, display_name, provider_id, provider_name, active, role"
"""The columns of ``auth.staff_account`` that make a ``StaffMember``, in its order."""
COMMAND_LINE = "command line"
"""The actor named in the staff audit for changes made with ``mhi staff``."""


def check_password(password: str, username: str) -> None:
    """``ValueError`` with the reason when ``password`` is too weak to keep."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if username.strip().lower() in password.lower():
        raise ValueError("a password must not contain the username")


async def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (in a thread: it takes tens of milliseconds)."""
    return await asyncio.to_thread(_hasher.hash, password)


async def insert_account(conn: AsyncConnection, member: StaffMember,
                         password_hash: str | None) -> None:
    """Store a new account (``USERNAME_TAKEN`` is the caller's to catch as IntegrityError)."""
    await conn.execute(text(
        "INSERT INTO auth.staff_account (id, username, display_name, provider_id, "
        "provider_name, password_hash, role) VALUES (:id, :username, :display, :provider, "
        ":provider_name, :hash, :role)"),
        {"id": member.id, "username": member.username, "display": member.display_name,
         "provider": member.provider_id, "provider_name": member.provider_name,
         "hash": password_hash, "role": member.role})


async def end_sessions(conn: AsyncConnection, staff_id: uuid.UUID, reason: str) -> None:
    """End every session of the account: API token families and browser sessions."""
    await conn.execute(text(
        "UPDATE auth.session_family SET revoked_at = now(), revoked_reason = :reason "
        "WHERE subject = :s AND audience = 'desk' AND revoked_at IS NULL"),
        {"s": str(staff_id), "reason": reason})
    await conn.execute(text(
        "UPDATE auth.desk_session SET ended_at = now(), ended_reason = :reason "
        "WHERE staff_id = :s AND ended_at IS NULL"), {"s": staff_id, "reason": reason})


async def audit(conn: AsyncConnection, actor_id: uuid.UUID | None, actor_name: str,
                action: str, target: StaffMember) -> None:
    """One line in the clinic's staff audit, in the change's own transaction."""
    await conn.execute(text(
        "INSERT INTO auth.staff_audit (provider_id, actor_id, actor_name, action, target_id, "
        "target_username) VALUES (:provider, :actor, :name, :action, :target, :username)"),
        {"provider": target.provider_id, "actor": actor_id, "name": actor_name,
         "action": action, "target": target.id, "username": target.username})


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

    def now(self) -> datetime:
        """The time by the desk's clock (codes and windows expire by it)."""
        return self._clock()

    # -- accounts (the admin CLI) ---------------------------------------------------------

    async def create_staff(self, username: str, display_name: str, password: str,
                           provider_id: uuid.UUID, provider_name: str,
                           role: str = "worker") -> StaffMember:
        """A new active account (the name is stored in lower case), made from the command
        line: recorded in the clinic's staff audit with no administrator."""
        check_password(password, username)
        member = StaffMember(uuid.uuid4(), username.strip().lower(), display_name.strip(),
                             provider_id, provider_name, True, role)
        async with self._engine.begin() as conn:
            await insert_account(conn, member, await hash_password(password))
            await audit(conn, None, COMMAND_LINE, "created", member)
        return member

    async def deactivate(self, username: str) -> bool:
        """Stop an account from signing in, and end its sessions (the command line)."""
        async with self._engine.begin() as conn:
            row = (await conn.execute(text(
                "UPDATE auth.staff_account SET active = false WHERE username = :u "
                f"RETURNING {MEMBER_COLUMNS}"), {"u": username.strip().lower()})).first()
            if row is None:
                return False
            member = StaffMember(*row)
            await end_sessions(conn, member.id, "account deactivated")
            await audit(conn, None, COMMAND_LINE, "deactivated", member)
            return True

    async def member(self, conn: AsyncConnection, staff_id: uuid.UUID) -> StaffMember | None:
        """The account with this id."""
        row = (await conn.execute(text(
            f"SELECT {MEMBER_COLUMNS} FROM auth.staff_account WHERE id = :id"),
            {"id": staff_id})).first()
        return None if row is None else StaffMember(*row)

    # -- signing in -----------------------------------------------------------------------

    async def sign_in(self, username: str, password: str, device: Device,
                      client_address: str) -> Tokens:
        """Desk tokens for the right name and password; the same refusal for any mistake."""
        member = await self.authenticate(username, password, client_address)
        claims = {"org": str(member.provider_id), "name": member.display_name,
                  "org_name": member.provider_name}
        async with self._engine.begin() as conn:
            return await self._sessions.start(conn, Audience.DESK, str(member.id), device,
                                              "password", claims)

    async def authenticate(self, username: str, password: str,
                           client_address: str) -> StaffMember:
        """The active account with this name and password (the API's tokens and the
        console's browser sessions both start here); ``WRONG_CREDENTIALS`` for any mistake,
        after the same work, and the throttles of wrong passwords."""
        name = username.strip().lower()
        buckets = self._sign_in_buckets(name, client_address)
        await throttle.reserve(self._engine, buckets)
        async with self._engine.connect() as conn:
            row = (await conn.execute(text(
                f"SELECT {MEMBER_COLUMNS}, password_hash FROM auth.staff_account "
                "WHERE username = :u"), {"u": name})).first()
        stored = row[-1] if row is not None and row[-1] is not None else _DUMMY_HASH
        if not await asyncio.to_thread(_password_matches, stored, password) \
                or row is None or row[-1] is None or not row.active:
            raise Refused("WRONG_CREDENTIALS", "The name or the password is not right.",
                          "password")
        await throttle.release(self._engine, buckets)
        return StaffMember(*row[:-1])

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
        bucket, limit = self._consent_failures(staff_id)
        await throttle.check(self._engine, bucket, limit)
        now = self._clock()
        digest = self._secrets.digest("consent", normalize_code(consent_code))
        async with self._engine.begin() as conn:
            person = (await conn.execute(text(
                "UPDATE auth.consent_code SET used_at = :now WHERE code_hash = :hash "
                "AND used_at IS NULL AND expires_at > :now RETURNING person_id"),
                {"hash": digest, "now": now})).scalar()
            if person is not None:
                return await self._open(conn, staff_id, provider_id, person, now)
        await throttle.hit(self._engine, bucket, limit)  # only failures count
        raise Refused("WRONG_CODE", "This consent code is not valid; ask the patient to show "
                      "a new one.", "consentCode")

    def _consent_failures(self, staff_id: uuid.UUID) -> tuple[str, throttle.Limit]:
        s = self._settings
        return (f"consent:staff:{staff_id}",
                throttle.Limit(s.consent_failures_per_staff, s.consent_failures_window_seconds))

    async def _open(self, conn: AsyncConnection, staff_id: uuid.UUID, provider_id: uuid.UUID,
                    person: uuid.UUID, now: datetime) -> Window:
        window = Window(uuid.uuid4(), staff_id, provider_id, person, now,
                        now + timedelta(seconds=self._settings.consent_window_seconds))
        await conn.execute(text(
            "INSERT INTO auth.consent_window (id, staff_id, provider_id, person_id, "
            "opened_at, expires_at) VALUES (:id, :staff, :provider, :person, :opened, "
            ":expires)"),
            {"id": window.id, "staff": staff_id, "provider": provider_id,
             "person": person, "opened": now, "expires": window.expires_at})
        return window

    async def send_consent_sms(self, staff_id: uuid.UUID, clinic: str, iin: str) -> ConsentSms:
        """For a patient without the app: a 6-digit code by SMS to the phone on record for
        ``iin``, which the patient reads out to this worker (``open_window_by_sms``).

        ``IIN_INVALID`` for a wrong IIN, ``NO_PHONE_ON_RECORD`` when nobody with a phone has
        it (a signed-in worker learns whether the Fund knows a phone for an IIN: what the
        registry desk knows from the patient anyway), ``RATE_LIMITED`` past a worker's hourly
        or a patient's daily budget.
        """
        s = self._settings
        valid = iin_of(iin)
        await throttle.hit(self._engine, f"consent-sms:staff:{staff_id}",
                           throttle.Limit(s.consent_sms_per_staff, 3600))
        found = await self._login.directory.phone_of(valid)
        if found is None or found[1] is None:
            raise Refused("NO_PHONE_ON_RECORD", "There is no phone number on record for this "
                          "IIN; ask the patient to show the consent code in the app.", "iin")
        person, phone = found[0], found[1]
        await throttle.hit(self._engine, f"consent-sms:person:{person}",
                           throttle.Limit(s.consent_sms_per_person, 86_400))
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        challenge = uuid.uuid4()
        expires = self._clock() + timedelta(seconds=s.consent_sms_ttl_seconds)
        async with self._engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO auth.consent_challenge (id, staff_id, person_id, code_hash, "
                "expires_at) VALUES (:id, :staff, :person, :hash, :expires)"),
                {"id": challenge, "staff": staff_id, "person": person,
                 "hash": self._secrets.digest("consent-sms", f"{challenge}:{code}"),
                 "expires": expires})
        self._login.send_later(phone, consent_text(code, clinic))
        return ConsentSms(challenge, expires, mask_phone(phone), person)

    async def open_window_by_sms(self, staff_id: uuid.UUID, provider_id: uuid.UUID,
                                 challenge_id: uuid.UUID, code: str) -> Window:
        """The code the patient read out opens the window; ``WRONG_CODE`` (with the attempts
        left), ``CODE_EXPIRED`` or ``CODE_ATTEMPTS_EXHAUSTED`` otherwise."""
        s = self._settings
        bucket, limit = self._consent_failures(staff_id)
        await throttle.check(self._engine, bucket, limit)
        now = self._clock()
        async with self._engine.begin() as conn:  # the attempt counts even when it fails
            row = (await conn.execute(text(
                "UPDATE auth.consent_challenge SET attempts = attempts + 1 "
                "WHERE id = :id AND staff_id = :staff AND used_at IS NULL "
                "RETURNING person_id, code_hash, expires_at, attempts"),
                {"id": challenge_id, "staff": staff_id})).first()
        if row is None:
            raise Refused("WRONG_CODE", "This code is not valid; send a new one.", "code", 0)
        if row.attempts > s.consent_sms_max_attempts:
            raise Refused("CODE_ATTEMPTS_EXHAUSTED", "Too many wrong codes; send a new one.",
                          "code")
        if row.expires_at <= now:
            raise Refused("CODE_EXPIRED", "The code has expired; send a new one.", "code")
        typed = "".join(ch for ch in code if ch.isdigit())
        if not self._secrets.matches("consent-sms", f"{challenge_id}:{typed}", row.code_hash):
            await throttle.hit(self._engine, bucket, limit)
            raise Refused("WRONG_CODE", "The code is not right.", "code",
                          max(0, s.consent_sms_max_attempts - row.attempts))
        async with self._engine.begin() as conn:
            used = (await conn.execute(text(
                "UPDATE auth.consent_challenge SET used_at = :now WHERE id = :id "
                "AND used_at IS NULL RETURNING id"), {"id": challenge_id, "now": now})).first()
            if used is None:
                raise Refused("WRONG_CODE", "This code was used already.", "code", 0)
            return await self._open(conn, staff_id, provider_id, row.person_id, now)

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

    async def onboarding(self, staff_id: uuid.UUID, window_id: uuid.UUID) -> Onboarding | None:
        """The newest onboarding code of this worker's open window and how far it went
        (None before a code is made); ``WINDOW_CLOSED`` as ``window``."""
        window = await self.window(staff_id, window_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT o.created_at, o.expires_at, o.used_at, c.consumed_at, c.session_id, "
                "f.device_name FROM auth.onboarding_code o "
                "LEFT JOIN LATERAL (SELECT consumed_at, session_id FROM auth.login_challenge "
                "  WHERE window_id = o.window_id AND created_at >= o.used_at "
                "  ORDER BY consumed_at NULLS LAST, created_at DESC LIMIT 1) c ON true "
                "LEFT JOIN auth.session_family f ON f.id = c.session_id "
                "WHERE o.window_id = :window ORDER BY o.created_at DESC LIMIT 1"),
                {"window": window.id})).first()
        return None if row is None else Onboarding(*row)

    async def helper(self, window_id: uuid.UUID) -> Helper | None:
        """Who made the onboarding code of ``window_id`` (for the patient's access log)."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT s.id, s.display_name, s.provider_name, w.id, w.person_id "
                "FROM auth.consent_window w "
                "JOIN auth.staff_account s ON s.id = w.staff_id WHERE w.id = :id"),
                {"id": window_id})).first()
        return None if row is None else Helper(*row)
