"""Every public rollup recomputed from the raw rows with plain GROUP BYs, and an exact
comparison with what the triggers and the fold kept (``backend.transparency.rollups``).

The recomputation states each cell's meaning independently of the triggers: a contribution
counts while what is left of it (itself plus its refunds) is above zero, a service payment
likewise with its withdrawals; corrections sit in the cells of the rows they correct; money in
counts in the person's region (these tests move nobody for long), money out in the provider's.
Cells whose values are all zero are left out on both sides (a cell emptied by corrections or
deletions stays as a row of zeros in the rollup).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.transparency.rollups import fold_all

# rollup -> (its key columns, its value columns, the recomputation with the same columns)
RECOMPUTE: dict[str, tuple[str, str, str]] = {
    "money_in": (
        "month, region_code, kind, payer_kind", "amount_tiyn, payments",
        """SELECT c.period, p.region_code, c.kind, coalesce(c.payer_kind, 'self'),
                  sum(c.amount_tiyn),
                  count(*) FILTER (WHERE c.refund_of IS NULL
                                   AND c.amount_tiyn + coalesce(r.back, 0) > 0)
           FROM core.contribution c JOIN core.person p ON p.id = c.person_id
           LEFT JOIN (SELECT refund_of, sum(amount_tiyn) AS back FROM core.contribution
                      WHERE refund_of IS NOT NULL GROUP BY refund_of) r ON r.refund_of = c.id
           GROUP BY 1, 2, 3, 4"""),
    "money_out": (
        "month, provider_id, package, category", "region_code, amount_tiyn, services",
        """SELECT date_trunc('month', s.care_date)::date, s.provider_id, s.package, m.category,
                  pr.region_code, sum(s.amount_tiyn),
                  count(*) FILTER (WHERE s.withdrawal_of IS NULL
                                   AND s.amount_tiyn + coalesce(w.back, 0) > 0)
           FROM core.service_payment s
           JOIN core.medical_service m ON m.code = s.service_code
           JOIN core.provider pr ON pr.id = s.provider_id
           LEFT JOIN (SELECT withdrawal_of, sum(amount_tiyn) AS back
                      FROM core.service_payment WHERE withdrawal_of IS NOT NULL
                      GROUP BY withdrawal_of) w ON w.withdrawal_of = s.id
           GROUP BY 1, 2, 3, 4, 5"""),
    "cash_day": (
        "day", "in_tiyn, out_tiyn",
        """SELECT day, sum(i), sum(o) FROM (
               SELECT paid_on AS day, amount_tiyn AS i, 0 AS o FROM core.contribution
               UNION ALL SELECT paid_on, 0, amount_tiyn FROM core.service_payment) x
           GROUP BY 1"""),
    "cash_month": (
        "month", "in_tiyn, out_tiyn",
        """SELECT date_trunc('month', day)::date, sum(i), sum(o) FROM (
               SELECT paid_on AS day, amount_tiyn AS i, 0 AS o FROM core.contribution
               UNION ALL SELECT paid_on, 0, amount_tiyn FROM core.service_payment) x
           GROUP BY 1"""),
    "insured_now": (
        "region_code, status", "people",
        """SELECT p.region_code, upper(s.status), count(*)
           FROM core.person_status s JOIN core.person p ON p.id = s.person_id
           GROUP BY 1, 2"""),
    "provider_flags": (
        "month, provider_id, flag", "region_code, services",
        """SELECT date_trunc('month', s.care_date)::date, s.provider_id, f.flag,
                  pr.region_code, count(*)
           FROM core.service_payment s CROSS JOIN LATERAL unnest(s.flags) AS f(flag)
           JOIN core.provider pr ON pr.id = s.provider_id
           WHERE s.withdrawal_of IS NULL GROUP BY 1, 2, 3, 4"""),
    "disputes": (
        "month, provider_id, state", "region_code, cases",
        """SELECT date_trunc('month', reported_on)::date, provider_id, state, region_code,
                  count(*)
           FROM core.dispute GROUP BY 1, 2, 3, 4"""),
}

Cells = dict[tuple[Any, ...], tuple[Any, ...]]


def _cells(rows: list[tuple[Any, ...]], keys: int) -> Cells:
    """Rows as key -> values, without cells whose numbers are all zero."""
    cells: Cells = {}
    for row in rows:
        values = tuple(int(v) if not isinstance(v, str) else v for v in row[keys:])
        if any(v != 0 for v in values if isinstance(v, int)):
            cells[tuple(row[:keys])] = values
    return cells


async def kept(engine: AsyncEngine, rollup: str) -> Cells:
    """What ``stats.<rollup>`` holds now."""
    keys, values, _ = RECOMPUTE[rollup]
    async with engine.connect() as conn:
        rows = [tuple(r) for r in await conn.execute(
            text(f"SELECT {keys}, {values} FROM stats.{rollup}"))]
    return _cells(rows, len(keys.split(",")))


async def recomputed(engine: AsyncEngine, rollup: str) -> Cells:
    """What ``stats.<rollup>`` should hold, from the raw rows."""
    keys, _, sql = RECOMPUTE[rollup]
    async with engine.connect() as conn:
        rows = [tuple(r) for r in await conn.execute(text(sql))]
    return _cells(rows, len(keys.split(",")))


async def assert_exact(engine: AsyncEngine, *, fold: bool = True) -> dict[str, int]:
    """Fold what waits (unless told not to), then every rollup equals its recomputation,
    cell for cell; the number of non-zero cells of each."""
    if fold:
        await fold_all(engine)
    sizes = {}
    for rollup in RECOMPUTE:
        have, want = await kept(engine, rollup), await recomputed(engine, rollup)
        missing = {k: v for k, v in want.items() if have.get(k) != v}
        extra = {k: v for k, v in have.items() if want.get(k) != v}
        assert not missing and not extra, (rollup, missing, extra)
        sizes[rollup] = len(have)
    return sizes


async def deltas_waiting(engine: AsyncEngine) -> dict[str, int]:
    """Rows in each delta table."""
    async with engine.connect() as conn:
        return {name: int((await conn.execute(
            text(f"SELECT count(*) FROM stats.{name}_delta"))).scalar_one())
            for name in ("money_in", "money_out", "cash_day", "insured_now",
                         "provider_flags", "disputes")}
