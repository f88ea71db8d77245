"""Benchmark: load a demo country of N people into a throwaway database; print the figures.

    .venv/bin/python bench/demo_load.py --people 100000
    make bench                       # 100,000 people

Prints people/s, rows/s, wall time and the database size.  Uses DATABASE_URL when set,
otherwise the embedded server.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from datetime import date

from sqlalchemy.engine import make_url

from backend.db import migrate
from backend.db.admin import drop_database, ensure_database
from backend.db.engine import create_engine, resolve_database_url
from backend.demo import generator
from backend.settings import AppSettings


async def run(people: int, seed: int, keep: bool) -> None:
    settings = AppSettings()
    base = make_url(resolve_database_url(settings))
    url = base.set(database=f"mhi_bench_{uuid.uuid4().hex[:8]}").render_as_string(False)
    await ensure_database(url)
    engine = create_engine(url, pool_size=2, max_overflow=0)
    try:
        await migrate.upgrade(engine)
        report = await generator.generate(engine, people=people, seed=seed,
                                          as_of=date(2026, 11, 23), quiet=True)
        size = await generator.database_size(engine)
    finally:
        await engine.dispose()
        if not keep:
            await drop_database(url)
    rows = report.people + report.contributions + report.service_payments
    print(f"demo load: {report.people:,} people, {report.contributions:,} contributions, "
          f"{report.service_payments:,} service payments")
    print(f"  wall time      {report.seconds:,.1f} s")
    print(f"  people/s       {report.people / report.seconds:,.0f}")
    print(f"  rows/s         {rows / report.seconds:,.0f}")
    print(f"  database size  {size}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    asyncio.run(run(args.people, args.seed, args.keep))


if __name__ == "__main__":
    main()
