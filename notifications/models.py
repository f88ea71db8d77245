"""The tables of ``notifications`` (PostgreSQL schema ``notify``)."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Text,
    Time,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA = "notify"
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class NotifyBase(DeclarativeBase):
    """Base of every ``notify`` table."""

    metadata = MetaData(schema=SCHEMA, naming_convention=NAMING_CONVENTION)


class OutboxEvent(NotifyBase):
    """Something that happened to a person's money or status, written in the same transaction
    as the change itself; the dispatcher (notifications issue) delivers it.

    ``dedupe_key`` names the change (``contribution:123``, ``status:<person>:<day>``): it is
    unique, so a retried batch can never write an event twice.  ``dispatched_at`` is set by
    the dispatcher.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    person_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    dedupe_key: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_outbox_pending", "id", postgresql_where=text("dispatched_at IS NULL")),
        # Retention prunes dispatched events by age (backend.ops.retention, migration 0017).
        Index("ix_outbox_dispatched", "dispatched_at",
              postgresql_where=text("dispatched_at IS NOT NULL")),
    )


CATEGORIES = ("payments", "service_payments", "status", "reminders", "announcements", "critical")
MUTABLE_CATEGORIES = CATEGORIES[:-1]
CHANNELS = ("push", "inbox")
LANGUAGES = ("kk", "ru", "en")
DELIVERY_STATES = ("pending", "sending", "sent", "rejected", "dead", "cancelled", "unknown")
SMS_STATES = ("pending", "sending", "sent", "delivered", "undelivered", "skipped", "dead",
              "cancelled", "unknown")
SMS_KINDS = ("status.changed", "status.warning")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Device(NotifyBase):
    """A phone that receives pushes: its FCM registration token (or Firebase installation id,
    ``token_kind``), and what the app said about itself when it last registered.

    A token belongs to one person at a time: registering it for someone else retires the old
    row (``MOVED``) and cancels what was waiting for it.  A retired device keeps its row (the
    person's list shows why push stopped) until pruned.
    """

    __tablename__ = "device"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    person_id: Mapped[uuid.UUID]
    token: Mapped[str] = mapped_column(Text)
    token_kind: Mapped[str] = mapped_column(Text, server_default="token")
    platform: Mapped[str] = mapped_column(Text)
    app_version: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(Text)
    time_zone: Mapped[str] = mapped_column(Text)
    session_id: Mapped[str | None] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                    server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                   server_default=func.now())
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retired_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(_one_of("token_kind", ("token", "fid")), name="token_kind"),
        CheckConstraint(_one_of("platform", ("android", "ios", "web")), name="platform"),
        CheckConstraint(_one_of("language", LANGUAGES), name="language"),
        CheckConstraint("length(token) BETWEEN 1 AND 4096", name="token_length"),
        CheckConstraint("(retired_at IS NULL) = (retired_reason IS NULL)", name="retired_reason"),
        Index("uq_device_active_token", "token", unique=True,
              postgresql_where=text("retired_at IS NULL")),
        # Every device of a person, retired ones too (the desk's check says why a phone gets
        # nothing); a person has a handful, so live ones are found through it as well.
        Index("ix_device_person", "person_id"),
        Index(None, "last_seen_at"),
    )


class Preference(NotifyBase):
    """A category switched off (or back on) on one channel.  No row means on."""

    __tablename__ = "preference"

    person_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(Text, primary_key=True)
    channel: Mapped[str] = mapped_column(Text, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    __table_args__ = (
        CheckConstraint(_one_of("category", MUTABLE_CATEGORIES), name="category"),
        CheckConstraint(_one_of("channel", CHANNELS), name="channel"),
    )


class QuietHours(NotifyBase):
    """When a person's pushes wait: ``starts``..``ends`` local time in ``time_zone`` (may span
    midnight).  Held pushes go out when the window ends; nothing is dropped."""

    __tablename__ = "quiet_hours"

    person_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)
    time_zone: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    __table_args__ = (CheckConstraint("starts <> ends", name="not_empty"),)


class Notification(NotifyBase):
    """An inbox item: one per event (its id), rendered in the reader's language when read."""

    __tablename__ = "notification"

    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(_one_of("category", CATEGORIES), name="category"),
        Index("ix_notification_person", "person_id", "event_id"),
        Index("ix_notification_unread", "person_id", postgresql_where=text("read_at IS NULL")),
        # Retention prunes read and unread items by age, each on its own clock (0017).
        Index("ix_notification_read_created", "created_at",
              postgresql_where=text("read_at IS NOT NULL")),
        Index("ix_notification_unread_created", "created_at",
              postgresql_where=text("read_at IS NULL")),
    )


