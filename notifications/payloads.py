"""The data of a push (FCM ``data``: every value a string) and its deep link.

The data carries ids, never names or amounts: the app fetches what it shows over the API, so
a push says little to whoever sees the phone's notification log, and stays far below FCM's
4 KB.  Ids are the API's global ids (``node_id``); lists keep the newest ``MAX_IDS``.
``mobile_contract/push/<type>.schema.json`` describes each type; ``mobile_contract/push/
README.md`` the deep links.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

SCHEMA_DIR: Final[Path] = Path(__file__).resolve().parent.parent / "mobile_contract" / "push"
PUSH_TYPES: Final = ("contribution.received", "contribution.refunded", "service.paid",
                     "service.withdrawn", "service.digest", "status.changed",
                     "announcement.published", "desk.check", "status.warning",
                     "payment.reminder", "dispute.updated")
DIGEST_CATEGORY: Final = "service_payments"
MAX_IDS: Final = 20
MAX_DAYS: Final = 12
MAX_DATA_BYTES: Final = 1000
"""The data, serialized as compact JSON, stays under this; lists are cut (oldest first) to fit."""

_LIST_KEYS: Final = ("contributionIds", "periods", "serviceIds", "careDates")
DISPUTE_STATES: Final = ("SUBMITTED", "IN_REVIEW", "CONFIRMED", "NOT_CONFIRMED")
REMINDER_DUE_DAY: Final = 25
REMINDER_MAX_MONTHS: Final = 13  # twelve months of arrears and the month due


@dataclass(frozen=True)
class Reminder:
    """A ``payment.reminder`` payload, checked: pay ``amount_tiyn`` by ``due_on`` (a 25th),
    naming ``period`` in the payment, for ``months`` ((year, month), oldest first)."""

    due_on: date
    amount_tiyn: int
    period: tuple[int, int]
    months: tuple[tuple[int, int], ...]


_MONTH: Final = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def _month(value: object) -> tuple[int, int]:
    match = _MONTH.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"not a month YYYY-MM: {value!r}")
    return int(match.group(1)), int(match.group(2))


def month_text(month: tuple[int, int]) -> str:
    """(year, month) as "YYYY-MM"."""
    return f"{month[0]:04d}-{month[1]:02d}"


def parse_reminder(payload: Mapping[str, Any]) -> Reminder:
    """The checked ``payment.reminder`` payload; ValueError (or KeyError, TypeError) when it
    is not one: a reminder that cannot be worded exactly is not sent at all."""
    due_on = payload["dueOn"]
    if not isinstance(due_on, str):
        raise ValueError(f"dueOn must be YYYY-MM-DD: {due_on!r}")
    day = date.fromisoformat(due_on)
    if day.day != REMINDER_DUE_DAY or day.isoformat() != due_on:
        raise ValueError(f"dueOn must be a 25th, YYYY-MM-DD: {due_on!r}")
    amount = payload["amountTiyn"]
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"amountTiyn must be a positive integer: {amount!r}")
    months = payload["months"]
    if not isinstance(months, list) or not 1 <= len(months) <= REMINDER_MAX_MONTHS:
        raise ValueError(f"months must list 1 to {REMINDER_MAX_MONTHS} months: {months!r}")
    parsed = tuple(_month(month) for month in months)
    if any(a >= b for a, b in pairwise(parsed)):
        raise ValueError(f"months must be distinct, oldest first: {months!r}")
    period = _month(payload["period"])
    if period not in parsed:
        raise ValueError(f"the period {payload['period']!r} is not one of the months")
    if parsed[-1] >= (day.year, day.month):  # a month is due by the 25th of the next one
        raise ValueError(f"a month not due by {due_on}: {months!r}")
    return Reminder(day, amount, period, parsed)


def dispute_state(payload: Mapping[str, Any]) -> str:
    """The state a ``dispute.updated`` payload announces (ValueError for one it cannot)."""
    state = payload["state"]
    if not isinstance(state, str) or state not in DISPUTE_STATES:
        raise ValueError(f"unknown case state {state!r}")
    return state


def _key(value: object) -> int:
    """A row id from a payload (ValueError for anything but a positive integer)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"not an id: {value!r}")
    return value


