"""What keeping the public rollups current costs the ingestion (``bench/ingest.py``).

* the triggers: ``set_rollup_triggers`` turns the ``stats_*`` statement triggers of the raw
  tables off (``ALTER TABLE … DISABLE TRIGGER``) in a throwaway copy, so the same file can be
  ingested without them;
* the lag: ``Folder`` folds in a thread of its own every ``FOLD_EVERY`` seconds, as ``mhi
  worker`` does, while the file is ingested; ``lag_after`` is how long after the answer the
  last delta was folded;
* the fold's throughput: ``fold_throughput`` writes synthetic deltas (each cell once up and
  once down, so the rollups end as they were) and times ``fold_all`` over them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

import asyncpg

from backend.db.engine import create_engine
from backend.transparency.rollups import FOLD_EVERY, fold_all
from bench.raw_floor import asyncpg_dsn

TRIGGERS = ("SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'core' AND t.tgname LIKE 'stats\\_%' ORDER BY 1, 2")
WAITING = ("SELECT (SELECT count(*) FROM stats.money_in_delta)"
           " + (SELECT count(*) FROM stats.money_out_delta)"
           " + (SELECT count(*) FROM stats.cash_day_delta)"
           " + (SELECT count(*) FROM stats.insured_now_delta)"
           " + (SELECT count(*) FROM stats.provider_flags_delta)"
           " + (SELECT count(*) FROM stats.disputes_delta)")
# Synthetic deltas on real cells: each cell of money_in and money_out once +1 and once -1
# (amounts too), repeated until there are ``$1`` rows: the fold's work, the rollups unchanged.
SYNTHETIC = (
    "INSERT INTO stats.money_in_delta SELECT m.month, m.region_code, m.kind, m.payer_kind,"
    " s.sign * 100, s.sign FROM (SELECT * FROM stats.money_in ORDER BY random()) m"
    " CROSS JOIN (VALUES (1), (-1)) s(sign) CROSS JOIN generate_series(1, $1) g"
    " LIMIT $2",
    "INSERT INTO stats.money_out_delta SELECT m.month, m.provider_id, m.package, m.category,"
    " m.region_code, s.sign * 100, s.sign FROM (SELECT * FROM stats.money_out"
    " ORDER BY random()) m CROSS JOIN (VALUES (1), (-1)) s(sign)"
    " CROSS JOIN generate_series(1, $1) g LIMIT $2",
)


async def set_rollup_triggers(url: str, *, enabled: bool) -> list[str]:
    """Turn the rollups' triggers on or off in the database at ``url``; their names."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        triggers = [(row[0], row[1]) for row in await conn.fetch(TRIGGERS)]
        action = "ENABLE" if enabled else "DISABLE"
        for table, name in triggers:
            await conn.execute(f'ALTER TABLE core."{table}" {action} TRIGGER "{name}"')
    finally:
        await conn.close()
    return [f"{table}.{name}" for table, name in triggers]


async def waiting(url: str) -> int:
    """Deltas not yet folded."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return int(await conn.fetchval(WAITING))
    finally:
        await conn.close()


@dataclass
class Folder:
    """``mhi worker``'s fold loop in a thread: every fold's end time, deltas and seconds."""

    url: str
    folds: list[tuple[float, int, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Folder:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    async def _run(self) -> None:
        engine = create_engine(self.url, pool_size=1, max_overflow=0,
                               application_name="bench-folder")
        try:
            while not self._stop.is_set():
                report = await fold_all(engine)
                self.folds.append((time.perf_counter(), report.total, report.seconds))
                await asyncio.to_thread(self._stop.wait, FOLD_EVERY)
        finally:
            await engine.dispose()

    def lag_after(self, answered: float, timeout: float = 120.0) -> tuple[float, int, float]:
        """Wait until nothing waits; (seconds from ``answered`` to the end of the fold that
        emptied the deltas, deltas folded since ``answered``, longest fold since)."""
        deadline = time.monotonic() + timeout
        while asyncio.run(waiting(self.url)) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.01)
        after = [fold for fold in self.folds if fold[0] >= answered and fold[1]]
        before = [fold for fold in self.folds if fold[0] < answered and fold[1]]
        done = (after or before or [(answered, 0, 0.0)])[-1]
        folded = sum(fold[1] for fold in after) + (0 if after else sum(f[1] for f in before))
        longest = max((fold[2] for fold in after or before), default=0.0)
        return max(done[0] - answered, 0.0), folded, longest


async def fold_throughput(url: str, deltas: int) -> tuple[int, float]:
    """Write ``deltas`` synthetic deltas and fold them all: (deltas, seconds)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        cells = int(await conn.fetchval("SELECT (SELECT count(*) FROM stats.money_in)"
                                        " + (SELECT count(*) FROM stats.money_out)"))
        repeat = max(1, deltas // max(2 * cells, 1) + 1)
        for statement in SYNTHETIC:
            await conn.execute(statement, repeat, deltas // 2)
        written = int(await conn.fetchval(WAITING))
    finally:
        await conn.close()
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        started = time.perf_counter()
        await fold_all(engine)
        return written, time.perf_counter() - started
    finally:
        await engine.dispose()
