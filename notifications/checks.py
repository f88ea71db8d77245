"""A registry desk's "Check that notifications work": one test push to all of a person's phones
through the real path, and what became of it on each phone.

With the person at the desk and consenting, a desk worker sends one ``desk.check`` event
(``send_check``: written to ``notify.outbox`` in the caller's transaction, like every event).
The dispatcher treats it like any other: an inbox item and one delivery per device seen in
the last ``stale_after_days``, sent through firebase-admin (to fcm-local in development).
The desk page then polls ``check_states`` and shows, for every device of the person, the
state of its push, or why there is none.

The check's category is ``critical`` (``expand.KIND_CATEGORY``): a category the person
switched off cannot make it fail.  Quiet hours still hold it, and the report says until when
(``DeviceCheck.held_until``).  On the phone it expires after an hour and replaces no other
push (``messages.KIND_TTL``, ``messages.NOT_COLLAPSED``).

What each delivery state means for the person at the desk (``DeviceCheck.state``):

- ``None``: no push was made for this phone; ``DeviceCheck.not_reached`` says why (None
  while the worker has not taken the check yet: the phone will get one);
- ``pending``: waiting to go: at once, or held until ``held_until`` (quiet hours, or a retry
  after FCM refused for a while: ``held_for``);
- ``sending``: the call to FCM is under way;
- ``sent``: FCM accepted it for the phone.  The phone shows it once it is online and
  notifications are allowed for the app: ask the person to look;
- ``rejected``: FCM says the app on this phone no longer receives pushes (removed, or its
  token is dead): the device is retired (``retired_reason``); opening the app registers it
  again, then send another check;
- ``dead``: sending failed and was given up (``last_error``): a fault on our side or in
  Firebase, not the phone's; try again later;
- ``cancelled``: the phone was signed out or moved to someone else before the push went;
- ``unknown``: the worker stopped during the call: the push may or may not have arrived and
  is not sent again; ask the person to look, or send another check.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from notifications import devices, outbox
from notifications.clock import NOW, Clock, reading
from notifications.formatting import clip
from notifications.models import LANGUAGES
from notifications.settings import NotifySettings

KIND: Final = "desk.check"
KEY_PATTERN: Final = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")
NAME_LIMIT: Final = 200  # a longer name is stored clipped (the push shows at most 60)
STALE_AFTER_DAYS: Final[int] = int(NotifySettings.model_fields["stale_after_days"].default)
# Why a device has no delivery of the check (besides its ``retired_reason``).
NOT_SEEN_RECENTLY: Final = "NOT_SEEN_RECENTLY"
REGISTERED_AFTER_CHECK: Final = "REGISTERED_AFTER_CHECK"
UNFINISHED: Final = ("pending", "sending")

_EVENT: Final = f"SELECT CAST(:person AS uuid), '{KIND}', CAST(:payload AS jsonb), :key"
WRITE: Final = ("WITH "  # noqa: S608 (constant fragments, no client value)
                f"{outbox.cte('written', _EVENT, returning='id')} SELECT id FROM written")
_DEVICE: Final = ", ".join(f"v.{column.strip()}" for column in devices.COLUMNS.split(","))
# One statement, one row per device of the person (one row of NULL device columns when they
# have none; no row when there is no such check).
STATES: Final = f"""
WITH e AS (
  SELECT id, person_id, created_at, dispatched_at, {NOW} AS now, dedupe_key FROM notify.outbox
  WHERE id = :event AND kind = '{KIND}'
    AND (CAST(:person AS uuid) IS NULL OR person_id = CAST(:person AS uuid))
)
SELECT e.id, e.person_id, e.created_at, e.dispatched_at, e.now, {_DEVICE},
  d.state, d.attempts, d.due_at, d.last_error, d.finished_at, e.dedupe_key
FROM e
LEFT JOIN notify.device v ON v.person_id = e.person_id
LEFT JOIN notify.delivery d ON d.event_id = e.id AND d.device_id = v.id
ORDER BY v.retired_at IS NOT NULL, v.last_seen_at DESC, v.id DESC
"""  # noqa: S608 (constant fragments and the clock expression, no client value)


@dataclass(frozen=True)
class DeviceCheck:
    """One device of the person and what became of the check's push to it (never its token).

    ``state``: the delivery's state (see the module for what each means at the desk), None
    when no push was made for this device; then ``not_reached`` says why: the device's
    ``retired_reason`` (``SIGNED_OUT``, ``UNREGISTERED_BY_USER``, ``MOVED``,
    ``UNREGISTERED``, ``SENDER_ID_MISMATCH``, ``INVALID_TOKEN``), ``NOT_SEEN_RECENTLY`` (the
    app was not opened for ``stale_after_days``, now or when the check went out), or
    ``REGISTERED_AFTER_CHECK`` (the app registered this phone after the check went out: send
    another).  ``held_until``: when a pending push is due later than now (quiet hours, or a
    retry), else None.  ``last_error``: FCM's last refusal (``UNREGISTERED``, ``UNAVAILABLE``
    …) or ``DEVICE_RETIRED``.  ``finished_at``: when it reached its final state.
    """

    device_id: int
    platform: str
    app_version: str
    language: str
    registered_at: datetime
    last_seen_at: datetime
    retired_at: datetime | None
    retired_reason: str | None
    state: str | None
    attempts: int
    held_until: datetime | None
    last_error: str | None
    finished_at: datetime | None
    not_reached: str | None

    @property
    def held_for(self) -> str | None:
        """Why a pending push waits: ``QUIET_HOURS`` (the person's quiet hours; nothing was
        tried yet) or ``RETRY`` (FCM refused for a while, ``last_error``; the retry also
        waits for quiet hours); None when it is not held."""
        if self.held_until is None:
            return None
        return "RETRY" if self.attempts else "QUIET_HOURS"

    @property
    def finished(self) -> bool:
        """Nothing more will happen: its push reached a final state, or it gets none
        (``not_reached``).  False for a phone still to get one or whose push is on its way."""
        if self.state is None:
            return self.not_reached is not None
        return self.state not in UNFINISHED


@dataclass(frozen=True)
class CheckReport:
    """Where a check stands.

    ``dispatched``: the worker has taken the check (``dispatched_at``): it wrote the inbox
    item and a push for every device that gets pushes; before that, every ``state`` is None.
    ``devices``: every device of the person, those that get pushes first, then the most
    recently seen.  ``now``: the instant the report was read (the database's clock, or the
    one given), against which ``held_until`` and staleness were judged.
    """

    event_id: int
    person_id: uuid.UUID
    created_at: datetime
    dispatched: bool
    dispatched_at: datetime | None
    now: datetime
    devices: tuple[DeviceCheck, ...]
    key: str = ""
    """The key the check was sent with (``send_check``): the caller's, e.g. to bind it to
    the desk's consent window."""

    @property
    def finished(self) -> bool:
        """The page can stop polling: dispatched, and no push pending or under way."""
        return self.dispatched and all(device.finished for device in self.devices)

    @property
    def reached(self) -> int:
        """How many devices FCM accepted the push for."""
        return sum(device.state == "sent" for device in self.devices)


