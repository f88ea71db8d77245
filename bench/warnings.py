"""Benchmark: the day's warnings before cover ends (``backend.status.warnings``) and the
self-payers' reminders before the 25th (``backend.status.reminders``) over the demo country,
at 10,000 and 1,000,000 people.

    .venv/bin/python bench/warnings.py                     # 10,000 and 1,000,000
    .venv/bin/python bench/warnings.py --sizes 10000       # only these

It uses the home-screen benchmark's demo databases (``mhi_bench_home_<people>``, loaded once by
``bench/home_screen.py``'s ``ensure_demo``, as of 2026-11-23), migrates them, and fills in the
day each stored status drops (``mhi statuses refresh --all``: timed and printed, once per
database).  Then, for each of the 30 days from the demo's day, it runs the day's warnings
twice (the second run finds every warning written already: a restart, or a second worker)
and prints per day the people due, the warnings written and the time of each run, then the
slowest day against the target (under one minute), and the plan of the chunk's query.  Then
the reminders of the demo month's 20th, twice (they read every self-payer and price their
payment with the status engine: the month's heaviest run).  What it wrote is deleted at the
end, so a later run measures the same work.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench`` and the project importable
    sys.path.insert(0, str(ROOT))

from backend.db.engine import create_engine, resolve_database_url  # noqa: E402
from backend.rates.repository import load_rate_book  # noqa: E402
from backend.settings import AppSettings  # noqa: E402
from backend.status.reminders import remind  # noqa: E402
from backend.status.schedule import refresh_due  # noqa: E402
from backend.status.warnings import CHUNK, WRITE, warn  # noqa: E402
from bench.home_screen import AS_OF, _migrate, database_url, ensure_demo  # noqa: E402
from bench.raw_floor import asyncpg_dsn  # noqa: E402

DAYS = 30
TARGET_SECONDS = 60.0


async def backfill(url: str) -> None:
    """Every status computed once with its drop day (skipped when that was done)."""
    db = await asyncpg.connect(asyncpg_dsn(url))
    try:
        # Statuses stored before migration 0011 have no drop day at all (after the backfill,
        # those of open-ended categories and of the uninsured still have none, rightly).
        missing = not await db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM core.person_status WHERE drops_on IS NOT NULL)")
        people = await db.fetchval("SELECT count(*) FROM core.person")
    finally:
        await db.close()
    if not missing:
        print("  drop days already stored", flush=True)
        return
    engine = create_engine(url, pool_size=2, max_overflow=0)
    try:
        async with engine.connect() as conn:
            rates = await load_rate_book(conn)
        started = time.perf_counter()
        done = await refresh_due(engine, today=date.fromisoformat(AS_OF), rates=rates,
                                 everyone=True)
        seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    computed = done.computed if done is not None else 0
    print(f"  statuses computed again to store their drop day: {computed:,} of {people:,} "
          f"people in {seconds:.1f} s ({computed / seconds:,.0f}/s; once, after the upgrade)",
          flush=True)


async def days(url: str) -> list[tuple[date, int, int, float, float]]:
    """(day, due, written, first run s, second run s) for each of ``DAYS`` days."""
    db = await asyncpg.connect(asyncpg_dsn(url))
    found = []
    try:
        start = date.fromisoformat(AS_OF)
        for offset in range(DAYS):
            day = start + timedelta(days=offset)
            began = time.perf_counter()
            first = await warn(db, day)
            middle = time.perf_counter()
            again = await warn(db, day)
            ended = time.perf_counter()
            assert again.written == 0, "a second run wrote warnings again"
            found.append((day, first.due, first.written, middle - began, ended - middle))
        busiest = max(found, key=lambda row: row[1])[0]
        await db.execute("DELETE FROM notify.outbox WHERE kind = 'status.warning'")
        async with db.transaction():  # the busiest day's first chunk, written and undone
            plan = await db.fetch("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
                                  + WRITE, busiest + timedelta(days=14),
                                  uuid.UUID(int=0), 14, CHUNK)
            await db.execute("DELETE FROM notify.outbox WHERE kind = 'status.warning'")
        print(f"  plan of the first chunk of the busiest day ({busiest}, 14 days before):")
        for row in plan:
            if "Index" in row[0] or "Seq Scan" in row[0] or "Insert" in row[0]:
                print(f"    {row[0].strip()}")
        engine = create_engine(url, pool_size=1, max_overflow=0)
        async with engine.connect() as conn:
            rates = await load_rate_book(conn)
        await engine.dispose()
        twentieth = start.replace(day=20)
        for label in ("reminders", "again"):
            began = time.perf_counter()
            done = await remind(db, twentieth, rates)
            seconds = time.perf_counter() - began
            print(f"  {label} on {twentieth}: {done.looked_at:,} self-payers read, "
                  f"{done.owing:,} owe by the 25th, {done.written:,} written in "
                  f"{seconds:.2f} s ({done.looked_at / seconds:,.0f} self-payers/s)",
                  flush=True)
        deleted = await db.execute("DELETE FROM notify.outbox WHERE kind IN"
                                   " ('status.warning', 'payment.reminder')")
        print(f"  cleaned up: {deleted}")
    finally:
        await db.close()
    return found


def main() -> None:
    """Each size in turn."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000")
    args = parser.parse_args()
    settings = AppSettings()
    base = resolve_database_url(settings)
    for people in (int(v.replace("_", "")) for v in args.sizes.split(",") if v.strip()):
        url = database_url(base, people)
        print(f"== {people:,} people ==", flush=True)
        if not ensure_demo(url, people, settings.data_dir):
            continue
        asyncio.run(_migrate(url))
        asyncio.run(backfill(url))
        found = asyncio.run(days(url))
        print("  day          due  written  run (s)  again (s)")
        for day, due, written, first, again in found:
            print(f"  {day}  {due:>7,}  {written:>7,}  {first:7.3f}  {again:9.3f}")
        slowest = max(found, key=lambda row: row[3])
        print(f"  slowest day {slowest[0]}: {slowest[1]:,} due in {slowest[3]:.2f} s "
              f"(target: under {TARGET_SECONDS:.0f} s); median day "
              f"{statistics.median(row[3] for row in found):.3f} s; "
              f"{sum(row[2] for row in found):,} warnings over {DAYS} days", flush=True)


if __name__ == "__main__":
    main()
