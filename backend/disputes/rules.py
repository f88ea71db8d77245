"""The rules of a case, with no database: what a report may say, what it is about (its
category), how long the Fund has to answer, which changes are allowed, and how a comment is
checked.  The service (``backend.disputes.service``) applies them; the docs quote them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Final

from backend.models.disputes import (
    COMMENT_LENGTH,
    Answer,
    DisputeCategory,
    DisputeState,
)

REVIEW_DAYS: Final[Mapping[DisputeCategory, int]] = {
    # A bill for care never given, and a patient made to pay for what the Fund paid, are
    # fraud with money to take back: 15 days.  A wrong day or a patient who does not remember
    # needs the clinic's records first: 30 days.  (Calendar days from the day of the report.
    # The Fund's own rule for appeals, 15 working days extendable to 30, is unconfirmed for
    # these reports: change these figures, not the code around them.)
    DisputeCategory.NOT_RECEIVED: 15,
    DisputeCategory.ASKED_TO_PAY: 15,
    DisputeCategory.WRONG_DATE: 30,
    DisputeCategory.UNSURE: 30,
}
MAX_AMOUNT_TIYN: Final = 5_000_000_000
"""50 million tenge: more than anyone is asked to pay for one covered service."""
EXPLANATION_LENGTH: Final = 1000
REVIEWER_LENGTH: Final = 100

# Line breaks are kept (a comment may have paragraphs); every other control character, and the
# invisible characters that reorder or hide text on a reviewer's screen (bidirectional
# overrides and isolates, zero-width characters), is refused.
_INVISIBLE: Final = frozenset("\u200b\u200c\u200d\u2060\ufeff"
                              "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_CONTROL: Final = ("Cc", "Cs")
_AMOUNT: Final = re.compile(r"[0-9]{1,11}(\.[0-9]{1,2})?")


class Refusal(Exception):
    """A report or a change that cannot be made; ``reason`` names the words
    (``backend.disputes.texts.REFUSALS``), ``field`` the input at fault."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class Answers:
    """What the citizen answered (openIMIS asks the same per claim)."""

    care_given: Answer
    date_correct: Answer | None
    asked_to_pay: bool
    amount_asked_tiyn: int | None
    comment: str | None


def plain(text: str, *, lines: bool) -> bool:
    """Whether ``text`` is plain text: no control character (a line break only when
    ``lines``), nothing invisible that reorders or hides text."""
    return all((lines and char == "\n")
               or (unicodedata.category(char) not in _CONTROL and char not in _INVISIBLE)
               for char in text)


def category_of(answers: Answers) -> DisputeCategory:
    """What the report is about, the gravest first; ``Refusal`` (``NOTHING_WRONG``) when the
    answers say the care was given, on the day billed, and nothing was asked for it."""
    if answers.care_given is Answer.NO:
        return DisputeCategory.NOT_RECEIVED
    if answers.asked_to_pay:
        return DisputeCategory.ASKED_TO_PAY
    if answers.date_correct is Answer.NO:
        return DisputeCategory.WRONG_DATE
    if answers.care_given is Answer.NOT_SURE or answers.date_correct is Answer.NOT_SURE:
        return DisputeCategory.UNSURE
    raise Refusal("NOTHING_WRONG", "input")


def due_on(category: DisputeCategory, reported_on: date) -> date:
    """The last day the Fund has to resolve a case of ``category`` reported on
    ``reported_on``."""
    return reported_on + timedelta(days=REVIEW_DAYS[category])


def overdue(state: DisputeState, due: date, today: date) -> bool:
    """Whether an open case has passed its day."""
    return state in (DisputeState.SUBMITTED, DisputeState.IN_REVIEW) and today > due


def clean_comment(value: str | None) -> str | None:
    """The comment as stored: line ends made ``\\n``, outer blanks trimmed, None when empty;
    ``Refusal`` for a character that is not plain text (``COMMENT_FORBIDDEN``) or more than
    ``COMMENT_LENGTH`` characters (``COMMENT_TOO_LONG``)."""
    if value is None:
        return None
    text = value.replace("\r\n", "\n").strip()
    if not plain(text, lines=True):
        raise Refusal("COMMENT_FORBIDDEN", "input.comment")
    if len(text) > COMMENT_LENGTH:
        raise Refusal("COMMENT_TOO_LONG", "input.comment")
    return text or None


def parse_amount(value: str | None, asked_to_pay: bool) -> int | None:
    """The amount a patient was asked for, in tiyn: a decimal string of tenge ("5000",
    "5000.50"), only when they were asked to pay; ``Refusal`` (``AMOUNT_INVALID``)
    otherwise."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not asked_to_pay or _AMOUNT.fullmatch(text) is None:
        raise Refusal("AMOUNT_INVALID", "input.amountAsked")
    try:
        tiyn = int(Decimal(text) * 100)
    except InvalidOperation:
        raise Refusal("AMOUNT_INVALID", "input.amountAsked") from None
    if not 0 < tiyn <= MAX_AMOUNT_TIYN:
        raise Refusal("AMOUNT_INVALID", "input.amountAsked")
    return tiyn


def check_assignment(state: DisputeState) -> DisputeState:
    """The state after assigning a case in ``state``: a submitted case goes into review (the
    assignment is when the Fund takes it up); one in review stays (a reassignment)."""
    if state in (DisputeState.CONFIRMED, DisputeState.NOT_CONFIRMED):
        raise Refusal("DISPUTE_RESOLVED", "id")
    return DisputeState.IN_REVIEW


def check_resolution(state: DisputeState, confirmed: bool) -> DisputeState:
    """The state after resolving a case in ``state``: only a case in review (assigned to a
    reviewer) is resolved, once."""
    if state in (DisputeState.CONFIRMED, DisputeState.NOT_CONFIRMED):
        raise Refusal("DISPUTE_RESOLVED", "id")
    if state is not DisputeState.IN_REVIEW:
        raise Refusal("DISPUTE_NOT_IN_REVIEW", "id")
    return DisputeState.CONFIRMED if confirmed else DisputeState.NOT_CONFIRMED


def clean_line(value: str, field: str, max_length: int) -> str:
    """A reviewer's name or an assignee: one line of plain text, not blank."""
    text = value.strip()
    if not text or len(text) > max_length or not plain(text, lines=False):
        raise Refusal("TEXT_INVALID", field)
    return text


def clean_explanation(texts: Mapping[str, str]) -> dict[str, str]:
    """The Fund's explanation in kk, ru and en: each plain text (line breaks allowed), not
    blank, at most ``EXPLANATION_LENGTH`` characters."""
    cleaned: dict[str, str] = {}
    for language in ("kk", "ru", "en"):
        field = f"explanation.{language}"
        text = texts[language].replace("\r\n", "\n").strip()
        if not text or len(text) > EXPLANATION_LENGTH or not plain(text, lines=True):
            raise Refusal("TEXT_INVALID", field)
        cleaned[language] = text
    return cleaned
