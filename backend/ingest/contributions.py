"""Contribution records: what a sender writes, how each is checked, how the batch is stored.

A record (one JSON object; in a file, one per line)::

    {"recordId": "KZ-2026-11-000123", "iin": "900303400011", "kind": "employer_deduction",
     "period": "2026-10", "amount": "15300.00", "paidOn": "2026-11-10",
     "paymentCode": 121, "payerBin": "180440012347"}

``kind`` is one of employer_deduction (КНП 121, employer by ``payerBin``),
employee_contribution (122, employer), self_payment and entrepreneur_contribution (122, no
payer), state_contribution (no payment code; the republican budget, or a local budget named
by ``payerRegion``).  A refund is its own record that names the original by ``refundOf``
(the original's ``recordId`` from the same sender) with the ``amount`` returned, ``paidOn``
and ``iin``; it is stored as a negative contribution with the original's kind, period and
payer, and the totals and statuses see both.

Checks, the first that fails giving the record's code (``backend.ingest.codes``): a JSON
object; a record id; the IIN's check digit; a person with that IIN; for a refund, the
original (same sender, same person) and that the refunds do not exceed it; the kind; the
period (YYYY-MM, not after this month); the payment date (a real date, not in the future);
the amount (positive, two decimals at most, at most ``max_amount``); the payment code for the
kind; the payer.  A record id already stored with other content is ``RECORD_ID_CONFLICT``;
with the same content it is a duplicate: counted, not stored again.

A contribution for a month after the month of the person's death is stored and flagged
``AFTER_DEATH``, as a service payment for care after death is: the money has been paid and
may have to be returned, which is the Fund's call, not the sender's (``contributionAnomalies``
lists them).  The month of death itself is not flagged: the person was insured part of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from backend.ingest import reader
from backend.ingest.pipeline import FIRST_CHECKS, lock_sql, names_json, settle
from notifications import outbox

# 1,000,000 tenge: more than a year's capped deductions and contributions for anyone.
MAX_AMOUNT_TIYN = 100_000_000

LOCK = lock_sql("contribution", "refund_of", "refundOf",
                named=reader.LOCKED.format(key="refundOf"))
# How the SQL check reads each field of a line from its JSON (``j``), for the lines that
# ``reader`` left to it; ``reader`` reads plain lines to the same values (the staging
# table's columns, in this order), and ``tests/backend/test_ingest_reader.py`` holds it to
# these expressions.
JSON_FIELDS = (
    ("record_id", "CASE WHEN jsonb_typeof(j) = 'object' THEN j ->> 'recordId' END"),
    ("iin", "j ->> 'iin'"),
    ("kind_text", "j ->> 'kind'"),
    ("period_value", "core.try_date((j ->> 'period') || '-01')"),
    ("paid_on", "core.try_date(j ->> 'paidOn')"),
    ("amount_value", r"CASE WHEN (j ->> 'amount') ~ '^[0-9]{1,13}(\.[0-9]{1,2})?$'"
                     " THEN ((j ->> 'amount')::numeric * 100)::bigint END"),
    ("code_value", "CASE WHEN j -> 'paymentCode' IS NULL OR j -> 'paymentCode' = 'null'::jsonb"
                   " THEN NULL WHEN (j -> 'paymentCode' #>> '{}') ~ '^[0-9]{3}$'"
                   " THEN (j -> 'paymentCode' #>> '{}')::int ELSE -1 END"),
    ("payer_bin", "j ->> 'payerBin'"),
    ("payer_region", "j ->> 'payerRegion'"),
    ("refund_record", "j ->> 'refundOf'"),
)
CHECK = r"""
CREATE TEMP TABLE ingest_checked ON COMMIT DROP AS
WITH slow AS MATERIALIZED (  -- the lines Python did not read (``reader``): parsed here, once
    SELECT line, ctid AS rid, core.try_jsonb(doc) AS j FROM ingest_raw
    WHERE NOT plain AND btrim(coalesce(doc, ''), E' \t') <> ''
), fields AS (
    SELECT line, ctid AS rid, true AS is_object, """ + ", ".join(c for c, _ in JSON_FIELDS) + """
    FROM ingest_raw WHERE plain
    UNION ALL
    SELECT line, rid, jsonb_typeof(j) = 'object', """ + ", ".join(e for _, e in JSON_FIELDS) + """
    FROM slow
), parsed AS MATERIALIZED (
    SELECT f.*,
           kind_text IN ('employer_deduction', 'employee_contribution', 'self_payment',
                         'entrepreneur_contribution', 'state_contribution') AS kind_known,
           row_number() OVER (PARTITION BY record_id ORDER BY line) AS nth,
           first_value(rid) OVER (PARTITION BY record_id ORDER BY line) AS first_rid
    FROM fields f
), resolved AS (
    SELECT p.*, person.id AS person_id, person.death_date, orig.id AS original_id,
           orig.person_id AS original_person, orig.amount_tiyn AS original_amount,
           (p.refund_record IS NOT NULL) AS is_refund,
           CASE WHEN p.refund_record IS NOT NULL THEN orig.kind ELSE p.kind_text END AS kind,
           CASE WHEN p.refund_record IS NOT NULL THEN orig.period ELSE p.period_value END
               AS period,
           CASE WHEN p.refund_record IS NOT NULL THEN orig.payment_code ELSE p.code_value END
               AS payment_code,
           CASE WHEN p.refund_record IS NOT NULL THEN orig.payer_id
                WHEN p.kind_text IN ('employer_deduction', 'employee_contribution')
                    THEN employer.id
                WHEN p.kind_text = 'state_contribution' AND p.payer_region IS NOT NULL
                    THEN local.id
                WHEN p.kind_text = 'state_contribution' THEN state.id END AS payer_id,
           CASE WHEN p.refund_record IS NOT NULL THEN orig.payer_kind
                WHEN p.kind_text IN ('employer_deduction', 'employee_contribution')
                    THEN 'employer'
                WHEN p.kind_text = 'state_contribution' AND p.payer_region IS NOT NULL
                    THEN 'local_budget'
                WHEN p.kind_text = 'state_contribution' THEN 'state' END AS payer_kind,
           CASE WHEN p.refund_record IS NOT NULL THEN -p.amount_value ELSE p.amount_value END
               AS amount_tiyn,
           CASE WHEN orig.id IS NULL THEN 0 ELSE
               coalesce((SELECT -sum(r.amount_tiyn) FROM core.contribution r
                         WHERE r.refund_of = orig.id AND r.person_id = orig.person_id), 0)
           END AS stored_corrected
    FROM parsed p
    LEFT JOIN core.person person ON person.iin = p.iin
    LEFT JOIN core.contribution_key orig_key
           ON p.refund_record IS NOT NULL AND orig_key.source = $1
          AND orig_key.source_record_id = p.refund_record
    LEFT JOIN core.contribution orig
           ON orig.id = orig_key.id AND orig.person_id = orig_key.person_id
          AND orig.refund_of IS NULL
    LEFT JOIN core.payer employer ON employer.kind = 'employer' AND employer.bin = p.payer_bin
    LEFT JOIN core.payer local
           ON local.kind = 'local_budget' AND local.region_code = p.payer_region
    LEFT JOIN LATERAL (SELECT id FROM core.payer WHERE kind = 'state' ORDER BY id LIMIT 1)
           state ON true
), existing AS (
    SELECT r.*, ex.id AS existing_id,
           (ex.id IS NOT NULL AND ex.person_id = r.person_id AND ex.kind = r.kind
            AND ex.period = r.period AND ex.amount_tiyn = r.amount_tiyn
            AND ex.paid_on = r.paid_on AND ex.payment_code IS NOT DISTINCT FROM r.payment_code
            AND ex.payer_id IS NOT DISTINCT FROM r.payer_id
            AND ex.refund_of IS NOT DISTINCT FROM r.original_id) AS same_as_stored
    FROM resolved r
    LEFT JOIN core.contribution_key ex_key
           ON ex_key.source = $1 AND ex_key.source_record_id = r.record_id
    LEFT JOIN core.contribution ex ON ex.id = ex_key.id AND ex.person_id = ex_key.person_id
), repeated AS (  -- a repeated record id: its document and the first one's, parsed to compare
    SELECT e.*,
           CASE WHEN nth > 1 THEN (SELECT core.try_jsonb(r.doc) FROM ingest_raw r
                                   WHERE r.ctid = e.rid) END AS j,
           CASE WHEN nth > 1 THEN (SELECT core.try_jsonb(r.doc) FROM ingest_raw r
                                   WHERE r.ctid = e.first_rid) END AS first_doc
    FROM existing e
), pre AS MATERIALIZED (  -- computed once: the codes are read three times below
    SELECT *, is_refund AS is_correction,
           existing_id IS NOT NULL AND same_as_stored AS stored_before,
       CASE""" + FIRST_CHECKS + r"""
         WHEN is_refund AND original_id IS NULL THEN 'ORIGINAL_UNKNOWN'
         WHEN is_refund AND original_person <> person_id THEN 'ORIGINAL_MISMATCH'
         WHEN NOT is_refund AND NOT coalesce(kind_known, false) THEN 'KIND_UNKNOWN'
         WHEN period IS NULL OR period < DATE '2017-07-01' THEN 'PERIOD_INVALID'
         WHEN period > date_trunc('month', $2::date)::date THEN 'PERIOD_IN_FUTURE'
         WHEN NOT is_refund AND kind IN ('self_payment', 'entrepreneur_contribution')
              AND NOT EXISTS (SELECT 1 FROM core.contribution_rate r
                              WHERE r.kind = existing.kind AND r.valid_from <= period
                                AND (r.valid_to IS NULL OR r.valid_to >= period))
              THEN 'PERIOD_OUTSIDE_RATES'
         WHEN paid_on IS NULL THEN 'DATE_INVALID'
         WHEN paid_on > $2::date THEN 'DATE_IN_FUTURE'
         WHEN amount_value IS NULL OR amount_value <= 0 THEN 'AMOUNT_INVALID'
         WHEN amount_value > $3 THEN 'AMOUNT_ABSURD'
         WHEN NOT is_refund AND payment_code IS DISTINCT FROM CASE kind
                WHEN 'employer_deduction' THEN 121
                WHEN 'state_contribution' THEN NULL ELSE 122 END
             THEN 'PAYMENT_CODE_MISMATCH'
         WHEN kind IN ('employer_deduction', 'employee_contribution', 'state_contribution')
              AND payer_id IS NULL THEN 'PAYER_UNKNOWN'
         WHEN existing_id IS NOT NULL THEN 'RECORD_ID_CONFLICT'
       END AS own_code
    FROM repeated existing
)""" + settle() + """
SELECT line, record_id, person_id, kind, period, amount_tiyn, paid_on, payment_code, payer_id,
       payer_kind, original_id,
       CASE WHEN code IS NULL AND NOT duplicate AND NOT is_refund
                 AND period > date_trunc('month', death_date)::date
            THEN ARRAY['AFTER_DEATH'] ELSE '{}'::text[] END AS flags,
       duplicate, code
