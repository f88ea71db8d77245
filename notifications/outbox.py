"""The event outbox: what ``backend`` calls, inside its own transaction, to record events.

Events are written set-wise: the caller hands a ``SELECT`` that yields
``(person_id, kind, payload, dedupe_key)`` and ``cte`` wraps it into an
``INSERT … ON CONFLICT (dedupe_key) DO NOTHING`` member of the caller's own ``WITH``, so the
change and its events are one statement, a million changes cost one statement, and a retried
batch adds nothing.  Kinds and their payloads are listed in
``EVENT_KINDS``; the mobile contract describes the pushes made from them.
"""

from __future__ import annotations

from typing import Final

EVENT_KINDS: Final = {
    "contribution.received": "money arrived for the person (payload: contributions, by id)",
    "contribution.refunded": "money was returned (payload: refund id, original id, amount)",
    "service.paid": "the Fund paid a provider for the person's care (payload: payments)",
    "service.withdrawn": "the Fund withheld a payment for a defect (payload: ids, amount)",
    "status.changed": "the person's insurance status changed (payload: old, new, reason, "
                      "the day it next changes)",
    "announcement.published": "news from the Fund (payload: titles and bodies in kk, ru, en, "
                              "help article, sendAt: the push's place in line)",
    "desk.check": "a registry-desk worker checked that the person's phones receive pushes "
                  "(payload: clinic, the desk's clinic name in kk, ru, en; see "
                  "notifications.checks)",
    "status.warning": "the person's cover ends on dropsOn unless a contribution arrives "
                      "(payload: dropsOn, daysLeft, status today, selfPayer; written 14 and "
                      "3 days before by backend.status.warnings, dedupe key "
                      "status.warning:<person>:<dropsOn>:<daysLeft>)",
    "payment.reminder": "a self-payer is asked to pay amountTiyn by dueOn, the coming 25th "
                        "(payload: dueOn, amountTiyn, period: the month to name in the "
                        "payment, months: the months it pays, arrears first; written a few "
                        "days before by backend.status.reminders, dedupe key "
                        "payment.reminder:<person>:<dueOn>)",
    "dispute.updated": "a case the person reported about a covered service (\"I did not "
                       "receive this\") changed state (payload: caseId, serviceId, state, "
                       "category, careDate, dueOn, provider and service names, "
                       "recoveredTiyn and the Fund's explanation once resolved, patient: a "
                       "child's first name when a parent reported; written by "
                       "backend.disputes.service to the reporter, dedupe key "
                       "dispute:<case>:<state>)",
}
COLUMNS: Final = "person_id, kind, payload, dedupe_key"


def cte(name: str, select_sql: str, returning: str = "1") -> str:
    """A ``WITH`` member ``name`` that writes every row of ``select_sql`` (columns
    ``COLUMNS``) to the outbox and returns one row per event written (a retried change whose
    ``dedupe_key`` is there already writes nothing); ``returning``: the outbox columns each
    row carries (``id`` for a caller that needs the event's id)."""
    return (f"{name} AS (INSERT INTO notify.outbox ({COLUMNS}) {select_sql} "
            f"ON CONFLICT (dedupe_key) DO NOTHING RETURNING {returning})")

