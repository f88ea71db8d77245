"""Words a person reads: every text in three languages, dates and money written per language."""

from __future__ import annotations

from datetime import date

import pytest

from backend.i18n import LANGUAGES, format_date, format_money, format_month
from backend.messages import MESSAGES, message
from backend.status import Reason, ReasonCode
from backend.status.texts import _TEMPLATES, STATUS_NAMES, reason_text


@pytest.mark.parametrize("table", [MESSAGES, _TEMPLATES], ids=["messages", "reasons"])
def test_every_text_exists_in_every_language(table: dict[str, dict[str, str]]) -> None:
    for key, texts in table.items():
        assert set(texts) == set(LANGUAGES), key
        assert all(text.strip() for text in texts.values()), key


def test_status_names_in_every_language() -> None:
    assert all(set(names) == set(LANGUAGES) for names in STATUS_NAMES.values())


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "12,400.50\u00a0₸"), ("ru", "12\u00a0400,50\u00a0₸"), ("kk", "12\u00a0400,50\u00a0₸")])
def test_money(language: str, expected: str) -> None:
    assert format_money(1_240_050, language) == expected
    assert format_money(-100, language).startswith("-1")


@pytest.mark.parametrize(("language", "day", "month", "genitive"), [
    ("en", "3 November 2025", "November 2025", "November 2025"),
    ("ru", "3 ноября 2025 г.", "ноябрь 2025 г.", "ноября 2025 г."),
    ("kk", "2025 жылғы 3 қараша", "2025 жылғы қараша", "2025 жылғы қараша"),
])
def test_dates_and_months(language: str, day: str, month: str, genitive: str) -> None:
    assert format_date(date(2025, 11, 3), language) == day
    assert format_month(date(2025, 11, 1), language) == month
    assert format_month(date(2025, 11, 1), language, genitive=True) == genitive


def test_message_values_are_filled_in_every_language() -> None:
    texts = message("page_size", max=100)
    assert all("100" in text and "{" not in text for text in texts.values())


@pytest.mark.parametrize("code", list(ReasonCode))
def test_every_reason_reads_as_a_sentence_in_every_language(code: ReasonCode) -> None:
    facts = {"category": "pensioner", "period": "2025-10", "last_paid_period": "2025-06",
             "payer": "ТОО «Альфа»", "until": "2025-09-30", "lost_on": "2025-10-01"}
    for language in LANGUAGES:
        text = reason_text(Reason(code, facts), language, category_name="Pensioners")
        assert text.endswith(".") and not text.endswith("..") and "{" not in text