FROM checked
"""


PAYER_NAMES = names_json("p")
# The record ids are claimed first in the key table (``ON CONFLICT DO NOTHING``: a record
# stored meanwhile by a concurrent identical batch waits for it, then counts as a duplicate),
# with the ids the rows then get; the table's key trigger finds them there (migration 0019).
STORE = (
    "WITH keyed AS ("
    " INSERT INTO core.contribution_key (source, source_record_id, id, person_id)"
    " SELECT $1, record_id, nextval('core.contribution_id_seq'), person_id FROM ingest_checked"
    " WHERE code IS NULL AND NOT duplicate ORDER BY line"
    " ON CONFLICT (source, source_record_id) DO NOTHING RETURNING source_record_id, id),"
    " inserted AS ("
    " INSERT INTO core.contribution (id, person_id, payer_id, payer_kind, kind, period,"
    " amount_tiyn, paid_on, payment_code, source, source_record_id, refund_of, batch_id,"
    " flags)"
    " SELECT k.id, c.person_id, c.payer_id, c.payer_kind, c.kind, c.period, c.amount_tiyn,"
    " c.paid_on, c.payment_code, $1, c.record_id, c.original_id, $2, c.flags"
    " FROM keyed k JOIN ingest_checked c ON c.record_id = k.source_record_id"
    " AND c.code IS NULL AND NOT c.duplicate ORDER BY c.line"
    " RETURNING id, person_id, payer_id, kind, period, amount_tiyn, paid_on, refund_of), "
    + outbox.cte("received", (
        "SELECT i.person_id, 'contribution.received', jsonb_build_object('batch', $2::bigint,"
        " 'contributions', jsonb_agg(jsonb_build_object('id', i.id, 'kind', i.kind,"
        " 'period', to_char(i.period, 'YYYY-MM'), 'amountTiyn', i.amount_tiyn,"
        " 'paidOn', i.paid_on, 'payer', " + PAYER_NAMES + ") ORDER BY i.period, i.id)),"
        " 'contribution.received:' || $2 || ':' || i.person_id"
        " FROM inserted i LEFT JOIN core.payer p ON p.id = i.payer_id"
        " WHERE i.refund_of IS NULL GROUP BY i.person_id")) + ", "
    + outbox.cte("refunded", (
        "SELECT i.person_id, 'contribution.refunded', jsonb_build_object('id', i.id,"
        " 'refundOf', i.refund_of, 'kind', i.kind, 'period', to_char(i.period, 'YYYY-MM'),"
        " 'amountTiyn', -i.amount_tiyn, 'paidOn', i.paid_on, 'payer', " + PAYER_NAMES + "),"
        " 'contribution.refunded:' || i.id"
        " FROM inserted i LEFT JOIN core.payer p ON p.id = i.payer_id"
        " WHERE i.refund_of IS NOT NULL"))
    + " SELECT person_id, bool_or(refund_of IS NOT NULL), count(*),"
    " (SELECT count(*) FROM received) + (SELECT count(*) FROM refunded)"
    " FROM inserted GROUP BY person_id"
)


@dataclass(frozen=True)
class Contributions:
    """The pipeline's kind for contribution records."""

    max_amount_tiyn: int = MAX_AMOUNT_TIYN
    name: str = "contributions"
    affects_status: bool = True
    reads_lines: bool = True  # staged by ``reader``: read in Python, typed, as it streams

    def lock_sql(self) -> str:
        """Lock the originals that the batch's refunds name."""
        return LOCK

    def check_sql(self) -> str:
        """Parse and check ``ingest_raw`` into ``ingest_checked``."""
        return CHECK

    def check_args(self) -> Sequence[object]:
        """$3: the largest amount a record may carry."""
        return (self.max_amount_tiyn,)

    def store_sql(self) -> str:
        """Store, announce, and name the people touched."""
        return STORE