def node_id(type_name: str, key: object) -> str:
    """The API's global id: base64 (standard alphabet) of ``"Type:key"`` in UTF-8."""
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def _segment(value: str) -> str:
    """A node id as one path segment (``/`` and ``+`` percent-encoded; ``=`` kept)."""
    return quote(value, safe="=")


def _latest(values: Sequence[str], cap: int) -> list[str]:
    """The distinct ``values``, sorted, newest ``cap`` of them."""
    return sorted(set(values))[-cap:]


def _contribution_link(payload: Mapping[str, Any], _: int) -> str:
    contributions = payload["contributions"]
    if len(contributions) == 1:
        return f"mhi://contributions/{_segment(node_id('Contribution', contributions[0]['id']))}"
    return f"mhi://contributions?period={max(str(c['period']) for c in contributions)}"


def _care_link(payload: Mapping[str, Any], _: int) -> str:
    payments = payload["payments"]
    if len(payments) == 1:
        return f"mhi://care/{_segment(node_id('CoveredService', payments[0]['id']))}"
    return f"mhi://care?date={max(str(p['careDate']) for p in payments)}"


def _inbox_link(notification_id: int) -> str:
    return f"mhi://inbox/{_segment(node_id('Notification', notification_id))}"


def _announcement_link(payload: Mapping[str, Any], notification_id: int) -> str:
    slug = payload.get("helpSlug")
    if slug:
        return f"mhi://help/{quote(str(slug), safe='')}"
    return _inbox_link(notification_id)


_LINKS: Final[Mapping[str, Callable[[Mapping[str, Any], int], str]]] = {
    "contribution.received": _contribution_link,
    "contribution.refunded": lambda payload, _: (
        f"mhi://contributions/{_segment(node_id('Contribution', payload['id']))}"),
    "service.paid": _care_link,
    "service.withdrawn": lambda payload, _: (
        f"mhi://care/{_segment(node_id('CoveredService', payload['id']))}"),
    "status.changed": lambda payload, _: "mhi://insurance",
    "announcement.published": _announcement_link,
    "desk.check": lambda _, notification_id: _inbox_link(notification_id),
    # The status screen: what a self-payer owes and how to pay, or who paid last.
    "status.warning": lambda payload, _: "mhi://insurance",
    # The status screen too: a self-payer's payment details and amounts (HowToPay) are there.
    "payment.reminder": lambda payload, _: "mhi://insurance",
    # The case itself (``node(id:)`` gives it to the reporter: the patient or their parent).
    "dispute.updated": lambda payload, _: (
        f"mhi://cases/{_segment(node_id('DisputeCase', _key(payload['caseId'])))}"),
}


def deep_link(kind: str, payload: Mapping[str, Any], *, notification_id: int) -> str:
    """Where tapping the push of an event of ``kind`` opens the app (``mhi://…``)."""
    link = _LINKS.get(kind)
    if link is None:
        raise ValueError(f"unknown event kind {kind!r}")
    try:
        return link(payload, notification_id)
    except (KeyError, TypeError, IndexError, ValueError) as error:
        raise ValueError(f"malformed {kind} payload: {error!r}") from error


def _received(payload: Mapping[str, Any]) -> dict[str, str]:
    contributions = sorted(payload["contributions"], key=lambda c: (str(c["period"]), c["id"]))
    return {"contributionIds": ",".join(node_id("Contribution", c["id"])
                                        for c in contributions[-MAX_IDS:]),
            "periods": ",".join(_latest([str(c["period"]) for c in contributions], MAX_DAYS)),
            "count": str(len(contributions))}


def _paid(payload: Mapping[str, Any]) -> dict[str, str]:
    payments = sorted(payload["payments"], key=lambda p: (str(p["careDate"]), p["id"]))
    return {"serviceIds": ",".join(node_id("CoveredService", p["id"])
                                   for p in payments[-MAX_IDS:]),
            "careDates": ",".join(_latest([str(p["careDate"]) for p in payments], MAX_DAYS)),
            "count": str(len(payments))}


def _announcement(payload: Mapping[str, Any]) -> dict[str, str]:
    data = {"announcementId": str(int(payload["announcementId"]))}
    if payload.get("helpSlug"):
        data["helpSlug"] = str(payload["helpSlug"])
    return data


