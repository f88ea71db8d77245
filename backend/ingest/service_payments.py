"""Service-payment records: what the Fund paid a provider for a person's care.

A record (one JSON object; in a file, one per line)::

    {"recordId": "SP-2026-000981", "iin": "900303400011", "providerBin": "050140004211",
     "serviceCode": "A01.001", "careDate": "2026-11-03", "amount": "12400.00",
     "paidOn": "2026-11-20", "practitioner": "doc-4471"}

A withdrawal (money withheld for a defect found by the Fund's quality monitoring) is its own
record naming the original by ``withdrawalOf`` with ``iin``, ``amount`` and ``paidOn``; it
is stored as a negative payment with the original's provider, service and date.

Checks, the first that fails giving the code: a JSON object; a record id; the IIN's check
digit; the person; for a withdrawal, the original (same sender, same person) and that the
withdrawals do not exceed it; the provider (by BIN); the service code; the care date and the
payment date (real dates, not in the future, payment not before care); the amount.

What contradicts the person or common sense is *stored* and flagged, not refused: the Fund
has paid that money, and showing it to the person is how such bills come to light.  Flags:
``AFTER_DEATH`` (care after the person's death), ``SEX_MISMATCH`` (a service for the other
sex, e.g. a cervical screening for a man), ``AGE_MISMATCH`` (outside the service's ages),
``DUPLICATE_BILLING`` (the same service for the same person on the same day, already stored
or earlier in the batch), ``PRACTITIONER_OVERLOAD`` (more payments for one practitioner of
one provider on one day than ``practitioner_daily_limit``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from backend.ingest.pipeline import DOCS, FIRST_CHECKS, lock_sql, names_json, settle
from notifications import outbox

# 50 million tenge: beyond the dearest operation the Fund pays for.
MAX_AMOUNT_TIYN = 5_000_000_000
PRACTITIONER_DAILY_LIMIT = 80

LOCK = lock_sql("service_payment", "withdrawal_of", "withdrawalOf")
CHECK = DOCS + r"""
, fields AS (
    SELECT line, j, jsonb_typeof(j) = 'object' AS is_object,
           CASE WHEN jsonb_typeof(j) = 'object' THEN j ->> 'recordId' END AS record_id,
           j ->> 'iin' AS iin, j ->> 'providerBin' AS provider_bin,
           j ->> 'serviceCode' AS service_text, j ->> 'careDate' AS care_text,
           j ->> 'amount' AS amount_text, j ->> 'paidOn' AS paid_text,
           left(j ->> 'practitioner', 64) AS practitioner_text,
           j ->> 'withdrawalOf' AS withdrawal_record
    FROM docs
), parsed AS MATERIALIZED (
    SELECT f.*, core.try_date(care_text) AS care_value, core.try_date(paid_text) AS paid_on,
           CASE WHEN amount_text ~ '^[0-9]{1,13}(\.[0-9]{1,2})?$'
                THEN (amount_text::numeric * 100)::bigint END AS amount_value,
           row_number() OVER (PARTITION BY record_id ORDER BY line) AS nth,
           first_value(j) OVER (PARTITION BY record_id ORDER BY line) AS first_doc
    FROM fields f
), resolved AS (
    SELECT p.*, person.id AS person_id, person.sex AS person_sex,
           person.birth_date, person.death_date,
           orig.id AS original_id, orig.person_id AS original_person,
           orig.amount_tiyn AS original_amount,
           (p.withdrawal_record IS NOT NULL) AS is_withdrawal,
           coalesce(orig.provider_id, provider.id) AS provider_id,
           coalesce(orig.service_code, service.code) AS service_code,
           coalesce(orig.care_date, p.care_value) AS care_date,
           coalesce(orig.package, service.package) AS package,
           coalesce(orig.practitioner_ref, p.practitioner_text) AS practitioner,
           service.sex AS service_sex, service.min_age, service.max_age,
           CASE WHEN p.withdrawal_record IS NOT NULL THEN -p.amount_value
                ELSE p.amount_value END AS amount_tiyn,
           CASE WHEN orig.id IS NULL THEN 0 ELSE
               coalesce((SELECT -sum(w.amount_tiyn) FROM core.service_payment w
                         WHERE w.withdrawal_of = orig.id AND w.person_id = orig.person_id),
                        0) END AS stored_corrected
    FROM parsed p
    LEFT JOIN core.person person ON person.iin = p.iin
    LEFT JOIN core.service_payment_key orig_key
           ON p.withdrawal_record IS NOT NULL AND orig_key.source = $1
          AND orig_key.source_record_id = p.withdrawal_record
    LEFT JOIN core.service_payment orig
           ON orig.id = orig_key.id AND orig.person_id = orig_key.person_id
          AND orig.withdrawal_of IS NULL
    LEFT JOIN core.provider provider ON provider.bin = p.provider_bin
    LEFT JOIN core.medical_service service ON service.code = p.service_text
), existing AS (
    SELECT r.*, ex.id AS existing_id,
           (ex.id IS NOT NULL AND ex.person_id = r.person_id
            AND ex.provider_id = r.provider_id AND ex.service_code = r.service_code
            AND ex.care_date = r.care_date AND ex.amount_tiyn = r.amount_tiyn
            AND ex.paid_on = r.paid_on
            AND ex.practitioner_ref IS NOT DISTINCT FROM r.practitioner
            AND ex.withdrawal_of IS NOT DISTINCT FROM r.original_id) AS same_as_stored
    FROM resolved r
    LEFT JOIN core.service_payment_key ex_key
           ON ex_key.source = $1 AND ex_key.source_record_id = r.record_id
    LEFT JOIN core.service_payment ex ON ex.id = ex_key.id AND ex.person_id = ex_key.person_id
), pre AS MATERIALIZED (  -- computed once: the codes are read three times below
    SELECT e.*, is_withdrawal AS is_correction,
           existing_id IS NOT NULL AND same_as_stored AS stored_before,
       CASE""" + FIRST_CHECKS + r"""
         WHEN is_withdrawal AND original_id IS NULL THEN 'ORIGINAL_UNKNOWN'
         WHEN is_withdrawal AND original_person <> person_id THEN 'ORIGINAL_MISMATCH'
         WHEN provider_id IS NULL THEN 'PROVIDER_UNKNOWN'
         WHEN service_code IS NULL THEN 'SERVICE_UNKNOWN'
         WHEN care_date IS NULL OR paid_on IS NULL THEN 'DATE_INVALID'
         WHEN care_date > $2::date OR paid_on > $2::date THEN 'DATE_IN_FUTURE'
         WHEN paid_on < care_date THEN 'PAID_BEFORE_CARE'
         WHEN amount_value IS NULL OR amount_value <= 0 THEN 'AMOUNT_INVALID'
         WHEN amount_value > $3 THEN 'AMOUNT_ABSURD'
         WHEN existing_id IS NOT NULL THEN 'RECORD_ID_CONFLICT'
       END AS own_code
    FROM existing e
)""" + settle() + """, load AS (
    SELECT provider_id, practitioner, care_date, count(*) AS in_batch
    FROM checked WHERE code IS NULL AND NOT duplicate AND NOT is_withdrawal
         AND practitioner IS NOT NULL
    GROUP BY provider_id, practitioner, care_date
), overloaded AS (
    SELECT l.provider_id, l.practitioner, l.care_date FROM load l
    WHERE l.in_batch + (SELECT count(*) FROM core.service_payment s
                        WHERE s.provider_id = l.provider_id
                          AND s.practitioner_ref = l.practitioner
                          AND s.care_date = l.care_date AND s.withdrawal_of IS NULL) > $4
)
SELECT c.line, c.record_id, c.person_id, c.provider_id, c.service_code, c.care_date,
       c.amount_tiyn, c.package, c.paid_on, c.practitioner, c.original_id, c.duplicate,
       c.code,
       CASE WHEN c.code IS NOT NULL OR c.duplicate OR c.is_withdrawal THEN '{}'::text[]
       ELSE array_remove(ARRAY[
         CASE WHEN c.death_date IS NOT NULL AND c.care_date > c.death_date
              THEN 'AFTER_DEATH' END,
         CASE WHEN c.service_sex IS NOT NULL AND c.service_sex <> c.person_sex
              THEN 'SEX_MISMATCH' END,
         CASE WHEN extract(year FROM age(c.care_date, c.birth_date))
                   NOT BETWEEN c.min_age AND c.max_age THEN 'AGE_MISMATCH' END,
         CASE WHEN row_number() OVER (PARTITION BY c.person_id, c.service_code, c.care_date,
                                                   (c.code IS NULL AND NOT c.duplicate
                                                    AND NOT c.is_withdrawal)
                                      ORDER BY c.line) > 1
                OR EXISTS (SELECT 1 FROM core.service_payment s
                           WHERE s.person_id = c.person_id AND s.care_date = c.care_date
                             AND s.service_code = c.service_code AND s.withdrawal_of IS NULL)
              THEN 'DUPLICATE_BILLING' END,
         CASE WHEN o.provider_id IS NOT NULL THEN 'PRACTITIONER_OVERLOAD' END
       ], NULL) END AS flags