async def send_check(conn: AsyncConnection, person_id: uuid.UUID, key: str,
                     clinic: Mapping[str, str]) -> int | None:
    """Write a check of ``person_id``'s phones to the outbox, in the caller's transaction (it
    goes when the caller commits); the event's id, or None when ``key`` was used already
    (a retried form writes nothing twice).

    ``key``: unique per check (a fresh UUID; letters, digits, ``_.:-``, at most 128), stored
    as ``dedupe_key`` ``desk.check:<key>``.  ``clinic``: the desk's clinic name in kk, ru
    and en (``{"kk": …, "ru": …, "en": …}``, as events carry provider names; spaces
    collapsed, clipped to ``NAME_LIMIT``); the push reads "This is a test from the registry
    desk at <clinic>".  ValueError for a malformed key or a name missing in a language (the
    caller's bug, not the person's)."""
    if not KEY_PATTERN.fullmatch(key):
        raise ValueError("a check's key: 1 to 128 letters, digits or _.:-")
    names = {language: clip(" ".join(str(clinic.get(language) or "").split()), NAME_LIMIT)
             for language in LANGUAGES}
    if not all(names.values()):
        raise ValueError(f"a clinic's name in each of {LANGUAGES}")
    written = await conn.execute(text(WRITE), {
        "person": person_id, "payload": json.dumps({"clinic": names}, ensure_ascii=False),
        "key": f"{KIND}:{key}"})
    event_id = written.scalar_one_or_none()
    return None if event_id is None else int(event_id)


async def check_states(conn: AsyncConnection, event_id: int, *,
                       person_id: uuid.UUID | None = None,
                       stale_after_days: int = STALE_AFTER_DAYS,
                       clock: Clock | None = None) -> CheckReport | None:
    """Where check ``event_id`` stands (see ``CheckReport``); None when there is no such
    check (of ``person_id``, when given: pass the person the desk is serving, so that a
    page cannot be pointed at someone else's check).

    ``stale_after_days``: the dispatcher's (``NotifySettings.stale_after_days``).
    ``clock``: the dispatcher's (``notifications.clock``; None: the database's)."""
    rows = (await conn.execute(text(STATES), {"event": event_id, "person": person_id,
                                              "now": reading(clock)})).all()
    if not rows:
        return None
    event, person, created_at, dispatched_at, now = rows[0][:5]
    found = []
    for row in rows:
        if row[5] is None:  # no devices at all
            continue
        device = devices.DeviceRow(*row[5:15])
        state, attempts, due_at, last_error, finished_at = row[15:20]
        found.append(DeviceCheck(
            device_id=device.id, platform=device.platform, app_version=device.app_version,
            language=device.language, registered_at=device.registered_at,
            last_seen_at=device.last_seen_at, retired_at=device.retired_at,
            retired_reason=device.retired_reason, state=state, attempts=int(attempts or 0),
            held_until=due_at if state == "pending" and due_at > now else None,
            last_error=last_error, finished_at=finished_at,
            not_reached=None if state is not None else _not_reached(
                device, now, dispatched_at, stale_after_days)))
    key = str(rows[0][-1]).removeprefix(f"{KIND}:")
    return CheckReport(int(event), person, created_at, dispatched_at is not None,
                       dispatched_at, now, tuple(found), key)


def _not_reached(device: devices.DeviceRow, now: datetime, dispatched_at: datetime | None,
                 stale_after_days: int) -> str | None:
    """Why a device has no delivery of the check (None: it will get one when dispatched)."""
    reason = device.push_off_reason(now, stale_after_days)
    if reason is not None or dispatched_at is None:
        return reason
    if device.registered_at > dispatched_at:
        return REGISTERED_AFTER_CHECK
    # Not retired now, so not retired then (a retired row never comes back), and no category
    # stops a check: it was not seen for ``stale_after_days`` when the check went out, and
    # the app has been opened since.
    return NOT_SEEN_RECENTLY