class Delivery(NotifyBase):
    """One push of one event to one device: exactly one row per (event, device).

    ``pending`` until ``due_at`` (quiet hours, the digest window, a retry's backoff); a sender
    claims it (``sending``, ``attempts`` + 1) in a committed transaction before calling FCM
    and records the outcome after: ``sent``; ``rejected`` (the token is dead, retired);
    ``dead`` (gave up, ``last_error`` says why; operators can requeue); ``cancelled`` (the
    device was retired before it went, or ``last_error`` ``EXPIRED``: it would have come too
    late to be true, a cover warning on or after its day, a payment reminder after its 25th);
    ``unknown`` (the worker died during the call: not sent again, so nobody gets it twice).
    """

    __tablename__ = "delivery"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"))
    person_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    digest_key: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default="pending")
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    message_name: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(_one_of("state", DELIVERY_STATES), name="state"),
        Index("uq_delivery_event_device", "event_id", "device_id", unique=True),
        Index("ix_delivery_due", "due_at", postgresql_where=text("state = 'pending'")),
        Index("ix_delivery_sending", "claimed_at", postgresql_where=text("state = 'sending'")),
        Index("ix_delivery_digest", "device_id", "digest_key",
              postgresql_where=text("digest_key IS NOT NULL")),
        Index("ix_delivery_dead", "finished_at", postgresql_where=text("state = 'dead'")),
        # Retention prunes finished deliveries by age (dead ones on ix_delivery_dead; 0017).
        Index("ix_delivery_finished", "finished_at",
              postgresql_where=text("state IN ('sent', 'rejected', 'cancelled', 'unknown')")),
    )


class SmsDelivery(NotifyBase):
    """A critical event's text message, for a person whom the push may not reach: at most one
    per event.

    Written with the event's inbox item for each critical event of ``SMS_KINDS`` (a desk
    check is about the app and never goes by SMS): due at once when the person has no live
    device, else ``sms_after_seconds`` later (both after quiet hours).  When due, it is
    ``skipped`` if a push of the event was sent (or may have been) or the person read it in
    the app; else a sender claims it (``sending``, ``attempts`` + 1, committed before the
    call) and records the operator's answer: ``sent`` with the operator's ``message_id``,
    then ``delivered`` or ``undelivered`` from the operator's delivery reports; ``pending``
    again after a transient failure (backoff); ``dead`` when the operator refused it;
    ``cancelled`` when there is no phone on record (``NO_PHONE``) or it would come too late
    to be true (``EXPIRED``); ``unknown`` when the operator may have it (no answer, or the
    worker died during the call): never sent twice.  The phone number and the text are not
    stored: the number is read from the person's record at sending, the text is made from
    the event's payload.
    """

    __tablename__ = "sms_delivery"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    person_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default="pending")
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    language: Mapped[str | None] = mapped_column(Text)
    encoding: Mapped[str | None] = mapped_column(Text)
    segments: Mapped[int | None] = mapped_column(Integer)
    message_id: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(_one_of("state", SMS_STATES), name="state"),
        CheckConstraint(f"language IS NULL OR {_one_of('language', LANGUAGES)}",
                        name="language"),
        CheckConstraint("encoding IS NULL OR encoding IN ('GSM-7', 'UCS-2')", name="encoding"),
        Index("ix_sms_delivery_due", "due_at", postgresql_where=text("state = 'pending'")),
        Index("ix_sms_delivery_sending", "claimed_at",
              postgresql_where=text("state = 'sending'")),
        Index("ix_sms_delivery_sent", "checked_at", postgresql_where=text("state = 'sent'")),
        Index("ix_sms_delivery_person", "person_id"),
        # Retention prunes finished texts by age (backend.ops.retention, migration 0017).
        Index("ix_sms_delivery_finished", "created_at",
              postgresql_where=text("state IN ('sent', 'delivered', 'undelivered', 'skipped', "
                                    "'dead', 'cancelled', 'unknown')")),
    )


class Announcement(NotifyBase):
    """A message from the Fund to everyone or to one region, in three languages; each
    recipient's event carries its place in line, so the pushes go out at ``rate_per_second``
    through the same pipeline."""

    __tablename__ = "announcement"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    title: Mapped[dict[str, str]] = mapped_column(JSONB)
    body: Mapped[dict[str, str]] = mapped_column(JSONB)
    help_slug: Mapped[str | None] = mapped_column(Text)
    region_code: Mapped[str | None] = mapped_column(Text)
    rate_per_second: Mapped[int] = mapped_column(Integer)
    recipients: Mapped[int] = mapped_column(Integer, server_default="0")
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    __table_args__ = (CheckConstraint("rate_per_second > 0", name="rate_positive"),)
