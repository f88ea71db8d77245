"""The ingestion pipeline every batch goes through, whatever its kind and however it arrived.

1. The records are copied (COPY) into a temporary table: as JSON text one per row, or, for a
   kind that ``reads_lines`` (contributions), read in Python as they stream, with their
   typed fields beside their text (``backend.ingest.reader``).
2. One statement parses and checks them all (``Kind.check_sql``): each row gets its parsed
   values, a rejection ``code`` or none, and whether it repeats a record already stored.
   Just before, the originals that the batch's corrections name are locked
   (``Kind.lock_sql``), so that concurrent batches cannot both take back the same money.
3. One statement stores the accepted rows and writes their events (``Kind.store_sql``); a
   record already stored (same sender, same record id, same content) is counted, not stored.
4. The statuses of the people the batch touched are recomputed (``backend.status.store``).
5. The batch is recorded, and everything commits together: a crash at any step leaves the
   database as it was, and the retry does the whole batch again.

GraphQL batches and streamed NDJSON files take the same path; only the source of step 1
differs.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.ingest import reader
from backend.ingest.codes import REJECTIONS
from backend.rates.book import RateBook
from backend.status import store

RAW = "ingest_raw"
STAGE = ("CREATE TEMP TABLE ingest_raw (line bigint GENERATED ALWAYS AS IDENTITY, doc text)"
         " ON COMMIT DROP")
# JSON cannot hold the bytes 0x01 and 0x02 unescaped: as CSV quote and delimiter they let
# each line arrive whole, with no escaping (a line that holds them is malformed anyway).
COPY_OPTIONS: Mapping[str, Any] = {"format": "csv", "quote": "\x01", "delimiter": "\x02"}
# Control bytes JSON never holds raw (tab, newline and carriage return are handled apart; a
# lone carriage return would end a CSV row).  \x01 and \x02 are the CSV trick's quote and
# delimiter.
_FORBIDDEN = re.compile(rb"[\x00-\x08\x0b-\x1f]")
MALFORMED_LINE = b"!"  # not JSON: refused as MALFORMED_RECORD, in its place
MAX_LINE_BYTES = 1024 * 1024
BATCH_INSERT = (
    "INSERT INTO core.ingestion_batch (source, kind, records, accepted, duplicates, rejected)"
    " VALUES ($1, $2, 0, 0, 0, 0) RETURNING id"
)
BATCH_UPDATE = (
    "UPDATE core.ingestion_batch SET records = $2, accepted = $3, duplicates = $4,"
    " rejected = $5 WHERE id = $1"
)
# Each line's reasons to be listed: its code when refused, else each of its flags.
_REASONS = (
    "WITH reasons AS ("
    " SELECT line, code AS reason, true AS refused FROM ingest_checked WHERE code IS NOT NULL"
    " UNION ALL SELECT line, flag, false FROM ingest_checked, unnest(flags) AS flag"
    " WHERE code IS NULL)"
)
# The refused and flagged lines worth listing: the first $1 of each code and of each flag.
REJECTED = (
    _REASONS + ", listed AS (SELECT line FROM (SELECT line, row_number() OVER"
    " (PARTITION BY reason ORDER BY line) AS nth FROM reasons) ranked WHERE nth <= $1)"
    " SELECT line, record_id, code, flags FROM ingest_checked"
    " WHERE line IN (SELECT line FROM listed) ORDER BY line"
)
# How many lines each code refused and each flag marked, all of them.
REASON_COUNTS = (
    _REASONS + " SELECT reason, refused, count(*) FROM reasons GROUP BY reason, refused"
    " ORDER BY reason"
)
ISSUES_PER_CODE = 100
# ... and the lines ``_REASONS`` would list (refused, or stored with flags): with none, the
# two queries of the issues are not run (a clean file of a million lines saves two scans).
COUNTS = (
    "SELECT count(*), count(*) FILTER (WHERE code IS NULL AND duplicate),"
    " count(*) FILTER (WHERE code IS NOT NULL),"
    " count(*) FILTER (WHERE code IS NULL AND cardinality(flags) > 0) FROM ingest_checked"
)


class Kind(Protocol):
    """One kind of record (contributions, service payments): its SQL."""

    @property
    def name(self) -> str:
        """What the batch table calls this kind."""

    @property
    def affects_status(self) -> bool:
        """Whether stored records can change a person's insurance status."""

    def lock_sql(self) -> str:
        """Lock the originals the batch's corrections name (``lock_sql``); parameter $1
        source."""

    def check_sql(self) -> str:
        """``CREATE TEMP TABLE ingest_checked … AS SELECT`` from ``ingest_raw``; parameters
        $1 source, $2 today, and the kind's own."""

    def check_args(self) -> Sequence[object]:
        """The kind's own parameters of ``check_sql`` ($3 onwards)."""

    def store_sql(self) -> str:
        """Store the accepted rows and write their events; parameters $1 source, $2 batch id.
        Returns one row per person it touched: (person_id, whether the status may have
        dropped, records stored, events written in all — the same on every row)."""


