"""Benchmark: does asking for a sign-in code take as long for an unknown IIN as for a known one?

    .venv/bin/python bench/sign_in.py --rounds 300

On a demo country of 2,000 people in a throwaway database, posts ``requestSignInCode``
through the real app (ASGI, in process) for known people with their phones, for valid IINs
that match no one, and for known IINs with a wrong phone, interleaved in a shuffled order
each round so that drift, and the SMS sent in the background after a known IIN's answer,
fall on all three alike.  Prints the median, p90 and mean latency of each and the differences.  The
throttles are raised for the run (it asks far more often than a person may); the SMS goes to
the development sink in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import random
import secrets
import statistics
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url

from auth.identifiers import make_iin
from auth.settings import AuthSettings
from backend.api.app import create_app
from backend.db import migrate
from backend.db.admin import drop_database, ensure_database
from backend.db.engine import create_engine, resolve_database_url
from backend.demo import generator
from backend.settings import AppSettings

QUERY = ("mutation($iin: String!, $phone: String!) { requestSignInCode(iin: $iin, "
         "phone: $phone) { challengeId expiresAt codeLength userErrors { code } } }")


def _unknown_iins(count: int, taken: set[str]) -> list[str]:
    found: list[str] = []
    rng = random.Random(7)
    while len(found) < count:
        iin = make_iin(date(1950 + rng.randrange(60), 1 + rng.randrange(12),
                            1 + rng.randrange(28)), rng.choice(("M", "F")), rng.randrange(10_000))
        if iin is not None and iin not in taken:
            found.append(iin)
    return found


def _summary(label: str, values: list[float]) -> tuple[float, str]:
    ordered = sorted(values)
    p90 = ordered[int(len(ordered) * 0.9)]
    median = statistics.median(ordered)
    return median, (f"  {label:<28} median {median:6.2f} ms   p90 {p90:6.2f} ms   "
                    f"mean {statistics.fmean(ordered):6.2f} ms")


async def run(rounds: int) -> None:
    base = make_url(resolve_database_url(AppSettings()))
    url = base.set(database=f"mhi_bench_{uuid.uuid4().hex[:8]}").render_as_string(False)
    await ensure_database(url)
    engine = create_engine(url, pool_size=5, max_overflow=0)
    try:
        await migrate.upgrade(engine)
        await generator.generate(engine, people=2_000, seed=1, as_of=date(2026, 11, 23),
                                 quiet=True)
        async with engine.connect() as conn:
            people = (await conn.execute(text(
                "SELECT iin, phone FROM core.person WHERE phone IS NOT NULL ORDER BY id"))).all()
        with tempfile.TemporaryDirectory() as folder:
            settings = AuthSettings(
                environment="test", dev_sms_file=Path(folder) / "sms.jsonl",
                secret_key=SecretStr(base64.b64encode(secrets.token_bytes(32)).decode()),
                otp_sends_per_iin=10**6, otp_sends_per_ip=10**6, otp_sms_per_subject=10**6)
            app = create_app(AppSettings(environment="test"), settings, engine=engine)
            taken = {row[0] for row in people}
            unknown = _unknown_iins(rounds, taken)
            timings: dict[str, list[float]] = {"known IIN, right phone": [],
                                               "unknown IIN": [], "known IIN, wrong phone": []}
            async with app.router.lifespan_context(app), httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
                async def ask(label: str, iin: str, phone: str) -> None:
                    started = time.perf_counter()
                    response = await http.post("/graphql", json={
                        "query": QUERY, "variables": {"iin": iin, "phone": phone}})
                    elapsed = (time.perf_counter() - started) * 1000
                    assert response.status_code == 200 and "errors" not in response.json()
                    timings[label].append(elapsed)

                for warm in range(20):
                    await ask("unknown IIN", unknown[warm], "+77010000000")
                timings["unknown IIN"].clear()
                order = random.Random(11)
                for index in range(rounds):
                    iin, phone = people[index % len(people)]
                    asks = [("known IIN, right phone", iin, phone),
                            ("unknown IIN", unknown[index], phone),
                            ("known IIN, wrong phone", iin, "+77010000000")]
                    order.shuffle(asks)  # the SMS of a known IIN is sent after its answer
                    for label, asked_iin, asked_phone in asks:
                        await ask(label, asked_iin, asked_phone)
                await app.state.runtime.auth.login.drain()
    finally:
        await engine.dispose()
        await drop_database(url)
    print(f"requestSignInCode latency, {rounds} rounds, in process (ASGI), 2,000 people:")
    medians = {}
    for label, values in timings.items():
        medians[label], line = _summary(label, values)
        print(line)
    known = medians["known IIN, right phone"]
    for label in ("unknown IIN", "known IIN, wrong phone"):
        print(f"  median difference, {label} vs known: {medians[label] - known:+.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=300)
    asyncio.run(run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
