"""Keeping the public rollups (schema ``stats``) current: the fold and the month-end snapshot.

The raw tables' statement triggers (migration 0014) write aggregated *deltas* in the data's own
transaction.  ``fold`` takes a bounded batch of each delta table (``DELETE … WHERE ctid =
ANY(ARRAY(SELECT ctid … FOR UPDATE SKIP LOCKED LIMIT n)) RETURNING``), sums it by cell and adds
it to the rollup (``INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x``), in the caller's
transaction.  So:

- a delta is added exactly once: it is deleted in the transaction that adds it, and a second
  folder skips the rows the first has locked (it folds others, or nothing);
- a crash loses nothing: a delta exists iff its data committed, and stays until a fold commits;
- folders never deadlock: each takes the rollups in the same order and upserts the cells of a
  table sorted by key, so row locks are always taken in one global order.

``cash_day_delta`` feeds both ``cash_day`` and ``cash_month`` (a balance reads a few rows).
A fold of money in or out, flags or cases also bumps the version of each month it changed
(``stats.month_change``), which is how ``backend.transparency.release`` knows what to release.

``snapshot`` copies ``insured_now`` into ``insured`` for a month: final at the month's end
(``month_end``, the worker's job; idempotent), or provisional (``final = false``) for a month
not yet over, which the final one replaces (the demo's current month).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.months import add_months, month_start

log = logging.getLogger("mhi.stats")

FOLD_LIMIT = 10_000
"""Deltas taken from each table by one fold (one transaction)."""
FOLD_EVERY = 2.0
"""Seconds the worker waits between folds once the deltas are drained."""
MONTH_END_DAYS = 3
"""The first days of a month in which the worker records the month before's snapshot: later,
today's statuses no longer say how that month ended, and the month stays without figures."""


@dataclass(frozen=True)
class _Rollup:
    """How one delta table folds into its rollup(s)."""

    delta: str
    keys: tuple[str, ...]
    sums: tuple[str, ...]
    latest: tuple[str, ...] = ()
    """Value columns that are not sums (the provider's region): the batch's, kept as latest."""
    targets: tuple[tuple[str, str, str], ...] = ()
    """(rollup, its first key, that key's expression over the deltas) when the rollup is not
    simply ``delta`` without ``_delta``."""
    measure: str | None = None
    """The released measure whose months this rollup holds (``backend.transparency.release``):
    the fold bumps ``stats.month_change`` for each month it changes."""


ROLLUPS = (
    _Rollup("money_in_delta", ("month", "region_code", "kind", "payer_kind"),
            ("amount_tiyn", "payments"), measure="money_in"),
    _Rollup("money_out_delta", ("month", "provider_id", "package", "category"),
            ("amount_tiyn", "services"), latest=("region_code",), measure="money_out"),
    _Rollup("cash_day_delta", ("day",), ("in_tiyn", "out_tiyn"),
            targets=(("cash_day", "day", "day"),
                     ("cash_month", "month", "date_trunc('month', day)::date"))),
    _Rollup("insured_now_delta", ("region_code", "status"), ("people",)),
    _Rollup("provider_flags_delta", ("month", "provider_id", "flag"), ("services",),
            latest=("region_code",), measure="flags"),
    _Rollup("disputes_delta", ("month", "provider_id", "state"), ("cases",),
            latest=("region_code",), measure="cases"),
)


def _upsert(rollup: _Rollup, target: str, first_key: str, expression: str) -> str:
    """``INSERT … SELECT`` of the taken deltas summed into ``target``'s cells, in key order."""
    keys = (first_key, *rollup.keys[1:])
    columns = ", ".join((*keys, *rollup.sums, *rollup.latest))
    selected = ", ".join((expression, *keys[1:],
                          *(f"sum({c})" for c in rollup.sums),
                          *(f"max({c})" for c in rollup.latest)))
    numbers = ", ".join(str(i) for i in range(1, len(keys) + 1))
    updates = ", ".join((*(f"{c} = t.{c} + excluded.{c}" for c in rollup.sums),
                         *(f"{c} = excluded.{c}" for c in rollup.latest)))
    return (f"INSERT INTO stats.{target} AS t ({columns}) SELECT {selected} FROM taken"  # noqa: S608
            f" GROUP BY {numbers} ORDER BY {numbers}"
            f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}")


def fold_sql(rollup: _Rollup) -> str:
    """One statement: take up to ``:limit`` deltas, add them to the rollup(s), count them."""
    first = rollup.keys[0]
    targets = rollup.targets or ((rollup.delta.removesuffix("_delta"), first, first),)
    upserts = ", ".join(f"u{i} AS ({_upsert(rollup, *target)})"
                        for i, target in enumerate(targets))
    if rollup.measure is not None:  # the months changed: due for release (in month order)
        upserts += (f", changed AS (INSERT INTO stats.month_change AS t (measure, month)"  # noqa: S608
                    f" SELECT '{rollup.measure}', month FROM taken GROUP BY month ORDER BY month"
                    f" ON CONFLICT (measure, month) DO UPDATE SET version = t.version + 1)")
    return (f"WITH taken AS (DELETE FROM stats.{rollup.delta} WHERE ctid = ANY(ARRAY("  # noqa: S608 (our names)
            f"SELECT ctid FROM stats.{rollup.delta} LIMIT :limit FOR UPDATE SKIP LOCKED))"
            f" RETURNING *), {upserts} SELECT count(*) FROM taken")


