"""Releasing the public figures: each month of each measure is protected once, when it changes,
and its cells stored (``stats.release_cell``), so a public read costs what reading those cells
costs, whatever the size of the country (``docs/transparency.md``, "Releases").

The worker releases after it folds (``release``, at most every ``RELEASE_EVERY`` seconds, and at
once when a month has ended): under one advisory lock, in one REPEATABLE READ transaction, per
measure (money in, money out, flags, cases, insured people):

1. the months due: those whose rollup changed since they were released (``stats.month_change``
   against ``stats.release``), those never released, and those whose total must now be
   withheld, or no longer, because of the other months (``privacy.months_to_hide`` over every
   month's total, which also says which months' totals are withheld and whether later months
   hold money);
2. each due month protected as ``figures`` would protect it in process (the same function) and
   its cells replaced;
3. the measure's *edition* written: the month it is released for (the last ended), the months
   with figures, the withheld months, whether later months hold money.

A reader uses the edition only when it was released for the reader's last ended month, so a
new month never shows last month's choices; until the worker releases (seconds after midnight),
readers protect in process as before.  The figures a reader gets are the same either way: a
test compares both, month by month.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.transparency import figures, privacy
from backend.transparency.figures import TOTAL, Family

log = logging.getLogger("mhi.stats")

MEASURES = (figures.MONEY_IN, figures.MONEY_OUT, "flags", "cases", figures.INSURED)
RELEASE_EVERY = 30.0
"""Seconds the worker waits between releases of months that changed (a month that has just
ended is released at once)."""
LOCK = 0x6D68_6972_656C  # 'mhirel': one releaser at a time, whichever worker


def to_rows(family: Family) -> list[tuple[str, str, int, int, bool, bool]]:
    """A protected month as ``release_cell`` rows: (dimension, key, count, amount, hidden,
    like_total); ``figures.released_cell`` reads one back."""
    rows = []
    for key, shown in family.items():
        dimension, value = ((figures.TOTAL_DIMENSION, "") if key == TOTAL
                            else (str(key[0]), str(key[1])))  # type: ignore[index]
        rows.append((dimension, value, shown.count, shown.amount, shown.hidden,
                     shown.like_total))
    return rows


@dataclass
class ReleaseReport:
    """Months released, by measure, and how long it took."""

    released: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    locked_out: bool = False

    @property
    def total(self) -> int:
        """Months released in all."""
        return sum(self.released.values())

    def __str__(self) -> str:
        if self.locked_out:
            return "another process is releasing"
        parts = ", ".join(f"{name} {count}" for name, count in self.released.items() if count)
        return f"released {self.total} months ({parts or 'none due'}) in {self.seconds:.2f} s"


_DUE = text(
    "SELECT c.month, c.version, r.version AS released, r.hide_total FROM stats.month_change c"
    " LEFT JOIN stats.release r ON r.measure = c.measure AND r.month = c.month"
    " WHERE c.measure = :measure ORDER BY c.month")
_EDITION = text(
    "INSERT INTO stats.edition (measure, as_of, months, withheld, later, released_at)"
    " VALUES (:measure, :as_of, :months, :withheld, :later, now())"
    " ON CONFLICT (measure) DO UPDATE SET as_of = excluded.as_of, months = excluded.months,"
    " withheld = excluded.withheld, later = excluded.later, released_at = now()"
    " WHERE (stats.edition.as_of, stats.edition.months, stats.edition.withheld,"
    " stats.edition.later) IS DISTINCT FROM (excluded.as_of, excluded.months,"
    " excluded.withheld, excluded.later) OR :changed")


async def _release_measure(conn: AsyncConnection, measure: str, current: date) -> int:
    """Release the due months of ``measure`` for readers whose last ended month is ``current``;
    the number of months protected."""
    changes = (await conn.execute(_DUE, {"measure": measure})).all()
    hide: frozenset[date] = frozenset()
    withheld: list[date] = []
    later = False
    if measure in figures.TOTALS:
        totals = {month: (int(count), int(amount)) for month, count, amount
                  in (await conn.execute(text(figures.TOTALS[measure]))).all()}
        hide = privacy.months_to_hide(totals, current)
        withheld = sorted(hide | {m for m, (c, a) in totals.items()
                                  if m <= current and (c or a) and privacy.sensitive(c, a)})
        later = any(c or a for m, (c, a) in totals.items() if m > current)
    # Money is published for months that have ended; insured people also for the month in
    # progress (a provisional snapshot), and their months do not depend on one another.
    upto = date.max if measure == figures.INSURED else current
    months = [row.month for row in changes if row.month <= upto]
    due = [row for row in changes if row.month <= upto
           and (row.released is None or row.released != row.version
                or bool(row.hide_total) != (row.month in hide))]
    if due:
        found = await _rows(conn, measure, [row.month for row in due])
        by_month: dict[date, list[dict[str, Any]]] = {row.month: [] for row in due}
        for record in found:
            by_month[record["month"]].append(record)
        cells: list[dict[str, object]] = []
        final = {month: (all(bool(r["final"]) for r in rows) if rows else None)
                 if measure == figures.INSURED else None for month, rows in by_month.items()}
        for row in due:
            family = figures.protect_month(measure, by_month[row.month], row.month in hide)
            cells.extend({"measure": measure, "month": row.month, "dimension": d, "key": k,
                          "count": c, "amount": a, "hidden": h, "like_total": lt}
                         for d, k, c, a, h, lt in to_rows(family))
        due_months = [row.month for row in due]
        await conn.execute(text("DELETE FROM stats.release_cell WHERE measure = :measure"
                                " AND month = ANY(:months)"),
                           {"measure": measure, "months": due_months})
        if cells:
            await conn.execute(text(
                "INSERT INTO stats.release_cell (measure, month, dimension, key, count, amount,"
                " hidden, like_total) VALUES (:measure, :month, :dimension, :key, :count,"
                " :amount, :hidden, :like_total)"), cells)
        await conn.execute(text(
            "INSERT INTO stats.release (measure, month, version, hide_total, final, released_at)"
            " VALUES (:measure, :month, :version, :hide_total, :final, now())"
            " ON CONFLICT (measure, month) DO UPDATE SET version = excluded.version,"
            " hide_total = excluded.hide_total, final = excluded.final, released_at = now()"),
            [{"measure": measure, "month": row.month, "version": row.version,
              "hide_total": row.month in hide, "final": final[row.month]} for row in due])
    await conn.execute(_EDITION, {"measure": measure, "as_of": current, "months": months,
                                  "withheld": withheld, "later": later, "changed": bool(due)})
    return len(due)


async def _rows(conn: AsyncConnection, measure: str, months: Sequence[date]
                ) -> list[dict[str, Any]]:
    """The rollup rows of ``months`` of ``measure`` (the reads ``figures`` protects)."""
    result = await conn.execute(text(figures.SQL_NAMED[measure]), {"months": list(months)})
    return [dict(row._mapping) for row in result]


async def release(engine: AsyncEngine, today: date) -> ReleaseReport:
    """Release every due month of every measure for readers on ``today`` (the worker's job,
    ``mhi stats release``); nothing when another process holds the releaser's lock."""
    started = time.monotonic()
    report = ReleaseReport()
    current = figures.last_ended(today)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            locked = await conn.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"),
                                       {"key": LOCK})
            if not locked:
                report.locked_out = True
                return report
            for measure in MEASURES:
                report.released[measure] = await _release_measure(conn, measure, current)
    report.seconds = time.monotonic() - started
    if report.total:
        log.info("%s", report)
    return report


async def edition_date(engine: AsyncEngine) -> date | None:
    """The last ended month the current editions were released for (None: never released, or
    the measures disagree)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT DISTINCT as_of FROM stats.edition"))).all()
    return rows[0].as_of if len(rows) == 1 else None
