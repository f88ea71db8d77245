"""Push data and deep links: valid against ``mobile_contract/push``, strings only, small."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from notifications import models
from notifications.payloads import (
    PUSH_TYPES,
    SCHEMA_DIR,
    deep_link,
    digest_data,
    node_id,
    push_data,
)

NAMES = {"kk": "Атау", "ru": "Название", "en": "Name"}


def payment(id_: int, care_date: str = "2026-11-03") -> dict[str, Any]:
    return {"id": id_, "providerId": "P5", "serviceCode": "A01.001", "careDate": care_date,
            "amountTiyn": 1_240_000, "flags": [], "provider": NAMES, "service": NAMES}


def contribution(id_: int, period: str = "2026-10") -> dict[str, Any]:
    return {"id": id_, "kind": "employer", "period": period, "amountTiyn": 425_000,
            "paidOn": "2026-11-20", "payer": None}


EVENTS: dict[str, tuple[str, Mapping[str, Any]]] = {
    "contribution.received": ("payments", {"batch": 7, "contributions": [
        contribution(101, "2026-09"), contribution(102, "2026-10")]}),
    "contribution.refunded": ("payments", {"id": 103, "refundOf": 101, "kind": "employer",
                                           "period": "2026-09", "amountTiyn": 425_000,
                                           "paidOn": "2026-11-21", "payer": NAMES}),
    "service.paid": ("service_payments", {"batch": 8, "payments": [payment(5001)]}),
    "service.withdrawn": ("service_payments", {
        "id": 5002, "withdrawalOf": 5001, "providerId": "P5", "serviceCode": "A01.001",
        "careDate": "2026-11-03", "amountTiyn": 1_240_000, "provider": NAMES,
        "service": NAMES}),
    "status.changed": ("critical", {"oldStatus": "INSURED", "newStatus": "CONDITIONALLY_INSURED",
                                    "reason": "GRACE_PERIOD", "on": "2026-11-01",
                                    "changesOn": "2027-02-01"}),
    "announcement.published": ("announcements", {
        "announcementId": 9, "title": NAMES, "body": NAMES, "helpSlug": "turn-on-notifications"}),
    "desk.check": ("critical", {"clinic": NAMES}),
    "status.warning": ("critical", {"dropsOn": "2027-03-01", "daysLeft": 14,
                                    "status": "CONDITIONALLY_INSURED", "selfPayer": True}),
    "payment.reminder": ("reminders", {"dueOn": "2026-12-25", "amountTiyn": 850_000,
                                       "period": "2026-11", "months": ["2026-10", "2026-11"]}),
    "dispute.updated": ("service_payments", {
        "caseId": 12, "serviceId": 5001, "state": "CONFIRMED", "category": "NOT_RECEIVED",
        "careDate": "2026-11-03", "dueOn": "2026-12-08", "recoveredTiyn": 1_240_000,
        "explanation": NAMES, "provider": NAMES, "service": NAMES, "patient": "Dana"}),
}


def validator(type_name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{type_name}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def size(data: Mapping[str, str]) -> int:
    return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())


def test_there_is_one_schema_per_push_type() -> None:
    assert sorted(path.name for path in SCHEMA_DIR.glob("*.schema.json")) == sorted(
        f"{type_name}.schema.json" for type_name in PUSH_TYPES)
    assert (SCHEMA_DIR / "README.md").is_file()


@pytest.mark.parametrize("type_name", PUSH_TYPES)
def test_every_schema_is_valid_and_closed(type_name: str) -> None:
    schema = json.loads((SCHEMA_DIR / f"{type_name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://mhi.kz/mobile_contract/push/{type_name}.schema.json"
    assert schema["additionalProperties"] is False
    assert {"type", "category", "link", "notificationId"} <= set(schema["required"])
    assert schema["properties"]["type"]["const"] == type_name
    assert schema["properties"]["category"]["enum"] == list(models.CATEGORIES)


@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_push_data_validates_against_its_schema(kind: str) -> None:
    category, payload = EVENTS[kind]
    data = push_data(kind, payload, notification_id=77, category=category)
    assert all(isinstance(value, str) for value in data.values())
    assert data["type"] == kind and data["category"] == category
    assert data["notificationId"] == node_id("Notification", 77)
    assert data["link"] == deep_link(kind, payload, notification_id=77)
    validator(kind).validate(data)


def test_digest_data_validates_against_its_schema() -> None:
    day = [{"batch": 1, "payments": [payment(1), payment(2)]}, {"batch": 2, "payments": [
        payment(3)]}]
    data = digest_data(day, notification_ids=[40, 42, 41], day=date(2026, 11, 3))
    assert data == {"type": "service.digest", "category": "service_payments",
                    "link": "mhi://care?date=2026-11-03",
                    "notificationId": node_id("Notification", 42), "count": "3",
                    "day": "2026-11-03"}
    validator("service.digest").validate(data)


def test_an_announcement_without_help_links_to_the_inbox() -> None:
    payload = dict(EVENTS["announcement.published"][1], helpSlug=None)
    data = push_data("announcement.published", payload, notification_id=5,
                     category="announcements")
    assert "helpSlug" not in data
    assert data["link"] == "mhi://inbox/" + node_id("Notification", 5)
    validator("announcement.published").validate(data)


def test_deep_links() -> None:
    one = {"batch": 1, "contributions": [contribution(5)]}
    assert deep_link("contribution.received", one, notification_id=1) == (
        "mhi://contributions/Q29udHJpYnV0aW9uOjU=")
    several = {"batch": 1, "contributions": [contribution(5, "2026-10"),
                                             contribution(6, "2026-11"),
                                             contribution(7, "2026-09")]}
    assert deep_link("contribution.received", several, notification_id=1) == (
        "mhi://contributions?period=2026-11")
    refund = EVENTS["contribution.refunded"][1]
    assert deep_link("contribution.refunded", refund, notification_id=1) == (
        "mhi://contributions/" + node_id("Contribution", 103))
    assert deep_link("service.paid", {"payments": [payment(9)]}, notification_id=1) == (
        "mhi://care/" + node_id("CoveredService", 9))
    paid = {"payments": [payment(9, "2026-11-03"), payment(10, "2026-11-05")]}
    assert deep_link("service.paid", paid, notification_id=1) == "mhi://care?date=2026-11-05"
    assert deep_link("service.withdrawn", EVENTS["service.withdrawn"][1],
                     notification_id=1) == "mhi://care/" + node_id("CoveredService", 5002)
    assert deep_link("status.changed", EVENTS["status.changed"][1],
                     notification_id=1) == "mhi://insurance"
    assert deep_link("announcement.published", EVENTS["announcement.published"][1],
                     notification_id=1) == "mhi://help/turn-on-notifications"
    assert deep_link("desk.check", EVENTS["desk.check"][1], notification_id=1) == (
        "mhi://inbox/" + node_id("Notification", 1))
    assert deep_link("status.warning", EVENTS["status.warning"][1],
                     notification_id=1) == "mhi://insurance"
    assert deep_link("payment.reminder", EVENTS["payment.reminder"][1],
                     notification_id=1) == "mhi://insurance"


def test_node_id_is_the_apis_global_id() -> None:
    assert base64.b64decode(node_id("Contribution", 5)).decode() == "Contribution:5"
    assert node_id("Contribution", 5) == "Q29udHJpYnV0aW9uOjU="


def test_per_type_keys() -> None:
    category, payload = EVENTS["contribution.received"]
    data = push_data("contribution.received", payload, notification_id=1, category=category)
    assert data["contributionIds"] == ",".join(node_id("Contribution", i) for i in (101, 102))
    assert data["periods"] == "2026-09,2026-10"
    refund = push_data("contribution.refunded", EVENTS["contribution.refunded"][1],
                       notification_id=1, category="payments")
    assert refund["contributionId"] == node_id("Contribution", 103)
    assert refund["refundOfId"] == node_id("Contribution", 101)
    withdrawn = push_data("service.withdrawn", EVENTS["service.withdrawn"][1],
                          notification_id=1, category="service_payments")
    assert (withdrawn["serviceId"], withdrawn["withdrawalOfId"]) == (
        node_id("CoveredService", 5002), node_id("CoveredService", 5001))
    changed = push_data("status.changed", EVENTS["status.changed"][1], notification_id=1,
                        category="critical")
    assert (changed["status"], changed["reason"]) == ("CONDITIONALLY_INSURED", "GRACE_PERIOD")
    announced = push_data("announcement.published", EVENTS["announcement.published"][1],
                          notification_id=1, category="announcements")
    assert (announced["announcementId"], announced["helpSlug"]) == ("9", "turn-on-notifications")
    # A desk check carries no ids and no names (the clinic is in the text only).
    checked = push_data("desk.check", EVENTS["desk.check"][1], notification_id=1,
                        category="critical")
    assert set(checked) == {"type", "category", "link", "notificationId"}
    # A warning: the day, the days left, today's status, who pays (no ids, no amounts).
    warned = push_data("status.warning", EVENTS["status.warning"][1], notification_id=1,
                       category="critical")
    assert {key: warned[key] for key in ("dropsOn", "daysLeft", "status", "selfPayer")} == {
        "dropsOn": "2027-03-01", "daysLeft": "14", "status": "CONDITIONALLY_INSURED",
        "selfPayer": "true"}
    # A reminder: the day, the month to name, the months paid (no amount: the text has it).
    reminded = push_data("payment.reminder", EVENTS["payment.reminder"][1], notification_id=1,
                         category="reminders")
    assert {key: value for key, value in reminded.items() if key not in (
        "type", "category", "link", "notificationId")} == {
        "dueOn": "2026-12-25", "period": "2026-11", "months": "2026-10,2026-11"}


def reminder_months(count: int, last: str = "2026-11") -> list[str]:
    """``count`` consecutive months ending with ``last``, oldest first."""
    year, month = int(last[:4]), int(last[5:])
    index = year * 12 + month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]


@pytest.mark.parametrize("count", [1, 2, 5, 13])
def test_every_reminder_validates(count: int) -> None:
    months = reminder_months(count)
    payload = {"dueOn": "2026-12-25", "amountTiyn": 425_000 * count, "period": "2026-11",
               "months": months}
    data = push_data("payment.reminder", payload, notification_id=123_456,
                     category="reminders")
    validator("payment.reminder").validate(data)
    assert data["months"].split(",") == months
    assert size(data) < 1024
    assert not validator("payment.reminder").is_valid({**data, "dueOn": "2026-12-24"})
    assert not validator("payment.reminder").is_valid(
        {**data, "months": ",".join(reminder_months(14))})


@pytest.mark.parametrize("broken", [
    {"dueOn": "2026-12-24"}, {"dueOn": "20261225"}, {"dueOn": None}, {"dueOn": "2026-02-30"},
    {"amountTiyn": 0}, {"amountTiyn": -425_000}, {"amountTiyn": "425000"},
    {"amountTiyn": 4250.0}, {"amountTiyn": True}, {"period": "2026-13"}, {"period": "2026-9"},
    {"period": "2026-09"}, {"months": []}, {"months": "2026-11"},
    {"months": ["2026-11", "2026-10"]}, {"months": ["2026-11", "2026-11"]},
    {"months": reminder_months(14)}, {"months": ["2026-12"], "period": "2026-12"},
])
def test_a_broken_reminder_raises(broken: Mapping[str, Any]) -> None:
    payload = {**EVENTS["payment.reminder"][1], **broken}
    with pytest.raises(ValueError):
        push_data("payment.reminder", payload, notification_id=1, category="reminders")
    for key in ("dueOn", "amountTiyn", "period", "months"):
        missing = {k: v for k, v in EVENTS["payment.reminder"][1].items() if k != key}
        with pytest.raises(ValueError):
            push_data("payment.reminder", missing, notification_id=1, category="reminders")


@pytest.mark.parametrize("self_payer", [True, False])
@pytest.mark.parametrize("status", ["INSURED", "CONDITIONALLY_INSURED"])
def test_every_warning_validates(status: str, self_payer: bool) -> None:
    payload = {"dropsOn": "2027-12-31", "daysLeft": 3, "status": status,
               "selfPayer": self_payer}
    data = push_data("status.warning", payload, notification_id=123_456, category="critical")
    validator("status.warning").validate(data)
    assert (data["selfPayer"], data["status"]) == (str(self_payer).lower(), status)
    for broken in ({**payload, "selfPayer": None}, {**payload, "dropsOn": "2027-02-30"},
                   {k: v for k, v in payload.items() if k != "daysLeft"}):
        with pytest.raises(ValueError):
            push_data("status.warning", broken, notification_id=1, category="critical")


def test_a_500_payment_event_stays_small() -> None:
    payments = [payment(9_000_000_000 + i, f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d}")
                for i in range(500)]
    data = push_data("service.paid", {"batch": 1, "payments": payments},
                     notification_id=9_000_000_000, category="service_payments")
    validator("service.paid").validate(data)
    assert size(data) < 1024
    assert data["count"] == "500"
    ids = data["serviceIds"].split(",")
    assert 1 <= len(ids) <= 20
    newest = max(payments, key=lambda p: (p["careDate"], p["id"]))
    assert ids[-1] == node_id("CoveredService", newest["id"])
    assert len(data["careDates"].split(",")) <= 12
    assert data["link"] == f"mhi://care?date={newest['careDate']}"


def test_a_500_contribution_event_stays_small() -> None:
    contributions = [contribution(9_000_000_000 + i, f"{2000 + i // 12}-{i % 12 + 1:02d}")
                     for i in range(500)]
    data = push_data("contribution.received", {"batch": 1, "contributions": contributions},
                     notification_id=1, category="payments")
    validator("contribution.received").validate(data)
    assert size(data) < 1024
    assert data["periods"].split(",")[-1] == "2041-08"


@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_broken_data_fails_validation(kind: str) -> None:
    category, payload = EVENTS[kind]
    data = push_data(kind, payload, notification_id=77, category=category)
    check = validator(kind)
    for key in data:
        if key == "helpSlug":
            continue
        missing = {k: v for k, v in data.items() if k != key}
        assert not check.is_valid(missing), f"{kind} without {key} passed"
    assert not check.is_valid({**data, "amountTiyn": "425000"})
    assert not check.is_valid({**data, "notificationId": 77})
    assert not check.is_valid({**data, "link": "https://example.com/"})
    assert not check.is_valid({**data, "category": "marketing"})
    assert not check.is_valid({**data, "type": "service.digest"})
    assert not check.is_valid({**data, "notificationId": node_id("Contribution", 77)})


def test_ids_of_the_wrong_type_fail_validation() -> None:
    category, payload = EVENTS["contribution.received"]
    data = push_data("contribution.received", payload, notification_id=1, category=category)
    wrong = {**data, "contributionIds": node_id("CoveredService", 101)}
    assert not validator("contribution.received").is_valid(wrong)
    too_many = {**data, "contributionIds": ",".join([node_id("Contribution", 1)] * 21)}
    assert not validator("contribution.received").is_valid(too_many)


def test_unknown_kinds_and_broken_payloads_raise() -> None:
    with pytest.raises(ValueError):
        push_data("payment.overdue", {}, notification_id=1, category="reminders")
    with pytest.raises(ValueError):
        deep_link("payment.overdue", {}, notification_id=1)
    with pytest.raises(ValueError):
        push_data("service.paid", {"batch": 1}, notification_id=1, category="service_payments")
    with pytest.raises(ValueError):
        digest_data([], notification_ids=[], day=date(2026, 1, 1))
    with pytest.raises(ValueError):
        digest_data([], notification_ids=[1], day=date(2026, 1, 1))


def test_link_segments_are_percent_encoded() -> None:
    key = "a?>"  # bytes whose base64 holds "/" and "+"
    raw = node_id("Contribution", key)
    assert "/" in raw or "+" in raw
    link = deep_link("contribution.refunded", {"id": key}, notification_id=1)
    assert link.startswith("mhi://contributions/") and "/" not in link.removeprefix(
        "mhi://contributions/")
    schema = json.loads((SCHEMA_DIR / "contribution.refunded.schema.json").read_text())
    pattern = schema["properties"]["link"]["pattern"]
    assert re.fullmatch(pattern, link)


def test_a_case_push_carries_ids_and_state_only() -> None:
    category, payload = EVENTS["dispute.updated"]
    data = push_data("dispute.updated", payload, notification_id=7, category=category)
    assert data == {"type": "dispute.updated", "category": "service_payments",
                    "link": "mhi://cases/" + node_id("DisputeCase", 12),
                    "notificationId": node_id("Notification", 7),
                    "caseId": node_id("DisputeCase", 12),
                    "serviceId": node_id("CoveredService", 5001), "state": "CONFIRMED"}
    for broken in ({"state": "LOST"}, {"caseId": "12"}, {"serviceId": None}):
        with pytest.raises(ValueError):
            push_data("dispute.updated", {**payload, **broken}, notification_id=7,
                      category=category)
