"""What ``make run`` prepares for a demo of the money reaching a phone: a phone registered for
each person of the demo cast (in their language), an integrator client whose secret is kept
in ``.data/dev-client.json`` (development only), and ``mhi demo-payment``, which sends a
contribution through the integrator API and waits for its push in fcm-local."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text as sa_text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.clients import parse_scopes
from auth.service import AuthService
from backend.cli.registry import command
from backend.cli.shared import client_file, demo_login
from backend.demo.cast import CAST
from backend.settings import AppSettings
from notifications import devices
from notifications.devices import Registration
from notifications.settings import NotifySettings

DEMO_PHONES = 4
WAIT_SECONDS = 30.0
SCOPES = ("contributions:write services:write eligibility:read stats:read announcements:write"
          " guardianship:write disputes:read disputes:write")


def demo_token(n: int) -> str:
    """The FCM token of demo phone ``n`` (1-based: the n-th person of the cast)."""
    return f"APA91b-demo-phone-{n:02d}"


async def ensure_demo_phones(engine: AsyncEngine) -> None:
    """A registered phone for each of the first cast people (refreshed: seen today)."""
    async with engine.begin() as conn:
        for n, person in enumerate(CAST[:DEMO_PHONES], start=1):
            await devices.register(conn, person.id, Registration(
                token=demo_token(n), platform="android", app_version="1.0.0",
                language=person.language, time_zone="Asia/Almaty"))


async def ensure_dev_client(auth: AuthService, path: Path) -> dict[str, str]:
    """The development integrator's id and secret (made once, kept 0600 in ``path``)."""
    kept = read_kept(path)
    wanted = set(parse_scopes(SCOPES.split()))
    if kept is not None:
        info = await auth.clients.get(kept["client_id"])
        # A client made before a scope was added is replaced, so the demo can use it.
        if info is not None and info.active and wanted <= set(info.scopes):
            return kept
    created = await auth.clients.create("Development integrator", "Demo Fund systems",
                                        parse_scopes(SCOPES.split()))
    kept = {"client_id": created.info.id, "client_secret": created.secret}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(kept))  # noqa: ASYNC240
    os.chmod(path, 0o600)
    return kept


DEMO_STAFF = (("demo-admin", "Айгерим Сапарова", "admin"),
              ("demo-desk", "Данияр Ахметов", "worker"))


async def ensure_demo_staff(auth: AuthService, engine: AsyncEngine,
                            path: Path) -> dict[str, str]:
    """A demo clinic's administrator and desk worker (the first clinic of the demo), their
    passwords made once and kept 0600 in ``path``: ``{"clinic": …, username: password…}``."""
    kept = read_kept(path)
    async with engine.connect() as conn:
        row = (await conn.execute(sa_text(
            "SELECT id, name_ru FROM core.provider ORDER BY bin LIMIT 1"))).first()
        if row is None:
            raise RuntimeError("the demo has no clinic")
        names = set((await conn.execute(sa_text(
            "SELECT username FROM auth.staff_account WHERE username = ANY(:u) AND active "
            "AND password_hash IS NOT NULL"),
            {"u": [name for name, _, _ in DEMO_STAFF]})).scalars())
    if kept is not None and all(name in names and name in kept for name, _, _ in DEMO_STAFF):
        return kept
    kept = {"clinic": row[1]}
    async with engine.begin() as conn:  # made again: the kept passwords were lost; the old
        # accounts step aside (deactivated, renamed), keeping their audit and windows
        await conn.execute(sa_text(
            "UPDATE auth.staff_account SET username = username || '-' || "
            "substr(md5(random()::text), 1, 6), active = false WHERE username = ANY(:u)"),
            {"u": [name for name, _, _ in DEMO_STAFF]})
    for username, display_name, role in DEMO_STAFF:
        password = secrets.token_urlsafe(12)
        await auth.desk.create_staff(username, display_name, password, row[0], row[1],
                                     role=role)
        kept[username] = password
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(kept, ensure_ascii=False))  # noqa: ASYNC240
    os.chmod(path, 0o600)
    return kept


def read_kept(path: Path) -> dict[str, str] | None:
    """The kept development credentials, if any."""
    if not path.exists():
        return None
    kept: dict[str, str] = json.loads(path.read_text())
    return kept


@command("demo-payment")
async def demo_payment(args: argparse.Namespace) -> int:
    """``mhi demo-payment``: send a contribution for demo person ``--person`` through the
    running API (client credentials, then ``POST /ingest/contributions``) and wait for the
    push that fcm-local records."""
    from backend.runtime import prepare_database

    settings = AppSettings()
    kept = read_kept(client_file(settings))
    if kept is None:
        print("no development client yet: start `make run` first")
        return 1
    person = CAST[args.person - 1]
    base = f"http://{settings.host}:{settings.port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        token = (await client.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": kept["client_id"],
            "client_secret": kept["client_secret"]})).json()["access_token"]
        iin, _ = await demo_login(await prepare_database(settings), person.id)
        today = datetime.now(ZoneInfo("Asia/Almaty")).date()
        record = {"recordId": f"DEMO-{uuid.uuid4().hex[:12]}", "iin": iin,
                  "kind": "self_payment", "period": today.strftime("%Y-%m"),
                  "amount": "4250.00", "paidOn": today.isoformat(), "paymentCode": 122}
        pushes = f"{NotifySettings().fcm_local_url.rstrip('/')}/admin/messages"
        target = demo_token(args.person)
        before = {r["name"] for r in (await client.get(
            pushes, params={"target": target, "limit": 200})).json()["messages"]}
        sent_at = time.monotonic()
        answer = await client.post("/ingest/contributions", content=json.dumps(record) + "\n",
                                   headers={"authorization": f"Bearer {token}",
                                            "content-type": "application/x-ndjson"})
        print(f"sent {record['recordId']} for {person.first_name} {person.last_name}: "
              f"{answer.status_code} {answer.text.strip()[:200]}")
        while time.monotonic() - sent_at < WAIT_SECONDS:
            recent = (await client.get(pushes, params={"target": target, "limit": 20})).json()
            fresh = [r for r in recent["messages"] if r["name"] not in before]
            if fresh:
                note = fresh[0]["message"].get("notification", {})
                print(f"push after {time.monotonic() - sent_at:.1f} s: {note.get('title')} | "
                      f"{note.get('body')}")
                return 0
            await asyncio.sleep(0.25)
    print(f"no push within {WAIT_SECONDS:.0f} s: is `make run` (the worker and fcm-local) "
          "running?")
    return 1