FROM checked c
LEFT JOIN overloaded o ON o.provider_id = c.provider_id AND o.practitioner = c.practitioner
                      AND o.care_date = c.care_date
"""

PROVIDER_NAMES = names_json("pr")
SERVICE_NAMES = names_json("ms")
NAMED = (" JOIN core.provider pr ON pr.id = i.provider_id"
         " JOIN core.medical_service ms ON ms.code = i.service_code")
# Record ids claimed first in the key table, as contributions do (``contributions.STORE``).
STORE = (
    "WITH keyed AS ("
    " INSERT INTO core.service_payment_key (source, source_record_id, id, person_id)"
    " SELECT $1, record_id, nextval('core.service_payment_id_seq'), person_id"
    " FROM ingest_checked WHERE code IS NULL AND NOT duplicate ORDER BY line"
    " ON CONFLICT (source, source_record_id) DO NOTHING RETURNING source_record_id, id),"
    " inserted AS ("
    " INSERT INTO core.service_payment (id, person_id, provider_id, service_code, care_date,"
    " amount_tiyn, package, paid_on, practitioner_ref, source, source_record_id,"
    " withdrawal_of, flags, batch_id)"
    " SELECT k.id, c.person_id, c.provider_id, c.service_code, c.care_date, c.amount_tiyn,"
    " c.package, c.paid_on, c.practitioner, $1, c.record_id, c.original_id, c.flags, $2"
    " FROM keyed k JOIN ingest_checked c ON c.record_id = k.source_record_id"
    " AND c.code IS NULL AND NOT c.duplicate ORDER BY c.line"
    " RETURNING id, person_id, provider_id, service_code, care_date, amount_tiyn,"
    " withdrawal_of, flags), "
    + outbox.cte("paid", (
        "SELECT i.person_id, 'service.paid', jsonb_build_object('batch', $2::bigint,"
        " 'payments', jsonb_agg(jsonb_build_object('id', i.id, 'providerId', i.provider_id,"
        " 'serviceCode', i.service_code, 'careDate', i.care_date,"
        " 'amountTiyn', i.amount_tiyn, 'flags', to_jsonb(i.flags),"
        " 'provider', " + PROVIDER_NAMES + ", 'service', " + SERVICE_NAMES + ")"
        " ORDER BY i.care_date, i.id)),"
        " 'service.paid:' || $2 || ':' || i.person_id"
        " FROM inserted i" + NAMED + " WHERE i.withdrawal_of IS NULL GROUP BY i.person_id"))
    + ", "
    + outbox.cte("withdrawn", (
        "SELECT i.person_id, 'service.withdrawn', jsonb_build_object('id', i.id,"
        " 'withdrawalOf', i.withdrawal_of, 'providerId', i.provider_id,"
        " 'serviceCode', i.service_code, 'careDate', i.care_date,"
        " 'amountTiyn', -i.amount_tiyn,"
        " 'provider', " + PROVIDER_NAMES + ", 'service', " + SERVICE_NAMES + "),"
        " 'service.withdrawn:' || i.id FROM inserted i" + NAMED
        + " WHERE i.withdrawal_of IS NOT NULL"))
    + " SELECT person_id, false, count(*),"
    " (SELECT count(*) FROM paid) + (SELECT count(*) FROM withdrawn)"
    " FROM inserted GROUP BY person_id"
)


@dataclass(frozen=True)
class ServicePayments:
    """The pipeline's kind for service-payment records."""

    max_amount_tiyn: int = MAX_AMOUNT_TIYN
    practitioner_daily_limit: int = PRACTITIONER_DAILY_LIMIT
    name: str = "service_payments"
    affects_status: bool = False

    def lock_sql(self) -> str:
        """Lock the originals that the batch's withdrawals name."""
        return LOCK

    def check_sql(self) -> str:
        """Parse, check and flag ``ingest_raw`` into ``ingest_checked``."""
        return CHECK

    def check_args(self) -> Sequence[object]:
        """$3 the largest amount, $4 the practitioner's daily limit."""
        return (self.max_amount_tiyn, self.practitioner_daily_limit)

    def store_sql(self) -> str:
        """Store, announce, and name the people touched."""
        return STORE
