"""Contribution lines read in Python (``backend.ingest.reader``) against PostgreSQL's own
reading of the same JSON (``contributions.JSON_FIELDS``, what the check uses for every line
the reader leaves to it): a plain line must read the same, field by field, and an awkward
line must be left to PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.ingest import reader
from backend.ingest.contributions import JSON_FIELDS
from backend.ingest.pipeline import RAW, lines_of


def _line(record_id: str, **changes: Any) -> str:
    record: dict[str, Any] = {
        "recordId": record_id, "iin": "900303400011", "kind": "self_payment",
        "period": "2026-10", "amount": "4250.00", "paidOn": "2026-10-15", "paymentCode": 122}
    record.update(changes)
    return json.dumps(record, ensure_ascii=False)


# Lines the reader reads itself (all must agree with PostgreSQL).
PLAIN = [
    _line("p1"), _line("p2", amount="12.5"), _line("p3", amount="0012"), _line("p4", amount="1e3"),
    _line("p5", amount="-5"), _line("p6", amount="1.234"), _line("p7", amount="99999999999999"),
    _line("p8", paymentCode="122"), _line("p9", paymentCode="12"), _line("p10", paymentCode=None),
    _line("p11", paymentCode=-122), _line("p12", paymentCode=1220), _line("p13", period=None),
    _line("p14", iin=None, kind=None), _line("p15", refundOf="p1", kind=None, period=None),
    _line("p16", payerBin="180440012347", payerRegion="KZ-75"), _line("p17", extra=[1, 2.5]),
    _line("жазба", iin="ЖСН"), "  " + _line("p18") + "\t", '{"recordId": "p19"}', "{}",
    '{"recordId": "p20", "recordId": "p21"}', _line("", period="2026-12"),
]
# Lines left to PostgreSQL.
LEFT = [
    "not json", "[1, 2]", '"text"', "123", "null", "!",
    _line("l1", amount=4250.0), _line("l2", amount=4250), _line("l3", paymentCode=122.0),
    _line("l4", paymentCode=True), _line("l5", paymentCode=[122]), _line("l6", iin=900303400011),
    _line("l7", period="2026-13"), _line("l8", period="2026-1"), _line("l9", paidOn="2026-02-30"),
    _line("l10", paidOn="2026-2-3"), _line("l11", period="0000-10"),
    _line("l12", paidOn="0001-01-01"),
    _line("l13", paidOn="9999-12-31"), _line("l14", kind=5), _line("l15", recordId=7),
    '{"recordId": "l16\\u0041", "iin": "900303400011"}', '{"recordId": "l17\\u0000"}',
    "\ufeff" + _line("l18"), _line("l19", paymentCode=10 ** 30),
]
BODY = "\n".join([*PLAIN, "", "   ", *LEFT]) + "\n"


async def _chunks(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start:start + size]


async def _staged(size: int) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    async for block in reader.rows_of_blocks(lines_of(_chunks(BODY.encode(), size))):
        rows.extend(block)
    return rows


async def test_plain_lines_read_as_postgresql_reads_them(engine: AsyncEngine) -> None:
    rows = await _staged(1 << 20)
    plain = {row[0] for row in rows if row[2]}
    assert plain == set(range(1, len(PLAIN) + 1))  # the blank lines keep their numbers
    assert [row[0] for row in rows] == [*range(1, len(PLAIN) + 1),
                                        *range(len(PLAIN) + 3, len(PLAIN) + 3 + len(LEFT))]
    columns = ", ".join(column for column, _ in JSON_FIELDS)
    differ = " OR ".join(f"r.{column} IS DISTINCT FROM ({expression})"
                         for column, expression in JSON_FIELDS)
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        db: Any = raw.driver_connection
        async with db.transaction():
            await db.execute(reader.STAGE)
            await db.copy_records_to_table(RAW, records=rows, columns=reader.COLUMNS)
            wrong = await db.fetch(
                f"SELECT r.line, {columns} FROM {RAW} r,"
                f" LATERAL (SELECT core.try_jsonb(r.doc) AS j) d"
                f" WHERE r.plain AND (jsonb_typeof(j) IS DISTINCT FROM 'object' OR {differ})")
            assert [dict(row) for row in wrong] == []
            # The awkward lines all parse in PostgreSQL or not, as before: none is lost.
            left = await db.fetchval(f"SELECT count(*) FROM {RAW} WHERE NOT plain")
            assert left == len(LEFT)
            await db.execute(f"DROP TABLE {RAW}")


async def test_chunking_changes_nothing() -> None:
    whole = await _staged(1 << 20)
    for size in (1, 7, 64):
        assert await _staged(size) == whole
    # A GraphQL batch's records, numbered from 1 with no blank lines.
    docs = list(reader.rows_of_docs([*PLAIN, *LEFT]))
    assert [row[0] for row in docs] == list(range(1, len(PLAIN) + len(LEFT) + 1))
    assert [row[1:] for row in docs] == [row[1:] for row in whole]