@dataclass(frozen=True)
class Rejection:
    """A record not stored (``code``), or stored with anomaly ``flags``."""

    line: int
    record_id: str | None
    code: str | None
    flags: tuple[str, ...] = ()

    def message(self, language: str = "en") -> str | None:
        """Why, in ``language``."""
        if self.code is None:
            return None
        texts = REJECTIONS[self.code]
        return texts.get(language, texts["en"])


@dataclass(frozen=True)
class IngestResult:
    """The answer to a batch.

    ``rejections`` lists at most ``issues_per_code`` lines of each code and of each flag
    (the first ones), so that a file of a million broken lines gets a small answer;
    ``rejected_by_code`` and ``flagged_by_flag`` count them all, and ``issues_truncated``
    says whether some were left out.
    """

    batch_id: int
    records: int
    accepted: int
    duplicates: int
    rejected: int
    rejections: list[Rejection] = field(default_factory=list)
    statuses_changed: int = 0
    events: int = 0
    rejected_by_code: Mapping[str, int] = field(default_factory=dict)
    flagged_by_flag: Mapping[str, int] = field(default_factory=dict)
    issues_truncated: bool = False

    @property
    def flagged(self) -> list[Rejection]:
        """Stored records that carry anomaly flags."""
        return [r for r in self.rejections if r.code is None and r.flags]


# How every kind's check begins: the table it fills, and each non-blank line parsed once
# (``j`` is NULL for a line that is not JSON).

def names_json(alias: str) -> str:
    """SQL: the trilingual name of the row ``alias`` as ``{"kk", "ru", "en"}`` (NULL when
    the row is missing: an outer join found nothing).  Events carry names, so that a push
    says who paid or whom the Fund paid without the dispatcher reading ``core``."""
    return (f"CASE WHEN {alias}.name_kk IS NULL THEN NULL ELSE jsonb_build_object("
            f"'kk', {alias}.name_kk, 'ru', {alias}.name_ru, 'en', {alias}.name_en) END")

DOCS = r"""
CREATE TEMP TABLE ingest_checked ON COMMIT DROP AS
WITH docs AS MATERIALIZED (  -- each document parsed once, not once per field
    SELECT line, core.try_jsonb(doc) AS j FROM ingest_raw
    WHERE btrim(coalesce(doc, ''), E' \t') <> ''
)"""

# The first checks of every kind, in order, as the opening WHENs of its ``own_code`` CASE
# (columns: is_object, record_id, nth, j, first_doc, existing_id, same_as_stored, iin,
# person_id).  A record stored before with the same content passes: it is a duplicate.
FIRST_CHECKS = """
         WHEN NOT coalesce(is_object, false) THEN 'MALFORMED_RECORD'
         WHEN record_id IS NULL OR record_id = '' OR length(record_id) > 128
             THEN 'RECORD_ID_MISSING'
         WHEN nth > 1 AND j <> first_doc THEN 'RECORD_ID_CONFLICT'
         WHEN existing_id IS NOT NULL AND same_as_stored THEN NULL
         -- a person found by IIN has a valid one (a constraint): check only the others
         WHEN person_id IS NULL AND (iin IS NULL OR NOT core.iin_is_valid(iin))
             THEN 'IIN_INVALID'
         WHEN person_id IS NULL THEN 'PERSON_UNKNOWN'"""


