"""A clinic administrator manages the clinic's own desk staff: create an account, deactivate
or reactivate it, and hand over a one-time code with which its holder sets a new password.

An administrator never learns or chooses a password: a new account has none until its holder
types the one-time code (12 characters, a day by default) with a password of their own, and
a reset works the same way.  Every change is written to ``auth.staff_audit`` in its own
transaction, with who made it.  Everything is refused for an account that is not an active
administrator, or for a target of another clinic (``NOT_FOUND``: another clinic's staff do
not exist for this one).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auth import throttle
from auth.errors import Refused
from auth.keyring import utcnow
from auth.secrets import Secrets, group, normalize_code, random_code
from auth.settings import AuthSettings
from auth.staff import (
    MEMBER_COLUMNS,
    Code,
    StaffMember,
    audit,
    check_password,
    end_sessions,
    hash_password,
    insert_account,
)

SETUP_CODE_LENGTH = 12
ROLES = ("worker", "admin")
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,31}")


@dataclass(frozen=True)
class AuditEntry:
    """One change to the clinic's staff."""

    at: datetime
    actor_name: str
    action: str
    target_username: str
    by_command_line: bool


def _not_found() -> Refused:
    return Refused("NOT_FOUND", "There is no such account at your clinic.", "staff")


class StaffAdmin:
    """What a clinic administrator does with the clinic's staff accounts."""

    def __init__(self, engine: AsyncEngine, secrets_: Secrets, settings: AuthSettings,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._secrets = secrets_
        self._settings = settings
        self._clock = clock

    async def staff_of(self, admin: StaffMember) -> list[StaffMember]:
        """The clinic's accounts, active first, by name."""
        async with self._engine.connect() as conn:
            await self._require_admin(conn, admin)
            rows = (await conn.execute(text(
                f"SELECT {MEMBER_COLUMNS} FROM auth.staff_account WHERE provider_id = :p "
                "ORDER BY active DESC, display_name, username"),
                {"p": admin.provider_id})).all()
        return [StaffMember(*row) for row in rows]

    async def trail(self, admin: StaffMember, limit: int = 50) -> list[AuditEntry]:
        """The newest changes to the clinic's staff."""
        async with self._engine.connect() as conn:
            await self._require_admin(conn, admin)
            rows = (await conn.execute(text(
                "SELECT at, actor_name, action, target_username, actor_id IS NULL "
                "FROM auth.staff_audit "
                "WHERE provider_id = :p ORDER BY id DESC LIMIT :n"),
                {"p": admin.provider_id, "n": limit})).all()
        return [AuditEntry(*row) for row in rows]

    async def create(self, admin: StaffMember, username: str, display_name: str,
                     role: str) -> tuple[StaffMember, Code]:
        """A new account at the administrator's clinic, and the one-time code with which its
        holder sets a password (``USERNAME_INVALID``, ``USERNAME_TAKEN``, ``NAME_REQUIRED``)."""
        name = username.strip().lower()
        if _USERNAME.fullmatch(name) is None:
            raise Refused("USERNAME_INVALID", "A username is 3 to 32 Latin letters, digits, "
                          "dots, dashes or underscores.", "username")
        shown = " ".join(display_name.split())
        if not 1 <= len(shown) <= 80:
            raise Refused("NAME_REQUIRED", "Give the person's name (at most 80 characters).",
                          "displayName")
        member = StaffMember(uuid.uuid4(), name, shown, admin.provider_id, admin.provider_name,
                             True, role if role in ROLES else "worker")
        try:
            async with self._engine.begin() as conn:
                await self._require_admin(conn, admin)
                await insert_account(conn, member, None)
                await audit(conn, admin.id, admin.display_name, "created", member)
                code = await self._issue(conn, member, admin)
        except IntegrityError:
            raise Refused("USERNAME_TAKEN", "This username is taken; choose another.",
                          "username") from None
        return member, code

    async def deactivate(self, admin: StaffMember, staff_id: uuid.UUID) -> StaffMember:
        """Stop the account signing in and end its sessions now (not one's own)."""
        if staff_id == admin.id:
            raise Refused("NOT_YOURSELF", "You cannot deactivate your own account.", "staff")
        return await self._set_active(admin, staff_id, False, "deactivated")

    async def reactivate(self, admin: StaffMember, staff_id: uuid.UUID) -> StaffMember:
        """Let a deactivated account sign in again (with its old password, if it has one)."""
        return await self._set_active(admin, staff_id, True, "reactivated")

    async def _set_active(self, admin: StaffMember, staff_id: uuid.UUID, active: bool,
                          action: str) -> StaffMember:
        async with self._engine.begin() as conn:
            await self._require_admin(conn, admin)
            row = (await conn.execute(text(
                "UPDATE auth.staff_account SET active = :active WHERE id = :id "
                f"AND provider_id = :p RETURNING {MEMBER_COLUMNS}"),
                {"active": active, "id": staff_id, "p": admin.provider_id})).first()
            if row is None:
                raise _not_found()
            member = StaffMember(*row)
            if not active:
                await end_sessions(conn, member.id, "account deactivated")
            await audit(conn, admin.id, admin.display_name, action, member)
        return member

    async def password_code(self, admin: StaffMember, staff_id: uuid.UUID) -> Code:
        """A new one-time code for the account to set a password with (earlier unused codes
        stop working)."""
        async with self._engine.begin() as conn:
            await self._require_admin(conn, admin)
            row = (await conn.execute(text(
                f"SELECT {MEMBER_COLUMNS} FROM auth.staff_account WHERE id = :id "
                "AND provider_id = :p"), {"id": staff_id, "p": admin.provider_id})).first()
            if row is None:
                raise _not_found()
            member = StaffMember(*row)
            code = await self._issue(conn, member, admin)
            await audit(conn, admin.id, admin.display_name, "password_code_issued", member)
        return code

    async def _issue(self, conn: AsyncConnection, member: StaffMember,
                     admin: StaffMember) -> Code:
        code = random_code(SETUP_CODE_LENGTH)
        expires = self._clock() + timedelta(seconds=self._settings.staff_setup_code_ttl_seconds)
        await conn.execute(text(
            "UPDATE auth.staff_setup_code SET used_at = now() WHERE staff_id = :s "
            "AND used_at IS NULL"), {"s": member.id})
        await conn.execute(text(
            "INSERT INTO auth.staff_setup_code (code_hash, staff_id, issued_by, expires_at) "
            "VALUES (:hash, :staff, :admin, :expires)"),
            {"hash": self._secrets.digest("staff-setup", f"{member.id}:{code}"),
             "staff": member.id, "admin": admin.id, "expires": expires})
        return Code(group(code), expires)

    async def set_password(self, username: str, code: str, password: str,
                           client_address: str) -> StaffMember:
        """The holder of a one-time code sets their password; every session of the account
        ends.  ``WRONG_CODE`` for any wrong name or code (counted like wrong passwords),
        ``PASSWORD_WEAK`` with the reason."""
        s = self._settings
        name = username.strip().lower()
        address = self._secrets.digest("ip", client_address).hex()[:32]
        buckets: list[throttle.Bucket] = [
            (f"staff-setup:ip:{address}",
             throttle.Limit(s.staff_failures_per_source, s.staff_sign_ins_window_seconds))]
        try:
            check_password(password, name)
        except ValueError as exc:
            raise Refused("PASSWORD_WEAK", str(exc).capitalize() + ".", "password") from None
        await throttle.reserve(self._engine, buckets)
        now = self._clock()
        async with self._engine.begin() as conn:
            row = (await conn.execute(text(
                f"SELECT {MEMBER_COLUMNS} FROM auth.staff_account WHERE username = :u"),
                {"u": name})).first()
            member = StaffMember(*row) if row is not None else None
            used = None if member is None else (await conn.execute(text(
                "UPDATE auth.staff_setup_code SET used_at = :now WHERE code_hash = :hash "
                "AND used_at IS NULL AND expires_at > :now RETURNING staff_id"),
                {"hash": self._secrets.digest("staff-setup",
                                              f"{member.id}:{normalize_code(code)}"),
                 "now": now})).first()
            if member is None or used is None or not member.active:
                raise Refused("WRONG_CODE", "The username or the code is not right, or the "
                              "code has expired; ask your administrator for a new one.", "code")
            await conn.execute(text(
                "UPDATE auth.staff_account SET password_hash = :hash WHERE id = :id"),
                {"hash": await hash_password(password), "id": member.id})
            await end_sessions(conn, member.id, "password changed")
            await audit(conn, member.id, member.display_name, "password_set", member)
        await throttle.release(self._engine, buckets)
        return member

    async def _require_admin(self, conn: AsyncConnection, admin: StaffMember) -> None:
        """``FORBIDDEN`` unless ``admin`` is, right now, an active administrator."""
        row = (await conn.execute(text(
            "SELECT active AND role = 'admin' FROM auth.staff_account WHERE id = :id"),
            {"id": admin.id})).scalar()
        if not row:
            raise Refused("FORBIDDEN", "Only your clinic's administrator may do this.", "staff")
