"""Contribution lines read in Python while they stream, so that the database parses no JSON.

The bulk check used to parse every line twice in SQL (``core.try_jsonb``, then each field
with ``->>`` and ``core.try_date``): about a fifth of an ingestion.  Here each line is read
once with orjson in the API process, while the body streams, and the staging table gets the
typed fields beside the line's text (a binary COPY).  The database's CPU goes to the checks
and the store; the two overlap on two cores.

Only lines whose reading is certain to equal PostgreSQL's are read here ("plain" lines): a
JSON object, with no backslash anywhere (so no escape can differ between the two parsers:
``\\u0000``, lone surrogates), whose fields are strings or null (``paymentCode`` may be an
integer) and whose dates are real dates written plainly.  Every other line (not JSON, not an
object, a number where text is expected, a float, an escape, a date PostgreSQL might read
otherwise) keeps ``plain`` false and goes through the SQL reading of before, line by line the
same, so its codes are unchanged.  ``tests/backend/test_ingest_reader.py`` compares both
readings on awkward lines.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from datetime import date
from typing import Any

import orjson

STAGE = (
    "CREATE TEMP TABLE ingest_raw (line bigint, doc text, plain bool, record_id text,"
    " iin text, kind_text text, period_value date, paid_on date, amount_value bigint,"
    " code_value int, payer_bin text, payer_region text, refund_record text) ON COMMIT DROP"
)
COLUMNS = ("line", "doc", "plain", "record_id", "iin", "kind_text", "period_value", "paid_on",
           "amount_value", "code_value", "payer_bin", "payer_region", "refund_record")
# The record ids a batch's corrections name (``key``: their field), as ``pipeline.lock_sql``
# finds them in JSON text: read here for plain lines, parsed for the others.
LOCKED = ("SELECT refund_record FROM ingest_raw WHERE plain AND refund_record IS NOT NULL"
          " UNION ALL SELECT core.try_jsonb(doc) ->> '{key}' FROM ingest_raw WHERE NOT plain"
          " AND (strpos(doc, '{key}') > 0 OR strpos(doc, '\\u') > 0)")
TEXT_FIELDS = ("recordId", "iin", "kind", "payerBin", "payerRegion", "refundOf")
_AMOUNT = re.compile(r"[0-9]{1,13}(?:\.[0-9]{1,2})?")
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CODE = re.compile(r"[0-9]{3}")
_BLANK = b" \t"
_MEMO_LIMIT = 50_000  # distinct months, days and amounts remembered per batch

Row = tuple[Any, ...]
_UNSURE = object()  # a value PostgreSQL must read itself


def _sure(day: date) -> object:
    """``day``, unless asyncpg would send it as an infinity (it sends ``date.min`` and
    ``date.max`` so)."""
    return _UNSURE if day in (date.min, date.max) else day


class _Memo:
    """Months, days and amounts as read, remembered: a payroll file repeats them."""

    def __init__(self) -> None:
        self.months: dict[str, object] = {}
        self.days: dict[str, object] = {}
        self.amounts: dict[str, int | None] = {}

    def month(self, text: str) -> object:
        """The first of the month of ``YYYY-MM`` (as ``core.try_date(text || '-01')``),
        or ``_UNSURE``."""
        value = self.months.get(text)
        if value is None:
            value = _UNSURE
            if _MONTH.fullmatch(text):
                with contextlib.suppress(ValueError):
                    value = _sure(date(int(text[:4]), int(text[5:7]), 1))
            if len(self.months) < _MEMO_LIMIT:
                self.months[text] = value
        return value

    def day(self, text: str) -> object:
        """The date ``YYYY-MM-DD`` (as ``core.try_date``), or ``_UNSURE``."""
        value = self.days.get(text)
        if value is None:
            value = _UNSURE
            if _DAY.fullmatch(text):
                with contextlib.suppress(ValueError):
                    value = _sure(date.fromisoformat(text))
            if len(self.days) < _MEMO_LIMIT:
                self.days[text] = value
        return value

    def amount(self, text: str) -> int | None:
        """Tiyn of a tenge amount with up to two decimals, None when it is not one (the SQL
        check's pattern and cast, exactly)."""
        try:
            return self.amounts[text]
        except KeyError:
            pass
        value: int | None = None
        if _AMOUNT.fullmatch(text):
            whole, _, cents = text.partition(".")
            value = int(whole) * 100 + (int(cents.ljust(2, "0")) if cents else 0)
        if len(self.amounts) < _MEMO_LIMIT:
            self.amounts[text] = value
        return value


def _code(value: object) -> object:
    """``paymentCode`` as the SQL check reads it: NULL when absent or null, the number when
    it is three digits (a string or an integer), -1 otherwise; ``_UNSURE`` for the rest."""
    if value is None:
        return None
    if type(value) is str:
        return int(value) if _CODE.fullmatch(value) else -1
    if type(value) is int:
        text = str(value)
        return value if _CODE.fullmatch(text) else -1
    return _UNSURE  # a float, a boolean, an array, an object


def _read(line: bytes, doc: str, number: int, memo: _Memo) -> Row:
    """One non-blank line as a staging row."""
    fallback: Row = (number, doc, False) + (None,) * 10
    if b"\\" in line or line.lstrip(_BLANK)[:1] != b"{":
        return fallback
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return fallback
    if type(record) is not dict:
        return fallback
    get = record.get
    texts = []
    for name in TEXT_FIELDS:
        value = get(name)
        if value is not None and type(value) is not str:
            return fallback
        texts.append(value)
    record_id, iin, kind, payer_bin, payer_region, refund_of = texts
    period = get("period")
    period_value: object = None
    if period is not None:
        if type(period) is not str:
            return fallback
        period_value = memo.month(period)
    paid = get("paidOn")
    paid_on: object = None
    if paid is not None:
        if type(paid) is not str:
            return fallback
        paid_on = memo.day(paid)
    amount = get("amount")
    amount_value: int | None = None
    if amount is not None:
        if type(amount) is not str:
            return fallback
        amount_value = memo.amount(amount)
    code = _code(get("paymentCode"))
    if period_value is _UNSURE or paid_on is _UNSURE or code is _UNSURE:
        return fallback
    return (number, doc, True, record_id, iin, kind, period_value, paid_on, amount_value, code,
            payer_bin, payer_region, refund_of)


def rows_of_lines(lines: Iterable[bytes], first: int = 1) -> Iterator[Row]:
    """Staging rows of lines numbered from ``first`` (a blank line keeps its number and
    gives no row, as the SQL check skipped it)."""
    memo = _Memo()
    for number, line in enumerate(lines, first):
        if not line.strip(_BLANK):
            continue
        yield _read(line, line.decode("utf-8"), number, memo)


def rows_of_docs(docs: Iterable[str]) -> Iterator[Row]:
    """Staging rows of a GraphQL batch (each record as JSON text)."""
    return rows_of_lines(doc.encode("utf-8") for doc in docs)


async def rows_of_blocks(blocks: AsyncIterable[bytes]) -> AsyncIterator[list[Row]]:
    """Staging rows of a streamed body given as blocks of whole, clean lines
    (``pipeline.lines_of``), a list per block."""
    memo = _Memo()
    number = 0
    async for block in blocks:
        rows: list[Row] = []
        lines = block.split(b"\n")
        lines.pop()  # each block ends with a newline
        for line in lines:
            number += 1
            if line.strip(_BLANK):
                rows.append(_read(line, line.decode("utf-8"), number, memo))
        yield rows


async def flatten(batches: AsyncIterable[list[Row]]) -> AsyncIterator[Row]:
    """The rows of ``batches`` one by one (what COPY takes)."""
    async for rows in batches:
        for row in rows:
            yield row