def _warning(payload: Mapping[str, Any]) -> dict[str, str]:
    if not isinstance(payload["selfPayer"], bool):
        raise ValueError(f"selfPayer must be true or false: {payload['selfPayer']!r}")
    return {"dropsOn": date.fromisoformat(str(payload["dropsOn"])).isoformat(),
            "daysLeft": str(int(payload["daysLeft"])),
            "status": str(payload["status"]).upper(),
            "selfPayer": "true" if payload["selfPayer"] else "false"}


def _reminder(payload: Mapping[str, Any]) -> dict[str, str]:
    """The day, the month to name and the months paid: no amount (see the module)."""
    reminder = parse_reminder(payload)
    return {"dueOn": reminder.due_on.isoformat(),
            "period": month_text(reminder.period),
            "months": ",".join(month_text(month) for month in reminder.months)}


def _dispute(payload: Mapping[str, Any]) -> dict[str, str]:
    """The case, the service it is about and the new state: no names, no amounts."""
    return {"caseId": node_id("DisputeCase", _key(payload["caseId"])),
            "serviceId": node_id("CoveredService", _key(payload["serviceId"])),
            "state": dispute_state(payload)}


_FIELDS: Final[Mapping[str, Callable[[Mapping[str, Any]], dict[str, str]]]] = {
    "contribution.received": _received,
    "contribution.refunded": lambda payload: {
        "contributionId": node_id("Contribution", payload["id"]),
        "refundOfId": node_id("Contribution", payload["refundOf"])},
    "service.paid": _paid,
    "service.withdrawn": lambda payload: {
        "serviceId": node_id("CoveredService", payload["id"]),
        "withdrawalOfId": node_id("CoveredService", payload["withdrawalOf"])},
    "status.changed": lambda payload: {"status": str(payload["newStatus"]).upper(),
                                       "reason": str(payload["reason"]).upper()},
    "announcement.published": _announcement,
    "desk.check": lambda _: {},  # no keys of its own: the text says it all
    "status.warning": _warning,
    "payment.reminder": _reminder,
    "dispute.updated": _dispute,
}


def _fit(data: dict[str, str]) -> dict[str, str]:
    """``data`` with its lists cut, oldest first, until it serializes under the limit."""
    while len(json.dumps(data, separators=(",", ":")).encode()) > MAX_DATA_BYTES:
        longest = max((key for key in _LIST_KEYS if "," in data.get(key, "")),
                      key=lambda key: len(data[key]), default=None)
        if longest is None:
            raise ValueError("push data too large")
        data[longest] = data[longest].split(",", 1)[1]
    return data


def push_data(kind: str, payload: Mapping[str, Any], *, notification_id: int,
              category: str) -> dict[str, str]:
    """The FCM data of the push of one event: ``type``, ``category``, ``link``,
    ``notificationId`` and the ids of ``kind`` (see ``mobile_contract/push``)."""
    fields = _FIELDS.get(kind)
    if fields is None:
        raise ValueError(f"unknown event kind {kind!r}")
    data = {"type": kind, "category": category,
            "link": deep_link(kind, payload, notification_id=notification_id),
            "notificationId": node_id("Notification", notification_id)}
    try:
        data.update(fields(payload))
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"malformed {kind} payload: {error!r}") from error
    return _fit(data)


def digest_data(payloads: Sequence[Mapping[str, Any]], *, notification_ids: Sequence[int],
                day: date) -> dict[str, str]:
    """The FCM data of a digest of ``service.paid`` events of one day: the newest
    notification's id, how many services the day's events list, and the day."""
    if not notification_ids:
        raise ValueError("a digest needs at least one notification")
    try:
        count = sum(len(payload["payments"]) for payload in payloads)
    except (KeyError, TypeError) as error:
        raise ValueError(f"malformed service.paid payload: {error!r}") from error
    if not count:
        raise ValueError("a digest needs at least one payment")
    return {"type": "service.digest", "category": DIGEST_CATEGORY,
            "link": f"mhi://care?date={day.isoformat()}",
            "notificationId": node_id("Notification", max(notification_ids)),
            "count": str(count), "day": day.isoformat()}
