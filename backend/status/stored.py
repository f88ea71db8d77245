"""A stored status read back: the engine's whole result kept with ``core.person_status``.

The status store (``backend.status.store``) computes each status with the engine and keeps,
besides the status and reason code, everything a reader shows: the reason's facts, the dates,
the grace and what a self-payer owes (column ``detail``, JSON).  A reader of a fresh row gets
exactly what ``compute_status`` would return on its day without reading the person's whole
contribution history; a stale or missing row sends the reader back to the engine
(``backend.gql.dataloaders`` does both), so the engine stays the one source of truth.

The detail is language-neutral: the payer is kept by id (fact ``payer_id``) and named in the
reader's language when read (``repository.STORED``).  A row is fresh on ``today`` when

* it has a detail: a write that can change the result without recomputing it (money for a
  person whose stored INSURED status cannot drop, see ``store.DUE``) clears it, in the
  write's own transaction, and the worker's status pass recomputes it within minutes;
* ``as_of <= today < stable_until``: nothing that the engine reads changes with time
  between those days (``store.stable_until``: the next month start or deadline, a category's
  start or end, a payment dated later than ``as_of``).

Rates come from the rate book of the process that stored the row; an upgrade that changes
published rates recomputes every status (``mhi statuses refresh --all``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from backend.rates.kinds import ContributionKind
from backend.status.models import Reason, ReasonCode, SelfPayment, Status, StatusResult


def encode(result: StatusResult) -> str:
    """``result`` as the JSON text of ``core.person_status.detail`` (without the payer's
    name, which depends on the language; its id stays in the facts)."""
    facts = {key: value for key, value in result.reason.facts.items() if key != "payer"}
    due = result.self_payment
    return json.dumps({
        "facts": facts,
        "guaranteed_until": _iso(result.guaranteed_until),
        "last_paid_period": _iso(result.last_paid_period),
        "grace_months": result.grace_months,
        "self_payment": None if due is None else {
            "monthly_amount_tiyn": due.monthly_amount_tiyn,
            "next_period": due.next_period.isoformat(),
            "next_due_date": due.next_due_date.isoformat(),
            "arrears_periods": [period.isoformat() for period in due.arrears_periods],
            "arrears_tiyn": due.arrears_tiyn,
            "kind": due.kind.value,
        },
    }, separators=(",", ":"), sort_keys=True)


def is_fresh(row: Mapping[str, Any], today: date) -> bool:
    """Whether a row of ``repository.STORED`` holds what the engine would compute on
    ``today``."""
    return (row["detail"] is not None
            and row["as_of"] <= today < row["stable_until"])


def detail_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """The parsed ``detail`` of a fresh row of ``repository.STORED``."""
    detail = row["detail"]
    parsed: dict[str, Any] = json.loads(detail) if isinstance(detail, str) else detail
    return parsed


def decode(row: Mapping[str, Any], detail: Mapping[str, Any],
           payer_name: str | None) -> StatusResult:
    """The engine's result from a fresh row of ``repository.STORED`` and its ``detail_of``,
    the payer named ``payer_name``."""
    facts: dict[str, str] = dict(detail["facts"])
    if payer_name is not None:
        facts["payer"] = payer_name
    due = detail["self_payment"]
    return StatusResult(
        status=Status(row["status"]),
        reason=Reason(ReasonCode(row["reason_code"]), facts),
        guaranteed_until=_date(detail["guaranteed_until"]),
        last_paid_period=_date(detail["last_paid_period"]),
        grace_months=detail["grace_months"],
        self_payment=None if due is None else SelfPayment(
            monthly_amount_tiyn=due["monthly_amount_tiyn"],
            next_period=date.fromisoformat(due["next_period"]),
            next_due_date=date.fromisoformat(due["next_due_date"]),
            arrears_periods=tuple(date.fromisoformat(day) for day in due["arrears_periods"]),
            arrears_tiyn=due["arrears_tiyn"],
            kind=ContributionKind(due["kind"]),
        ),
    )


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)
