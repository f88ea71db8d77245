"""From claimed deliveries to FCM messages: text in the device's language, the data payload
that ``mobile_contract/push`` describes, and the Android and APNs settings of the category."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from firebase_admin import messaging

from notifications import payloads, templates
from notifications.formatting import parse_day

# How long FCM keeps a push for a phone that is off: news of money is still news in 3 days;
# an announcement or a reminder is stale after one.
TTL: Final = {
    "payments": timedelta(days=3),
    "service_payments": timedelta(days=3),
    "status": timedelta(days=3),
    "critical": timedelta(days=7),
    "reminders": timedelta(days=1),
    "announcements": timedelta(days=1),
}
# A desk check (``notifications.checks``) is news only while the person is at the desk: FCM
# keeps it an hour for a phone that is off, and on Android it takes no collapse key, so it
# never replaces a waiting push of its category (critical: "you are losing cover").
KIND_TTL: Final = {"desk.check": timedelta(hours=1)}
NOT_COLLAPSED: Final = ("desk.check",)
# A warning that cover ends (``status.warning``) is wrong once that day has begun: FCM keeps it
# no longer than until midnight before ``dropsOn`` in Kazakhstan (the status engine's days),
# and one that is not sent by then is not sent at all (``Expired``).  Warnings share a collapse
# key, an Android tag and an APNs collapse id of their own: the 3-day warning replaces the
# 14-day one, waiting at FCM or shown on the phone, and never a "you are losing cover"
# ``status.changed`` push (whose key is its category, and tag its event).
# A self-payer's reminder to pay by the 25th (``payment.reminder``) is wrong once that day has
# ended: FCM keeps it no longer than until midnight after ``dueOn`` (a payment on the 25th is
# still on time), and one not sent by then is not sent at all.  Reminders share a collapse key,
# tag and APNs collapse id of their own: a newer reminder replaces an older one.
COUNTRY_ZONE: Final = ZoneInfo("Asia/Almaty")
KIND_COLLAPSE: Final = {"status.warning": "status.warning",
                        "payment.reminder": "payment.reminder"}


@dataclass(frozen=True)
class Claimed:
    """A delivery a sender owns for one call: what it needs to build its message."""

    id: int
    event_id: int
    device_id: int
    kind: str
    category: str
    digest_key: str | None
    attempts: int
    token: str
    token_kind: str
    platform: str
    language: str
    retired: bool
    payload: Mapping[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Push:
    """One message and the deliveries it carries (several for a digest)."""

    deliveries: tuple[Claimed, ...]
    message: messaging.Message
    title: str
    body: str
    data: dict[str, str]


class Expired(Exception):
    """The push would arrive too late to be true (a warning on or after its day, a reminder
    after the day it asks to pay by)."""


def _expires(claimed: Claimed) -> datetime | None:
    """When the push of ``claimed`` stops being true; None: it stays true."""
    if claimed.kind == "status.warning":
        return datetime.combine(parse_day(claimed.payload["dropsOn"]), time(), COUNTRY_ZONE)
    if claimed.kind == "payment.reminder":
        return datetime.combine(parse_day(claimed.payload["dueOn"]) + timedelta(days=1),
                                time(), COUNTRY_ZONE)
    return None


def time_to_live(claimed: Claimed, now: datetime) -> timedelta:
    """How long FCM keeps the push: its category's (or kind's) TTL, cut to whole seconds at
    the moment the push stops being true; ``Expired`` when that moment is less than a second
    away."""
    ttl = KIND_TTL.get(claimed.kind, TTL[claimed.category])
    try:
        expires = _expires(claimed)
    except (KeyError, TypeError) as error:
        raise ValueError(f"malformed {claimed.kind} payload: {error!r}") from error
    if expires is None:
        return ttl
    left = timedelta(seconds=int((expires - (now if now.tzinfo else now.astimezone()))
                                 .total_seconds()))
    if left < timedelta(seconds=1):
        raise Expired(f"{claimed.kind} expired at {expires.isoformat()}")
    return min(ttl, left)


def build(group: Sequence[Claimed], earlier: Sequence[Mapping[str, Any]] = (),
          now: datetime | None = None) -> Push:
    """The push for one delivery, or the digest for a device's deliveries that share a
    ``digest_key`` (``earlier``: payloads already pushed under that key today, so that the
    digest that replaces them on the phone counts the whole day).  ``now``: the sender's
    clock, from which APNs counts the expiry (None: this machine's)."""
    newest = group[-1]  # the group is in event order (``Sender._claim``)
    if (newest.digest_key is not None and len(group) + len(earlier) > 1) or _many(newest):
        every = [*earlier, *(claimed.payload for claimed in group)]
        rendered = templates.render_digest(every, newest.language)
        day = date.fromisoformat(newest.digest_key.rsplit(":", 1)[1]) if newest.digest_key \
            else newest.created_at.date()
        data = payloads.digest_data(every, notification_ids=[c.event_id for c in group],
                                    day=day)
    else:
        rendered = templates.render(newest.kind, newest.payload, newest.language)
        data = payloads.push_data(newest.kind, newest.payload, notification_id=newest.event_id,
                                  category=newest.category)
    tag = (newest.digest_key or KIND_COLLAPSE.get(newest.kind)
           or f"{newest.kind}:{newest.event_id}")
    return Push(tuple(group), _message(newest, rendered, data, tag, now or datetime.now()),
                rendered.title, rendered.body, data)


def _many(claimed: Claimed) -> bool:
    """A single service-payment event listing several payments reads as a digest too."""
    return claimed.digest_key is not None and len(claimed.payload.get("payments", ())) > 1


def _message(claimed: Claimed, rendered: templates.Rendered, data: dict[str, str],
             tag: str, now: datetime) -> messaging.Message:
    ttl = time_to_live(claimed, now)
    urgent = claimed.category == "critical"
    notification = messaging.Notification(title=rendered.title, body=rendered.body)
    collapse_key = (None if claimed.kind in NOT_COLLAPSED
                    else KIND_COLLAPSE.get(claimed.kind, claimed.category))
    android = messaging.AndroidConfig(
        collapse_key=collapse_key, ttl=ttl,
        priority="high" if urgent else "normal",
        notification=messaging.AndroidNotification(tag=tag[:64], channel_id=claimed.category))
    apns = messaging.APNSConfig(
        headers={"apns-collapse-id": tag[:64], "apns-priority": "10" if urgent else "5",
                 "apns-expiration": str(int(now.timestamp()
                                             + ttl.total_seconds()))},
        payload=messaging.APNSPayload(aps=messaging.Aps(thread_id=claimed.category,
                                                        sound="default")))
    target = {claimed.token_kind: claimed.token}
    with warnings.catch_warnings():  # Message.token is deprecated in favour of fid (7.7.0)
        warnings.simplefilter("ignore", DeprecationWarning)
        return messaging.Message(notification=notification, data=data, android=android,
                                 apns=apns, **target)
