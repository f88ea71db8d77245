"""The handlers of ``mhi`` subcommands (parsing lives in ``backend.cli``)."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.service import AuthService
from auth.settings import AuthSettings
from auth.tokens import Audience
from backend.demo import generator
from backend.demo.cast import CAST
from backend.settings import PROJECT_ROOT, AppSettings


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def db(args: argparse.Namespace) -> int:
    """``mhi db up|migrate|stop|url``."""
    from backend.db import embedded
    from backend.db.engine import resolve_database_url
    from backend.runtime import prepare_database

    settings = AppSettings()
    if args.action == "stop":
        stopped = settings.database_url is None and embedded.stop(settings.data_dir)
        print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
    elif args.action == "url":
        print(_safe(resolve_database_url(settings)))
    elif args.action == "revision":
        from backend.db.migrate import autogenerate
        from backend.runtime import open_engine

        engine = open_engine(settings, await prepare_database(settings))
        try:
            await autogenerate(engine, args.message or "change")
        finally:
            await engine.dispose()
    else:
        print(f"database ready and migrated: {_safe(await prepare_database(settings))}")
    return 0


async def demo(args: argparse.Namespace) -> int:
    """``mhi demo``: load the demo country (once, with ``--if-empty``)."""
    from backend.runtime import open_engine, prepare_database

    settings = AppSettings()
    engine = open_engine(settings, await prepare_database(settings))
    try:
        existing = await generator.count_people(engine)
        if existing and args.if_empty and not await _stale(engine, args):
            print(f"demo data already loaded ({existing:,} people); reusing it")
            return 0
        if existing and args.if_empty:
            args.replace = True  # a stale demo: statuses judged today would all look lapsed
        if existing and not args.replace:
            print(
                f"the database already holds {existing:,} people; "
                "use --replace to load the demo again",
                file=sys.stderr,
            )
            return 1
        if existing:
            await generator.clear(engine)
        as_of = date.fromisoformat(args.as_of) if args.as_of else date.today()
        print(
            f"loading the demo country: {args.people:,} people, seed {args.seed}, "
            f"seen on {as_of.isoformat()}"
        )
        report = await generator.generate(
            engine, people=args.people, seed=args.seed, as_of=as_of, quiet=args.quiet
        )
        size = await generator.database_size(engine)
    finally:
        await engine.dispose()
    print(
        f"loaded {report.people:,} people, {report.contributions:,} contributions, "
        f"{report.service_payments:,} service payments in {report.seconds:,.1f} s; "
        f"database size {size}"
    )
    return 0


async def _stale(engine: AsyncEngine, args: argparse.Namespace) -> bool:
    """Whether the loaded demo was generated too long ago (``--refresh-after-days``)."""
    days = getattr(args, "refresh_after_days", None)
    if days is None:
        return False
    latest = await generator.latest_demo_payment(engine)
    if latest is None or (date.today() - latest).days <= days:
        return False
    print(f"the demo data was generated around {latest.isoformat()}; loading it again for today")
    return True


async def _person_id(args: argparse.Namespace) -> uuid.UUID:
    if args.person_id:
        return uuid.UUID(args.person_id)
    index = int(args.demo)
    if not 1 <= index <= len(CAST):
        raise SystemExit(f"--demo takes 1..{len(CAST)}")
    return CAST[index - 1].id


async def token(args: argparse.Namespace) -> int:
    """``mhi token``: print an access token for a person (development and benchmarks)."""
    auth = AuthService.from_settings(AuthSettings())
    print(auth.issuer.mint(str(await _person_id(args)), Audience.MOBILE))
    return 0


def serve(args: argparse.Namespace) -> int:
    """``mhi serve``: the API under uvicorn."""
    import asyncio

    from backend.runtime import prepare_database

    settings = AppSettings()
    url = asyncio.run(prepare_database(settings))
    _serve(settings, url)
    return 0


def _serve(settings: AppSettings, url: str) -> None:
    import logging

    import uvicorn

    from backend.api.app import create_app

    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.INFO)

    app = create_app(settings, AuthService.from_settings(AuthSettings()), database_url=url)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None)


def dev(args: argparse.Namespace) -> int:
    """``mhi dev`` (``make run``): database, demo data once, a token, the URLs, the API."""
    import asyncio

    from backend.runtime import prepare_database

    settings = AppSettings()
    url = asyncio.run(prepare_database(settings))
    loaded = argparse.Namespace(
        people=10_000, seed=1, if_empty=True, replace=False, as_of=None, quiet=False,
        refresh_after_days=20,
    )
    asyncio.run(demo(loaded))
    auth = AuthService.from_settings(AuthSettings())
    person = CAST[0]
    access = auth.issuer.mint(str(person.id), Audience.MOBILE)
    base = f"http://{settings.host}:{settings.port}"
    print(
        BANNER.format(
            base=base,
            db=_safe(url),
            name=f"{person.first_name} {person.last_name}",
            token=access,
            minutes=AuthSettings().access_token_ttl_seconds // 60,
        )
    )
    _serve(settings, url)
    return 0


def export_schema(args: argparse.Namespace) -> int:
    """``mhi export-schema``: write the SDL that the code defines."""
    from backend.gql.schema import build_schema

    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_schema().as_str() + "\n")
    print(f"wrote {path}")
    from backend.gql.persisted import manifest

    contract = PROJECT_ROOT / "mobile_contract"
    target = contract / "manifest.json"
    entries = manifest((contract / "operations").glob("*.graphql"))
    target.write_text(json.dumps(entries, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {target}")
    return 0


BANNER = """
────────────────────────────────────────────────────────────────────────
 MHI citizens' API is starting

   GraphiQL   {base}/graphql
   health     {base}/healthz      readiness {base}/readyz
   JWKS       {base}/.well-known/jwks.json
   database   {db}

 Demo citizen: {name} (a token valid {minutes} minutes; `make token` mints another)
 Paste into GraphiQL's headers:

 {{"Authorization": "Bearer {token}"}}

 then run the app's home screen (mobile_contract/operations/HomeScreen.graphql), e.g.
   {{ me {{ firstName insurance {{ statusName reason {{ text }} guaranteedUntil }} }} }}
 Citizen 1 reads Kazakh; for Russian run `.venv/bin/mhi token --demo 2`, for English
 `--demo 4`. Help articles follow Accept-Language (kk, ru, en).
────────────────────────────────────────────────────────────────────────
"""