def settle() -> str:
    """The last stages of every kind's check, as ``WITH`` members after one named ``pre``
    that gives each line its ``own_code`` (its own faults), ``stored_before`` (the same
    record is stored already), and for corrections ``is_correction``, ``original_id``,
    ``original_amount`` and ``stored_corrected`` (what stored corrections took back).  They
    end in ``checked``, which adds ``duplicate`` and the final ``code``.

    A copy of an earlier line of the batch takes that line's code and is a duplicate only
    when that line is stored (or was before).  Corrections are then applied in line order:
    one that would take back more than its original holds is refused; only lines that are
    being stored count.
    """
    return """
, inherited AS (
    SELECT e.*,
           CASE WHEN nth > 1 AND j = first_doc THEN first_value(own_code) OVER w
                ELSE own_code END AS first_code,
           stored_before OR (nth > 1 AND j = first_doc
                             AND first_value(own_code) OVER w IS NULL) AS duplicate
    FROM pre e WINDOW w AS (PARTITION BY record_id ORDER BY line)
), settled AS (
    SELECT i.*,
           sum(amount_value) FILTER (WHERE first_code IS NULL AND NOT duplicate
                                            AND is_correction)
               OVER (PARTITION BY original_id ORDER BY line) + stored_corrected AS corrected
    FROM inherited i
), checked AS (
    SELECT s.*,
           CASE WHEN first_code IS NULL AND NOT duplicate AND is_correction
                     AND corrected > original_amount THEN 'CORRECTION_EXCEEDS_ORIGINAL'
                ELSE first_code END AS code
    FROM settled s
)
"""


def lock_sql(table: str, pointer: str, key: str, named: str | None = None) -> str:
    """SQL ($1 source): lock the originals this batch's corrections name, in id order.

    The check reads what stored corrections took back from each original; two batches
    correcting one original at once would both read the same sum and both store.  Run before
    the check, in its own statement, this makes the later batch wait for the earlier to
    commit; its check (a new statement, so a new snapshot) then sees the earlier
    corrections.  Id order means two batches never wait for each other crosswise.  ``FOR NO
    KEY UPDATE`` conflicts with itself but not with the foreign-key checks of inserts.

    A line is parsed only when its text could hold ``key`` (literally, or spelled with a
    ``\\u`` escape), so that a file without corrections costs one text scan.  A kind staged
    by ``reader`` gives ``named``: the query of the record ids, read already.
    """
    if named is None:
        named = (f"SELECT core.try_jsonb(doc) ->> '{key}' FROM {RAW}"
                 f" WHERE strpos(doc, '{key}') > 0 OR strpos(doc, '\\u') > 0")
    return (f"SELECT o.id FROM core.{table}_key k JOIN core.{table} o"
            f" ON o.id = k.id AND o.person_id = k.person_id"  # one partition (migration 0019)
            f" WHERE k.source = $1 AND o.{pointer} IS NULL"
            f" AND k.source_record_id IN ({named})"
            f" ORDER BY o.id FOR NO KEY UPDATE OF o")


def docs_of(records: Iterable[Mapping[str, Any]]) -> list[tuple[str]]:
    """Rows for the staging table from records given as mappings (a GraphQL batch)."""
    return [(json.dumps(record, ensure_ascii=False, default=str),) for record in records]


async def lines_of(chunks: AsyncIterable[bytes]) -> AsyncIterable[bytes]:
    """A streamed NDJSON body as COPY input, whole lines at a time.

    A line that COPY could not take, or that JSON forbids anyway (bytes that are not UTF-8, a
    raw control character, a carriage return inside it, more than ``MAX_LINE_BYTES``), is
    replaced by ``MALFORMED_LINE``: it is refused as ``MALFORMED_RECORD`` and keeps its
    number, and the rest of the file goes on.  CRLF line ends are accepted.
    """
    carry = b""
    skipping = False  # inside a line that is already too long
    async for chunk in chunks:
        block = carry + chunk
        end = block.rfind(b"\n")
        if end < 0:
            if len(block) > MAX_LINE_BYTES:
                if not skipping:
                    skipping = True
                block = b""
            carry = block
            continue
        head, carry = block[:end + 1], block[end + 1:]
        if skipping:  # the rest of the overlong line ends here
            first = head.find(b"\n")
            head = MALFORMED_LINE + head[first:]
            skipping = False
        yield _clean(head)
    if skipping:
        yield MALFORMED_LINE + b"\n"
    elif carry:
        yield _clean(carry + b"\n")


def _clean(block: bytes) -> bytes:
    """Whole lines, with every line COPY or JSON cannot take replaced (fast when none)."""
    block = block.replace(b"\r\n", b"\n")
    if _FORBIDDEN.search(block) is None:
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return block
    return b"\n".join(_clean_line(line) for line in block.split(b"\n"))


