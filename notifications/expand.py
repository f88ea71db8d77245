"""Expanding outbox events: an inbox item and one delivery per active device, in one statement.

A batch of events is claimed with ``FOR UPDATE SKIP LOCKED`` (workers share the outbox), and
for each event the statement writes the inbox item (unless the person turned the category's
inbox off), a pending delivery for each of the person's devices seen in the last
``stale_after_days`` (unless push is off for the category), and marks the event dispatched.
``ON CONFLICT DO NOTHING`` on (event) and (event, device) makes a repeat write nothing.

When a delivery is due:
- now, or for service payments after ``digest_window_seconds`` (a burst becomes one digest);
- an announcement at its place in line (``sendAt`` in its payload: the broadcast's rate);
- either way, never inside the person's quiet hours: held until they end (``quiet_until``).

A critical event of ``SMS_KINDS`` also gets its SMS row (``notifications.sms``): due when quiet
hours end if no delivery was written (the person has no live device), else
``sms_after_seconds`` after that, when it goes only if the push did not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from notifications.clock import NOW, Clock, reading
from notifications.models import SMS_KINDS
from notifications.settings import NotifySettings

# The category of each event kind.  A change of status down to conditionally insured (the
# grace period: insurance ends unless money comes) or not insured is critical: it cannot be
# muted, because it is the one push that lets a person act before losing cover.  A desk's
# check that the phones receive pushes is critical too: a switched-off category must not make
# the check fail while the person stands at the desk (quiet hours still hold it).  So is a
# warning, 14 and 3 days ahead, that cover ends unless a contribution arrives: it is the push
# that lets a person act in time (quiet hours hold it too).  A self-payer's reminder to pay
# by the 25th is a ``reminders`` item, which a person may switch off on either channel.  A
# change to a case the person opened about a service ("I did not receive this") belongs with
# the service payments it is about.
KIND_CATEGORY: Final = {
    "contribution.received": "payments",
    "contribution.refunded": "payments",
    "service.paid": "service_payments",
    "service.withdrawn": "service_payments",
    "status.changed": "status",
    "announcement.published": "announcements",
    "desk.check": "critical",
    "status.warning": "critical",
    "payment.reminder": "reminders",
    "dispute.updated": "service_payments",
}
LOSS_STATUSES: Final = ("CONDITIONALLY_INSURED", "NOT_INSURED")
DIGEST_KINDS: Final = ("service.paid",)


def category_sql(kind: str = "kind", payload: str = "payload") -> str:
    """The SQL expression of an event's category (NULL for a kind this code does not know)."""
    losses = ", ".join(f"'{status}'" for status in LOSS_STATUSES)
    arms = " ".join(f"WHEN '{k}' THEN '{c}'" for k, c in KIND_CATEGORY.items())
    return (f"CASE WHEN {kind} = 'status.changed' AND {payload}->>'newStatus' IN ({losses})"
            f" THEN 'critical' ELSE CASE {kind} {arms} END END")


_DIGEST = ", ".join(f"'{kind}'" for kind in DIGEST_KINDS)
# An event of a kind this code does not know stays in the outbox for a worker that does (a
# rolling deploy: the new kind's writer may run before every worker is upgraded).
_KNOWN = ", ".join(f"'{kind}'" for kind in KIND_CATEGORY)
_SMS = ", ".join(f"'{kind}'" for kind in SMS_KINDS)
EXPAND: Final = f"""
WITH claimed AS (
  SELECT id, person_id, kind, payload, created_at FROM notify.outbox
  WHERE dispatched_at IS NULL AND kind IN ({_KNOWN})
  ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED
), events AS (
  SELECT c.*, {category_sql("c.kind", "c.payload")} AS category FROM claimed c
), off AS (
  SELECT person_id, category, channel FROM notify.preference
  WHERE NOT enabled AND person_id IN (SELECT person_id FROM events)
), inbox AS (
  INSERT INTO notify.notification (event_id, person_id, kind, category, payload, created_at)
  SELECT e.id, e.person_id, e.kind, e.category, e.payload, e.created_at FROM events e
  WHERE e.category IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM off WHERE off.person_id = e.person_id AND off.category = e.category
    AND off.channel = 'inbox')
  ON CONFLICT (event_id) DO NOTHING RETURNING 1
), pushes AS (
  INSERT INTO notify.delivery (event_id, device_id, person_id, kind, category, digest_key,
                               due_at)
  SELECT e.id, d.id, e.person_id, e.kind, e.category,
    CASE WHEN e.kind IN ({_DIGEST})
      THEN e.kind || ':' || to_char({NOW} AT TIME ZONE d.time_zone, 'YYYY-MM-DD') END,
    notify.quiet_until(
      GREATEST(CASE WHEN e.kind IN ({_DIGEST})
                 THEN {NOW} + make_interval(secs => :digest_window) ELSE {NOW} END,
               CASE WHEN e.kind = 'announcement.published'
                 THEN (e.payload->>'sendAt')::timestamptz END),
      q.starts, q.ends, q.time_zone)
  FROM events e
  JOIN notify.device d ON d.person_id = e.person_id AND d.retired_at IS NULL
    AND d.last_seen_at > {NOW} - make_interval(days => :stale_days)
  LEFT JOIN notify.quiet_hours q ON q.person_id = e.person_id
  WHERE e.category IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM off WHERE off.person_id = e.person_id AND off.category = e.category
    AND off.channel = 'push')
  ON CONFLICT (event_id, device_id) DO NOTHING RETURNING event_id
), sms AS (
  INSERT INTO notify.sms_delivery (event_id, person_id, kind, due_at)
  SELECT e.id, e.person_id, e.kind,
    CASE WHEN EXISTS (SELECT 1 FROM pushes p WHERE p.event_id = e.id)
      THEN notify.quiet_until(notify.quiet_until({NOW}, q.starts, q.ends, q.time_zone)
                              + make_interval(secs => :sms_after),
                              q.starts, q.ends, q.time_zone)
      ELSE notify.quiet_until({NOW}, q.starts, q.ends, q.time_zone) END
  FROM events e LEFT JOIN notify.quiet_hours q ON q.person_id = e.person_id
  WHERE :sms AND e.category = 'critical' AND e.kind IN ({_SMS})
  ON CONFLICT (event_id) DO NOTHING RETURNING 1
), done AS (
  UPDATE notify.outbox o SET dispatched_at = {NOW} FROM claimed WHERE o.id = claimed.id
  RETURNING o.id
)
SELECT (SELECT count(*) FROM done), (SELECT count(*) FROM inbox), (SELECT count(*) FROM pushes),
  (SELECT count(*) FROM sms)
"""


@dataclass(frozen=True)
class Expanded:
    """What one expansion wrote."""

    events: int
    inbox_items: int
    deliveries: int
    texts: int = 0  # SMS written (``notifications.sms``)


async def expand(conn: AsyncConnection, settings: NotifySettings,
                 limit: int | None = None, clock: Clock | None = None) -> Expanded:
    """Expand up to ``limit`` pending events (the caller commits); ``clock``: see
    ``notifications.clock`` (None: the database's)."""
    row = (await conn.execute(text(EXPAND), {
        "now": reading(clock),
        "limit": limit or settings.expand_batch,
        "digest_window": float(settings.digest_window_seconds),
        "stale_days": settings.stale_after_days,
        "sms": settings.sms_fallback,
        "sms_after": float(settings.sms_after_seconds),
    })).one()
    return Expanded(int(row[0]), int(row[1]), int(row[2]), int(row[3]))
