"""The tables of ``auth`` (PostgreSQL schema ``auth``).

Nothing here points at ``core`` with a foreign key: ``auth`` knows people and clinics only by
their ids (``person_id``, ``provider_id``), and ``backend`` checks those exist where it hands
them over (login look-up, the admin CLI).  Every secret is stored as an HMAC (``*_hash``) or
encrypted (``private_key_sealed``), never as given.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA = "auth"
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class AuthBase(DeclarativeBase):
    """Base of every ``auth`` table."""

    metadata = MetaData(schema=SCHEMA, naming_convention=NAMING_CONVENTION)


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class SigningKeyRow(AuthBase):
    """An Ed25519 key pair; the private half sealed with the key-encryption key.

    A key signs from ``not_before`` until its successor's ``not_before``, and verifies until
    that moment plus the overlap (settings): nothing else needs storing to rotate.
    """

    __tablename__ = "signing_key"

    kid: Mapped[str] = mapped_column(Text, primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    private_key_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _now()
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index(None, "not_before"),)


class LoginChallenge(AuthBase):
    """One one-time code sent (or, for details that match no one, pretended to be sent; or,
    over the phone's daily SMS ceiling, the code already sent)."""

    __tablename__ = "login_challenge"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    person_id: Mapped[uuid.UUID | None]
    code_hash: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The HMAC digest of the IIN with the phone typed: wrong codes are counted per subject
    # across challenges, and a challenge made over the phone's daily SMS ceiling takes the
    # code already sent to that subject (``code_of``, the challenge that holds it).
    subject_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    code_of: Mapped[uuid.UUID | None]
    # Set when the challenge confirms a registry-desk onboarding code (the consent window),
    # and the session its right code started (the desk follows the onboarding's steps).
    window_id: Mapped[uuid.UUID | None]
    session_id: Mapped[uuid.UUID | None]

    __table_args__ = (
        Index(None, "expires_at"),
        Index(None, "subject_key", "created_at",
              postgresql_where=text("subject_key IS NOT NULL")),
        Index(None, "window_id", postgresql_where=text("window_id IS NOT NULL")),
    )


class SessionFamily(AuthBase):
    """One sign-in on one device: the chain of refresh tokens that descend from it."""

    __tablename__ = "session_family"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    audience: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    device_name: Mapped[str | None] = mapped_column(Text)
    platform: Mapped[str | None] = mapped_column(Text)
    signed_in_by: Mapped[str] = mapped_column(Text)
    claims: Mapped[dict[str, str]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = _now()
    last_used_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(None, "subject", "audience", postgresql_where=text("revoked_at IS NULL")),
        CheckConstraint("audience IN ('mobile', 'desk')", name="audience"),
        # Retention prunes ended sessions by age (backend.ops.retention, migration 0017).
        Index(None, "expires_at"),
        Index(None, "revoked_at", postgresql_where=text("revoked_at IS NOT NULL")),
    )


class RefreshToken(AuthBase):
    """A refresh token's hash; ``used_at`` is set when it is exchanged (it never works again)."""

    __tablename__ = "refresh_token"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("session_family.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index(None, "family_id"),
                      Index(None, "used_at", postgresql_where=text("used_at IS NOT NULL")))


class Throttle(AuthBase):
    """A fixed-window counter per bucket (e.g. code requests for one IIN's digest)."""

    __tablename__ = "throttle"

    bucket: Mapped[str] = mapped_column(Text, primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    hits: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index(None, "window_start"),)  # retention prunes old windows (0017)


class StaffAccount(AuthBase):
    """A registry-desk worker of one clinic; the password as an argon2id hash (none until the
    holder sets one with an administrator's one-time code).  ``role``: ``worker`` helps
    patients; ``admin`` also manages the clinic's staff."""

    __tablename__ = "staff_account"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(Text, unique=True)
    display_name: Mapped[str] = mapped_column(Text)
    provider_id: Mapped[uuid.UUID] = mapped_column(index=True)
    provider_name: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    role: Mapped[str] = mapped_column(Text, server_default="worker")
    created_at: Mapped[datetime] = _now()

    __table_args__ = (CheckConstraint("username = lower(username)", name="username_lower"),
                      CheckConstraint("role IN ('worker', 'admin')", name="role"))


class DeskSession(AuthBase):
    """A desk worker signed in in a browser: the cookie's token as an HMAC, ended when idle
    past ``last_seen_at`` + the idle limit, at ``expires_at``, or on sign-out."""

    __tablename__ = "desk_session"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_account.id"))
    created_at: Mapped[datetime] = _now()
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index(None, "staff_id", postgresql_where=text("ended_at IS NULL")),)


class StaffAudit(AuthBase):
    """One change to a clinic's staff, by an administrator (``actor_id``) or the CLI (none)."""

    __tablename__ = "staff_audit"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    provider_id: Mapped[uuid.UUID]
    actor_id: Mapped[uuid.UUID | None]
    actor_name: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    target_id: Mapped[uuid.UUID]
    target_username: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = _now()

    __table_args__ = (
        Index(None, "provider_id", "id"),
        CheckConstraint("action IN ('created', 'deactivated', 'reactivated', "
                        "'password_code_issued', 'password_set')", name="action"),
    )


class StaffSetupCode(AuthBase):
    """A one-time code to set or reset a staff password, handed over by an administrator."""

    __tablename__ = "staff_setup_code"

    code_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_account.id"), index=True)
    issued_by: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index(None, "expires_at"),)  # retention prunes by age (0017)


class ConsentChallenge(AuthBase):
    """Consent for a patient without the app: a code sent by SMS to the phone on record, read
    out to the worker who asked (``staff_id``), 5 attempts."""

    __tablename__ = "consent_challenge"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_account.id"), index=True)
    person_id: Mapped[uuid.UUID]
    code_hash: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index(None, "expires_at"),)  # retention prunes by age (0017)


class ConsentCode(AuthBase):
    """A short code a citizen shows a desk worker to let them help (single use)."""

    __tablename__ = "consent_code"

    code_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    person_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index(None, "person_id"), Index(None, "expires_at"))


class ConsentWindow(AuthBase):
    """What a consent code opened: one staff member, one patient, onboarding help, 15 minutes."""

    __tablename__ = "consent_window"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_account.id"))
    provider_id: Mapped[uuid.UUID]
    person_id: Mapped[uuid.UUID]
    opened_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index(None, "staff_id", "expires_at"), Index(None, "expires_at"))


class OnboardingCode(AuthBase):
    """A one-time code that signs a patient in on a new phone at the desk (no SMS step)."""

    __tablename__ = "onboarding_code"

    code_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    person_id: Mapped[uuid.UUID]
    window_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consent_window.id"))
    created_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index(None, "window_id"), Index(None, "expires_at"))


class Client(AuthBase):
    """An integrator (a clinic information system, the Fund's systems): OAuth client."""

    __tablename__ = "client"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    organization: Mapped[str] = mapped_column(Text)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    requests_per_minute: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = _now()