def _clean_line(line: bytes) -> bytes:
    if len(line) > MAX_LINE_BYTES or _FORBIDDEN.search(line) is not None:
        return MALFORMED_LINE
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return MALFORMED_LINE
    return line


class BodyTooLarge(Exception):
    """A streamed body passed its limit; the batch was rolled back, nothing is stored."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"the body is over {max_bytes} bytes")
        self.max_bytes = max_bytes


async def limited(chunks: AsyncIterable[bytes], max_bytes: int) -> AsyncIterable[bytes]:
    """``chunks`` as they come, until more than ``max_bytes`` came: then ``BodyTooLarge``
    (inside COPY, which aborts it), so that an oversized body is never read whole."""
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > max_bytes:
            raise BodyTooLarge(max_bytes)
        yield chunk


async def ingest(engine: AsyncEngine, kind: Kind, *, source: str, today: date, rates: RateBook,
                 rows: Sequence[tuple[str]] | None = None,
                 stream: AsyncIterable[bytes] | None = None,
                 issues_per_code: int = ISSUES_PER_CODE) -> IngestResult:
    """Run one batch (``rows`` or a ``stream`` of NDJSON bytes) through the pipeline; the
    answer lists at most ``issues_per_code`` lines of each code and flag."""
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        db: Any = raw.driver_connection
        async with db.transaction():  # the driver's own: everything below commits together
            return await _run(db, kind, source=source, today=today, rates=rates, rows=rows,
                              stream=stream, issues_per_code=issues_per_code)


async def _run(db: Any, kind: Kind, *, source: str, today: date, rates: RateBook,
               rows: Sequence[tuple[str]] | None, stream: AsyncIterable[bytes] | None,
               issues_per_code: int) -> IngestResult:
    if getattr(kind, "reads_lines", False):  # read in Python as it streams (``reader``)
        await db.execute(reader.STAGE)
        if rows is not None:
            await db.copy_records_to_table(RAW, records=list(reader.rows_of_docs(
                doc for doc, in rows)), columns=reader.COLUMNS)
        elif stream is not None:
            await db.copy_records_to_table(RAW, records=reader.flatten(reader.rows_of_blocks(
                lines_of(stream))), columns=reader.COLUMNS)
    else:
        await db.execute(STAGE)
        if rows is not None:
            await db.copy_records_to_table(RAW, records=rows, columns=["doc"])
        elif stream is not None:
            await db.copy_to_table(RAW, source=lines_of(stream), columns=["doc"],
                                   **COPY_OPTIONS)
    await db.execute(kind.lock_sql(), source)
    await db.execute(kind.check_sql(), source, today, *kind.check_args())
    batch_id = await db.fetchval(BATCH_INSERT, source, kind.name)
    touched = await db.fetch(kind.store_sql(), source, batch_id)
    accepted = sum(int(row[2]) for row in touched)
    people = [row[0] for row in touched]
    force = [row[0] for row in touched if row[1]]
    refreshed = store.StatusRefresh()
    if kind.affects_status:
        refreshed = await store.refresh(db, people, today=today, rates=rates,
                                        cause=f"{kind.name} batch {batch_id}", force=force)
    records, _, rejected, flagged = await db.fetchrow(COUNTS)
    # A record checked as new but stored meanwhile by a concurrent identical batch is a
    # duplicate too: what was stored here is what the insert returned.
    duplicates = records - rejected - accepted
    await db.execute(BATCH_UPDATE, batch_id, records, accepted, duplicates, rejected)
    events = int(touched[0][3]) if touched else 0
    counted = IngestResult(batch_id, records, accepted, duplicates, rejected, [],
                           refreshed.changed, events + refreshed.events)
    if not rejected and not flagged:
        return counted
    return await _issues(db, counted, issues_per_code)


async def _issues(db: Any, counted: IngestResult, per_code: int) -> IngestResult:
    """``counted`` with its listed issues and the counts per code and flag."""
    notes = [Rejection(row["line"], row["record_id"], row["code"], tuple(row["flags"] or ()))
             for row in await db.fetch(REJECTED, per_code)]
    by_code: dict[str, int] = {}
    by_flag: dict[str, int] = {}
    for reason, refused, count in await db.fetch(REASON_COUNTS):
        (by_code if refused else by_flag)[reason] = int(count)
    truncated = any(count > per_code for count in (*by_code.values(), *by_flag.values()))
    return replace(counted, rejections=notes, rejected_by_code=by_code,
                   flagged_by_flag=by_flag, issues_truncated=truncated)