_FOLDS = tuple((rollup.delta, text(fold_sql(rollup))) for rollup in ROLLUPS)


@dataclass
class FoldReport:
    """Deltas folded, by delta table, and how long it took."""

    folded: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        """Deltas folded from every table."""
        return sum(self.folded.values())

    def __str__(self) -> str:
        parts = ", ".join(f"{name.removesuffix('_delta')} {count:,}"
                          for name, count in self.folded.items() if count)
        return f"folded {self.total:,} deltas ({parts or 'none waiting'}) in {self.seconds:.2f} s"


async def fold(conn: AsyncConnection, limit: int = FOLD_LIMIT) -> FoldReport:
    """Fold up to ``limit`` deltas of each table into the rollups, in the caller's transaction
    (commit it to make them count; roll it back and the deltas are still there)."""
    started = time.monotonic()
    report = FoldReport()
    for name, statement in _FOLDS:
        report.folded[name] = int((await conn.execute(statement, {"limit": limit})).scalar_one())
    report.seconds = time.monotonic() - started
    return report


async def fold_all(engine: AsyncEngine, limit: int = FOLD_LIMIT) -> FoldReport:
    """Fold until no table has a full batch waiting, one transaction per batch (the worker's
    job, ``mhi stats fold``)."""
    started = time.monotonic()
    total = FoldReport(folded={rollup.delta: 0 for rollup in ROLLUPS})
    while True:
        async with engine.begin() as conn:
            batch = await fold(conn, limit)
        for name, count in batch.folded.items():
            total.folded[name] += count
        if max(batch.folded.values()) < limit:
            break
    total.seconds = time.monotonic() - started
    return total


async def waiting(conn: AsyncConnection) -> int:
    """Deltas not yet folded (committed ones that this transaction sees)."""
    counts = " + ".join(f"(SELECT count(*) FROM stats.{r.delta})"  # noqa: S608 (our names)
                        for r in ROLLUPS)
    return int((await conn.execute(text(f"SELECT {counts}"))).scalar_one())


_SNAPSHOT = (
    "DELETE FROM stats.insured WHERE month = :month AND NOT final",
    "INSERT INTO stats.insured (month, region_code, status, people, final)"
    " SELECT :month, region_code, status, people, :final FROM stats.insured_now"
    " WHERE NOT EXISTS (SELECT 1 FROM stats.insured WHERE month = :month AND final)"
    " ORDER BY region_code, status ON CONFLICT DO NOTHING",
    # the month is due for release (``backend.transparency.release``)
    "INSERT INTO stats.month_change AS t (measure, month) VALUES ('insured', :month)"
    " ON CONFLICT (measure, month) DO UPDATE SET version = t.version + 1",
)


async def snapshot(conn: AsyncConnection, month: date, *, final: bool = True) -> int:
    """Copy ``insured_now`` (fold first) into ``insured`` for ``month``: ``final`` for a month
    that has ended (once: a second call changes nothing), else provisional (replaced by the
    next snapshot of the month).  Cells written (0: the month already has its final one)."""
    month = month_start(month)
    written = 0
    for statement in _SNAPSHOT:
        result = await conn.execute(text(statement), {"month": month, "final": final})
        if statement.startswith("INSERT INTO stats.insured "):
            written = result.rowcount
    return written


async def has_final(conn: AsyncConnection, month: date) -> bool:
    """Whether ``month`` has its month-end snapshot."""
    found = await conn.execute(text("SELECT EXISTS (SELECT 1 FROM stats.insured"
                                    " WHERE month = :month AND final)"),
                               {"month": month_start(month)})
    return bool(found.scalar_one())


async def month_end(engine: AsyncEngine, today: date) -> date | None:
    """The final snapshot of the month before ``today``'s, unless it exists or ``today`` is
    past the month's first ``MONTH_END_DAYS`` days (the worker runs it before it recomputes
    the statuses of the new month).  The month snapshotted, or None."""
    if today.day > MONTH_END_DAYS:
        return None
    ended = add_months(today, -1)
    async with engine.connect() as conn:
        if await has_final(conn, ended):
            return None
    await fold_all(engine)
    async with engine.begin() as conn:
        await snapshot(conn, ended, final=True)
    return ended


async def fold_and_snapshot(engine: AsyncEngine, months: Sequence[date], *,
                            final: bool) -> FoldReport:
    """Fold everything waiting, then snapshot ``months`` (``mhi stats snapshot``, the demo)."""
    report = await fold_all(engine)
    async with engine.begin() as conn:
        for month in months:
            await snapshot(conn, month, final=final)
    return report
