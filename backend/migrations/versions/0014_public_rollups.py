"""Public rollups (schema ``stats``) and the triggers that keep them: statement-level triggers
with transition tables on the raw tables write aggregated deltas in the data's own transaction;
``backend.transparency.rollups.fold`` adds them to the rollups (``docs/transparency.md``).

A statement writes one delta row per cell it touches, whatever its number of rows (COPY too:
PostgreSQL fires statement triggers with transition tables for ``COPY FROM``).  Counts follow
the rows they correct: a contribution counts while it is not entirely refunded, a service
payment while it is not entirely withdrawn, so a correction that takes back the rest subtracts
one (its original's net crosses zero) and a partial one subtracts none.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "stats"
Col = sa.Column
Column = sa.Column[Any]


def _amount(name: str, rollup: bool) -> Column:
    if rollup:
        return Col(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False)
    return Col(name, sa.BigInteger(), nullable=False)


def _columns(table: str, rollup: bool) -> list[Column]:
    """The columns of a rollup (``rollup``) or of its delta twin."""
    month = Col("month", sa.Date(), nullable=False)
    region = Col("region_code", sa.String(5), nullable=False)
    provider = Col("provider_id", sa.Uuid(), nullable=False)
    shapes: dict[str, list[Column]] = {
        "money_in": [month, region, Col("kind", sa.String(32), nullable=False),
                     Col("payer_kind", sa.String(16), nullable=False),
                     _amount("amount_tiyn", rollup), _amount("payments", rollup)],
        "money_out": [month, provider, Col("package", sa.String(8), nullable=False),
                      Col("category", sa.String(32), nullable=False), region,
                      _amount("amount_tiyn", rollup), _amount("services", rollup)],
        "cash_day": [Col("day", sa.Date(), nullable=False), _amount("in_tiyn", rollup),
                     _amount("out_tiyn", rollup)],
        "cash_month": [month, _amount("in_tiyn", rollup), _amount("out_tiyn", rollup)],
        "insured": [month, region, Col("status", sa.String(24), nullable=False),
                    _amount("people", rollup),
                    Col("final", sa.Boolean(), server_default=sa.text("true"), nullable=False)],
        "insured_now": [region, Col("status", sa.String(24), nullable=False),
                        _amount("people", rollup)],
        "provider_flags": [month, provider, Col("flag", sa.Text(), nullable=False), region,
                           _amount("services", rollup)],
        "disputes": [month, provider, Col("state", sa.String(16), nullable=False), region,
                     _amount("cases", rollup)],
    }
    return shapes[table]


KEYS = {
    "money_in": ("month", "region_code", "kind", "payer_kind"),
    "money_out": ("month", "provider_id", "package", "category"),
    "cash_day": ("day",),
    "cash_month": ("month",),
    "insured": ("month", "region_code", "status"),
    "insured_now": ("region_code", "status"),
    "provider_flags": ("month", "provider_id", "flag"),
    "disputes": ("month", "provider_id", "state"),
}
INDEXES = {
    "money_out": (("region_code", "month"), ("provider_id", "month")),
    "provider_flags": (("provider_id", "month"),),
    "disputes": (("provider_id", "month"),),
}
DELTAS = ("money_in", "money_out", "cash_day", "insured_now", "provider_flags", "disputes")

# --- the delta functions -------------------------------------------------------------------
# Each is written once with {rows} (the transition table, signed: +1 inserted, -1 deleted) and
# made into one function per operation, since a function names the transition tables it reads.
# A row that neither is a correction nor is corrected in the same statement counts by its sign
# (the bulk path: summed straight into cells).  The others are grouped with their original:
# ``net_after`` is the original's net amount after the statement (0 once it is deleted), and
# the count moves by one when the net crosses zero (``net_after - moved`` is the net before).
NET = """
    touched AS (SELECT DISTINCT {correction} AS original FROM r
                WHERE {correction} IS NOT NULL),
    g AS (
        SELECT coalesce({correction}, r.id) AS original, {keys},
               sum(r.sign * r.amount_tiyn) AS amount, bool_or({correction} IS NULL) AS whole,
               min(r.sign) AS sign
        FROM r WHERE {correction} IS NOT NULL OR r.id IN (SELECT original FROM touched)
        GROUP BY 1, {key_numbers}),
    n AS (
        SELECT g.*, g.amount AS moved,
               CASE WHEN g.whole AND g.sign > 0 THEN g.amount
                    WHEN g.whole THEN 0
                    ELSE coalesce((SELECT o.amount_tiyn + coalesce((SELECT sum(c.amount_tiyn)
                                     FROM core.{table} c WHERE c.{column} = o.id), 0)
                                   FROM core.{table} o WHERE o.id = g.original), 0)
               END AS net_after
        FROM g),
    cells AS (
        SELECT {keys}, r.sign * r.amount_tiyn AS moved, r.sign AS counted
        FROM r WHERE {correction} IS NULL AND r.id NOT IN (SELECT original FROM touched)
        UNION ALL
        SELECT {names}, n.moved, (n.net_after > 0)::int - (n.net_after - n.moved > 0)::int
        FROM n)"""

CONTRIBUTION = "".join((
    """
    WITH r AS NOT MATERIALIZED ({rows}),
    """, NET.format(correction="r.refund_of", table="contribution", column="refund_of",
                     keys="r.person_id, r.period, r.kind::text AS kind,"
                          " coalesce(r.payer_kind::text, 'self') AS payer_kind",
                     names="n.person_id, n.period, n.kind, n.payer_kind",
                     key_numbers="2, 3, 4, 5"), """,
    cash AS (
        INSERT INTO stats.cash_day_delta (day, in_tiyn, out_tiyn)
        SELECT r.paid_on, sum(r.sign * r.amount_tiyn), 0 FROM r GROUP BY r.paid_on)
    INSERT INTO stats.money_in_delta (month, region_code, kind, payer_kind, amount_tiyn,
                                      payments)
    SELECT cells.period, p.region_code, cells.kind, cells.payer_kind, sum(cells.moved),
           sum(cells.counted)
    FROM cells JOIN core.person p ON p.id = cells.person_id
    GROUP BY 1, 2, 3, 4 HAVING sum(cells.moved) <> 0 OR sum(cells.counted) <> 0"""))

SERVICE_PAYMENT = "".join((
    """
    WITH r AS NOT MATERIALIZED ({rows}),
    """, NET.format(correction="r.withdrawal_of", table="service_payment",
                     column="withdrawal_of",
                     keys="date_trunc('month', r.care_date)::date AS month, r.provider_id,"
                          " r.package::text AS package, r.service_code",
                     names="n.month, n.provider_id, n.package, n.service_code",
                     key_numbers="2, 3, 4, 5"), """,
    cash AS (
        INSERT INTO stats.cash_day_delta (day, in_tiyn, out_tiyn)
        SELECT r.paid_on, 0, sum(r.sign * r.amount_tiyn) FROM r GROUP BY r.paid_on),
    flagged AS (
        INSERT INTO stats.provider_flags_delta (month, provider_id, flag, region_code, services)
        SELECT date_trunc('month', r.care_date)::date, r.provider_id, f.flag, pr.region_code,
               sum(r.sign)
        FROM r CROSS JOIN LATERAL unnest(r.flags) AS f(flag)
        JOIN core.provider pr ON pr.id = r.provider_id
        WHERE r.withdrawal_of IS NULL
        GROUP BY 1, 2, 3, 4)
    INSERT INTO stats.money_out_delta (month, provider_id, package, category, region_code,
                                       amount_tiyn, services)
    SELECT cells.month, cells.provider_id, cells.package, m.category, pr.region_code,
           sum(cells.moved), sum(cells.counted)
    FROM cells JOIN core.medical_service m ON m.code = cells.service_code
    JOIN core.provider pr ON pr.id = cells.provider_id
    GROUP BY 1, 2, 3, 4, 5 HAVING sum(cells.moved) <> 0 OR sum(cells.counted) <> 0"""))

# A person's stored status counts in their region now; a status that changes moves one person
# between cells, and so does a person who moves (the status store locks the person's row, as
# does any update of it, so the two never cross).
PERSON_STATUS = """
    INSERT INTO stats.insured_now_delta (region_code, status, people)
    SELECT p.region_code, upper(r.status), sum(r.sign)
    FROM ({rows}) r JOIN core.person p ON p.id = r.person_id
    GROUP BY 1, 2 HAVING sum(r.sign) <> 0"""

PERSON_STATUS_CHANGED = """
    WITH changed AS (
        SELECT n.person_id, n.status AS new_status, o.status AS old_status
        FROM new_rows n JOIN old_rows o ON o.person_id = n.person_id
        WHERE n.status IS DISTINCT FROM o.status)
    INSERT INTO stats.insured_now_delta (region_code, status, people)
    SELECT p.region_code, upper(x.status), sum(x.sign)
    FROM (SELECT person_id, new_status AS status, 1 AS sign FROM changed
          UNION ALL SELECT person_id, old_status, -1 FROM changed) x
    JOIN core.person p ON p.id = x.person_id
    GROUP BY 1, 2 HAVING sum(x.sign) <> 0"""

PERSON_MOVED = """
    WITH moved AS (
        SELECT n.id, n.region_code AS new_region, o.region_code AS old_region
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.region_code IS DISTINCT FROM o.region_code)
    INSERT INTO stats.insured_now_delta (region_code, status, people)
    SELECT x.region_code, upper(s.status), sum(x.sign)
    FROM (SELECT id, new_region AS region_code, 1 AS sign FROM moved
          UNION ALL SELECT id, old_region, -1 FROM moved) x
    JOIN core.person_status s ON s.person_id = x.id
    GROUP BY 1, 2 HAVING sum(x.sign) <> 0"""

DISPUTE = """
    INSERT INTO stats.disputes_delta (month, provider_id, state, region_code, cases)
    SELECT date_trunc('month', r.reported_on)::date, r.provider_id, r.state, r.region_code,
           sum(r.sign)
    FROM ({rows}) r GROUP BY 1, 2, 3, 4 HAVING sum(r.sign) <> 0"""

INSERTED = "SELECT 1 AS sign, * FROM new_rows"
DELETED = "SELECT -1 AS sign, * FROM old_rows"
CHANGED = INSERTED + " UNION ALL " + DELETED

# (table, operation, body): one function and one trigger each.
TRIGGERS = (
    ("contribution", "INSERT", CONTRIBUTION.format(rows=INSERTED)),
    ("contribution", "DELETE", CONTRIBUTION.format(rows=DELETED)),
    ("service_payment", "INSERT", SERVICE_PAYMENT.format(rows=INSERTED)),
    ("service_payment", "DELETE", SERVICE_PAYMENT.format(rows=DELETED)),
    ("person_status", "INSERT", PERSON_STATUS.format(rows=INSERTED)),
    ("person_status", "UPDATE", PERSON_STATUS_CHANGED),
    ("person_status", "DELETE", PERSON_STATUS.format(rows=DELETED)),
    ("person", "UPDATE", PERSON_MOVED),
    ("dispute", "INSERT", DISPUTE.format(rows=INSERTED)),
    ("dispute", "UPDATE", DISPUTE.format(rows=CHANGED)),
    ("dispute", "DELETE", DISPUTE.format(rows=DELETED)),
)


def trigger_name(table: str, operation: str) -> str:
    """``stats_<table>_<insert|update|delete>``: the trigger (and its function's) name."""
    return f"stats_{table}_{operation.lower()}"


def _create_trigger(table: str, operation: str, body: str) -> None:
    name = trigger_name(table, operation)
    op.execute(f"CREATE FUNCTION stats.{name}() RETURNS trigger LANGUAGE plpgsql AS $$"
               f" BEGIN {body.strip()}; RETURN NULL; END $$")
    referencing = {"INSERT": "NEW TABLE AS new_rows", "DELETE": "OLD TABLE AS old_rows",
                   "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}[operation]
    op.execute(f"CREATE TRIGGER {name} AFTER {operation} ON core.{table}"
               f" REFERENCING {referencing} FOR EACH STATEMENT"
               f" EXECUTE FUNCTION stats.{name}()")


# The rollups of the rows already stored (a database older than this migration): the one time
# they are computed by scanning every row, with the same meaning as the triggers'.
CASH = ("SELECT paid_on AS day, amount_tiyn AS i, 0 AS o FROM core.contribution"
        " UNION ALL SELECT paid_on, 0, amount_tiyn FROM core.service_payment")
BACKFILL = (
    """INSERT INTO stats.money_in (month, region_code, kind, payer_kind, amount_tiyn, payments)
    SELECT c.period, p.region_code, c.kind, coalesce(c.payer_kind, 'self'), sum(c.amount_tiyn),
           count(*) FILTER (WHERE c.refund_of IS NULL AND c.amount_tiyn + coalesce(r.back, 0) > 0)
    FROM core.contribution c JOIN core.person p ON p.id = c.person_id
    LEFT JOIN (SELECT refund_of, sum(amount_tiyn) AS back FROM core.contribution
               WHERE refund_of IS NOT NULL GROUP BY refund_of) r ON r.refund_of = c.id
    GROUP BY 1, 2, 3, 4""",
    """INSERT INTO stats.money_out (month, provider_id, package, category, region_code,
                                 amount_tiyn, services)
    SELECT date_trunc('month', s.care_date)::date, s.provider_id, s.package, m.category,
           max(pr.region_code), sum(s.amount_tiyn),
           count(*) FILTER (WHERE s.withdrawal_of IS NULL
                            AND s.amount_tiyn + coalesce(w.back, 0) > 0)
    FROM core.service_payment s JOIN core.medical_service m ON m.code = s.service_code
    JOIN core.provider pr ON pr.id = s.provider_id
    LEFT JOIN (SELECT withdrawal_of, sum(amount_tiyn) AS back FROM core.service_payment
               WHERE withdrawal_of IS NOT NULL GROUP BY withdrawal_of) w
           ON w.withdrawal_of = s.id
    GROUP BY 1, 2, 3, 4""",
    f"INSERT INTO stats.cash_day (day, in_tiyn, out_tiyn) SELECT day, sum(i), sum(o)"  # noqa: S608
    f" FROM ({CASH}) x GROUP BY 1",
    f"INSERT INTO stats.cash_month (month, in_tiyn, out_tiyn)"  # noqa: S608
    f" SELECT date_trunc('month', day)::date, sum(i), sum(o) FROM ({CASH}) x GROUP BY 1",
    """INSERT INTO stats.insured_now (region_code, status, people)
    SELECT p.region_code, upper(s.status), count(*)
    FROM core.person_status s JOIN core.person p ON p.id = s.person_id GROUP BY 1, 2""",
    """INSERT INTO stats.provider_flags (month, provider_id, flag, region_code, services)
    SELECT date_trunc('month', s.care_date)::date, s.provider_id, f.flag,
           max(pr.region_code), count(*)
    FROM core.service_payment s CROSS JOIN LATERAL unnest(s.flags) AS f(flag)
    JOIN core.provider pr ON pr.id = s.provider_id
    WHERE s.withdrawal_of IS NULL GROUP BY 1, 2, 3""",
    """INSERT INTO stats.disputes (month, provider_id, state, region_code, cases)
    SELECT date_trunc('month', reported_on)::date, provider_id, state, max(region_code),
           count(*)
    FROM core.dispute GROUP BY 1, 2, 3""",
)


def upgrade() -> None:
    op.execute("CREATE SCHEMA stats")
    for table, key in KEYS.items():
        op.create_table(table, *_columns(table, rollup=True),
                        sa.PrimaryKeyConstraint(*key, name=f"pk_{table}"), schema=S)
        for columns in INDEXES.get(table, ()):
            op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns), schema=S)
    for table in DELTAS:
        op.create_table(f"{table}_delta",
                        *(c for c in _columns(table, rollup=False) if c.name != "final"),
                        schema=S)
    for table, operation, body in TRIGGERS:
        _create_trigger(table, operation, body)
    for statement in BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    for table, operation, _ in TRIGGERS:
        name = trigger_name(table, operation)
        op.execute(f"DROP TRIGGER {name} ON core.{table}")
        op.execute(f"DROP FUNCTION stats.{name}()")
    for table in DELTAS:
        op.drop_table(f"{table}_delta", schema=S)
    for table in KEYS:
        op.drop_table(table, schema=S)
    op.execute("DROP SCHEMA stats")
