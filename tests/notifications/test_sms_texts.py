"""The words of critical notices by SMS: every one fits two segments in each language (what a
Cyrillic text costs is counted as operators bill it), names no one, and an event that has no
SMS or a malformed payload is refused rather than sent half-worded."""

from __future__ import annotations

from typing import Any

import pytest

from auth.sms_segments import segments
from notifications.sms_texts import LANGUAGES, MAX_SEGMENTS, TEXTS, sms_text
from tests.notifications.dispatch_helpers import status, warning

# The longest day DD.MM.YYYY can be is always ten characters; these take every branch.
EVENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "warning, self-payer": ("status.warning", warning("2027-12-31", self_payer=True)),
    "warning, employee": ("status.warning", warning("2027-12-31", self_payer=False)),
    "grace period": ("status.changed", status("CONDITIONALLY_INSURED", "GRACE_PERIOD",
                                              changes_on="2027-12-31")),
    "grace period, no date": ("status.changed", status("CONDITIONALLY_INSURED",
                                                       "GRACE_PERIOD")),
    "not insured": ("status.changed", status("NOT_INSURED", "CONTRIBUTIONS_STOPPED",
                                             old="CONDITIONALLY_INSURED")),
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("event", sorted(EVENTS))
def test_every_text_fits_two_segments(event: str, language: str) -> None:
    kind, payload = EVENTS[event]
    worded = sms_text(kind, payload, language)
    cost = segments(worded)
    assert cost.count <= MAX_SEGMENTS, (worded, cost)
    assert cost.encoding == ("GSM-7" if language == "en" else "UCS-2")
    assert "1406" in worded  # where to act without the app
    assert "{" not in worded


def test_every_text_exists_in_every_language() -> None:
    assert all(set(table) == set(LANGUAGES) for table in TEXTS.values())


@pytest.mark.parametrize(("kind", "payload"), [
    ("status.changed", status("INSURED", "PAID", old="CONDITIONALLY_INSURED")),
    ("contribution.received", {"contributions": []}),
    ("status.warning", {"dropsOn": "2027-13-01", "selfPayer": True}),
    ("status.warning", {"dropsOn": "2027-01-01", "selfPayer": "yes"}),
    ("status.warning", {"selfPayer": True}),
])
def test_an_event_without_an_sms_is_refused(kind: str, payload: dict[str, Any]) -> None:
    with pytest.raises((ValueError, KeyError)):
        sms_text(kind, payload, "ru")


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="no SMS texts"):
        sms_text("status.warning", warning("2027-01-01"), "de")
