"""The handlers of ``mhi`` subcommands (parsing lives in ``backend.cli``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import sys
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.settings import AuthSettings
from auth.tokens import Audience
from backend.cli.dev_setup import ensure_demo_phones, ensure_demo_staff, ensure_dev_client
from backend.cli.registry import command
from backend.cli.shared import (
    auth_service,
    client_file,
    demo_login,
    refresh_statuses,
    staff_file,
    warn_statuses,
)
from backend.demo import generator
from backend.demo.cast import CAST
from backend.settings import PROJECT_ROOT, AppSettings
from notifications.settings import NotifySettings


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@command("db")
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


@command("demo")
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


@command("token")
async def token(args: argparse.Namespace) -> int:
    """``mhi token``: print an access token for a person (tests and benchmarks; no session)."""
    async with auth_service() as (auth, _):
        print(auth.mint(str(await _person_id(args)), Audience.MOBILE))
    return 0


@command("staff")
async def staff(args: argparse.Namespace) -> int:
    """``mhi staff create|deactivate``: registry-desk accounts."""
    async with auth_service() as (auth, engine):
        if args.action == "deactivate":
            done = await auth.desk.deactivate(args.username)
            print("deactivated; its sessions ended" if done else "no such account")
            return 0 if done else 1
        async with engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT id, name_ru FROM core.provider WHERE bin = :bin"),
                {"bin": args.provider_bin.strip()})).first()
        if row is None:
            print("no clinic has this BIN", file=sys.stderr)
            return 1
        generated = args.password_env is None
        password = (secrets.token_urlsafe(12) if generated
                    else os.environ.get(args.password_env, ""))
        try:
            member = await auth.desk.create_staff(args.username, args.name, password, row[0],
                                                  row[1], role=args.role)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        except IntegrityError:
            print("this username is taken", file=sys.stderr)
            return 1
    print(f"created desk account {member.username!r} for {member.provider_name}")
    if generated:
        print(f"password (shown once): {password}")
    return 0


@command("client")
async def client(args: argparse.Namespace) -> int:
    """``mhi client create|deactivate``: integrator clients."""
    from auth.clients import parse_scopes

    async with auth_service() as (auth, _):
        if args.action == "deactivate":
            done = await auth.clients.deactivate(args.client_id)
            print("deactivated" if done else "no such client")
            return 0 if done else 1
        try:
            scopes = parse_scopes(args.scope)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        created = await auth.clients.create(args.name, args.organization, scopes,
                                            args.requests_per_minute)
    print(f"client_id:     {created.info.id}")
    print(f"client_secret: {created.secret}   (shown once; store it in the client's vault)")
    print(f"scopes:        {' '.join(s.value for s in created.info.scopes)}")
    print(f"rate limit:    {created.info.requests_per_minute} requests per minute")
    return 0


@command("keys")
async def keys(args: argparse.Namespace) -> int:
    """``mhi keys list|rotate``: the signing keys."""
    async with auth_service() as (auth, _):
        if args.action == "rotate":
            kid = await auth.keyring.rotate(immediately=args.now)
            await auth.keyring.load()
            print(f"new key {kid}" + (" signs now" if args.now else
                                      " is published and signs within the hour"))
        for key in auth.keyring.live_keys():
            role = "signs" if key.key.kid == auth.keyring.signing_key.kid else (
                "next" if key.verify_until is None else "verifies")
            until = "" if key.verify_until is None else f" until {key.verify_until:%Y-%m-%d %H:%M}"
            print(f"{key.key.kid}  {role:8} from {key.not_before:%Y-%m-%d %H:%M}{until}")
    return 0


@command("statuses")
async def statuses(args: argparse.Namespace) -> int:
    """``mhi statuses refresh [--all]``: recompute the statuses that are due (or everyone's);
    ``mhi statuses warn``: today's warnings before cover ends (both are the worker's jobs)."""
    from backend.api.app import almaty_today
    from backend.runtime import open_engine, prepare_database

    settings = AppSettings()
    engine = open_engine(settings, await prepare_database(settings))
    try:
        as_of = date.fromisoformat(args.as_of) if args.as_of else almaty_today()
        if args.action == "warn":
            print(await warn_statuses(engine, as_of))
        else:
            print(await refresh_statuses(engine, as_of, everyone=args.all))
    finally:
        await engine.dispose()
    return 0


@command("sms")
def sms(args: argparse.Namespace) -> int:
    """``mhi sms``: what the development SMS sink received, newest first."""
    from auth.sms import DevSmsSink

    messages = DevSmsSink(AuthSettings().dev_sms_file).recent(10)
    for message in messages:
        print(f"{message.sent_at[:19]}  {message.phone}  {message.text}")
    if not messages:
        print("no SMS yet: ask for a sign-in code first (requestSignInCode)")
    return 0


@command("serve")
def serve(args: argparse.Namespace) -> int:
    """``mhi serve``: the API under uvicorn."""
    from backend.runtime import prepare_database

    settings = AppSettings()
    url = asyncio.run(prepare_database(settings))
    _serve(settings, url)
    return 0


def _serve(settings: AppSettings, url: str) -> None:
    import logging

    import uvicorn

    from backend.api.app import create_app
    from backend.api.server import uvicorn_options
    from backend.observability.server import MetricsSettings, serve_metrics
    from backend.observability.traces import start_tracing

    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.INFO)

    app = create_app(settings, AuthSettings(), database_url=url, server_gc=True)
    # Spans over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, else nothing (operations.md)
    tracing = start_tracing("mhi-api")
    if tracing is not None:
        tracing.instrument_app(app)
    # /metrics on METRICS_PORT, not on the public port (docs/operations.md)
    served = serve_metrics(MetricsSettings(), process="api")
    try:
        uvicorn.run(app, **uvicorn_options(settings))  # no banner, read timeouts: see there
    finally:
        if served is not None:
            served.close()
        if tracing is not None:
            tracing.shutdown()


@command("dev")
def dev(args: argparse.Namespace) -> int:
    """``mhi dev`` (``make run``): database, demo data once, how to sign in, the URLs, the API
    and the worker (a child process, stopped with the API)."""
    import subprocess

    from backend.runtime import prepare_database

    settings = AppSettings()
    url = asyncio.run(prepare_database(settings))
    loaded = argparse.Namespace(
        people=10_000, seed=1, if_empty=True, replace=False, as_of=None, quiet=False,
        refresh_after_days=20,
    )
    asyncio.run(demo(loaded))
    person = CAST[0]
    iin, phone = asyncio.run(demo_login(url, person.id))
    kept, staff = asyncio.run(_dev_notifications())
    warning = asyncio.run(_demo_warning(url))
    asyncio.run(_demo_rollups(url))
    from backend.cli.witness import prepare_dev_witness, start_dev_witness

    witness = prepare_dev_witness(url)
    base = f"http://{settings.host}:{settings.port}"
    print(
        BANNER.format(
            base=base,
            db=_safe(url),
            name=f"{person.first_name} {person.last_name}",
            iin=iin,
            phone=phone,
            fcm=NotifySettings().fcm_local_url,
            witness=witness.url,
            witness_key=witness.key,
            client_id=kept["client_id"],
            client_file=client_file(settings),
            clinic=staff["clinic"],
            admin_password=staff["demo-admin"],
            desk_password=staff["demo-desk"],
            warning=warning + witness.note,
        )
    )
    mhi = Path(sys.executable).with_name("mhi")
    # Metrics for infra/prometheus/prometheus.yml: the API on 9464, the worker on 9465 (a
    # port taken by another checkout's `make run` is skipped, not fatal).
    os.environ.setdefault("METRICS_REQUIRED", "false")
    worker_env = {**os.environ, "METRICS_PORT": os.environ.get("WORKER_METRICS_PORT", "9465")}
    os.environ.setdefault("METRICS_PORT", "9464")
    # Our own commands: fcm-local (the FCM the worker sends to) and the worker.
    children = [start_dev_witness(mhi, witness),  # cosigns the log's checkpoints
                subprocess.Popen([str(mhi), "fcm-local"]),  # noqa: S603
                subprocess.Popen([str(mhi), "worker"], env=worker_env)]  # noqa: S603
    # uvicorn shuts down on SIGTERM and then raises the signal again with the handler it
    # found: the default one would end this process before the children are stopped (they
    # outlived `kill <make run>`), so that handler exits through the `finally` below.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        _serve(settings, url)
    finally:
        for child in reversed(children):
            child.terminate()
            child.wait(timeout=15)
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM after uvicorn's graceful shutdown: leave through ``finally`` (exit status 0)."""
    raise SystemExit(0)


async def _demo_warning(url: str) -> str:
    """The cast member whose cover ends first, and when the worker warns them (the drop days
    are stored once for a demo loaded before they were kept)."""
    from backend.api.app import almaty_today
    from backend.runtime import open_engine

    engine = open_engine(AppSettings(), url)
    try:
        async with engine.connect() as conn:
            stored = (await conn.execute(text(
                "SELECT EXISTS (SELECT 1 FROM core.person_status WHERE drops_on IS NOT NULL)"
            ))).scalar()
        if not stored:
            await refresh_statuses(engine, almaty_today(), everyone=True)
        async with engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT p.first_name, p.last_name, s.drops_on FROM core.person_status s"
                " JOIN core.person p ON p.id = s.person_id WHERE s.person_id = ANY(:cast)"
                " AND s.drops_on IS NOT NULL ORDER BY s.drops_on LIMIT 1"),
                {"cast": [person.id for person in CAST]})).first()
    finally:
        await engine.dispose()
    if row is None:
        return ""
    return (f"\n Warnings: {row[0]} {row[1]}'s cover ends on {row[2]:%-d %B %Y} unless money"
            " comes; the worker\n writes a critical status.warning 14 and 3 days before"
            " (`.venv/bin/mhi statuses warn\n --as-of DATE` writes a given day's). Someone"
            " with no phone registered for pushes\n gets a critical notice by SMS at once"
            " (the SMS sink above); with one, 15 minutes\n later only if the push did not"
            " go.\n")


async def _demo_rollups(url: str) -> None:
    """The public figures before the API serves them: every delta folded (the statuses just
    computed included) and this month's insured people as a provisional snapshot, which the
    worker's month-end snapshot replaces; then the months released, as the worker does."""
    from backend.api.app import almaty_today
    from backend.runtime import open_engine
    from backend.transparency.release import release
    from backend.transparency.rollups import fold_and_snapshot

    engine = open_engine(AppSettings(), url)
    try:
        await fold_and_snapshot(engine, [almaty_today()], final=False)
        await release(engine, almaty_today())
    finally:
        await engine.dispose()


async def _dev_notifications() -> tuple[dict[str, str], dict[str, str]]:
    """Demo phones for the cast, the development integrator's credentials, and the demo
    clinic's administrator and desk worker."""
    async with auth_service() as (auth, engine):
        await ensure_demo_phones(engine)
        staff = await ensure_demo_staff(auth, engine, staff_file(AppSettings()))
        return await ensure_dev_client(auth, client_file(AppSettings())), staff


@command("export-schema")
def export_schema(args: argparse.Namespace) -> int:
    """``mhi export-schema``: write the SDL that the code defines."""
    from backend.gql.schema import build_schema

    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_schema().as_str() + "\n")
    print(f"wrote {path}")
    from backend.gql.matrix import markdown
    from backend.gql.persisted import manifest

    permissions = PROJECT_ROOT / "docs" / "permissions.md"
    permissions.write_text(markdown(build_schema()))
    print(f"wrote {permissions}")
    from backend import error_codes

    errors = PROJECT_ROOT / "docs" / "errors.md"
    errors.write_text(error_codes.markdown())
    print(f"wrote {errors}")

    contract = PROJECT_ROOT / "mobile_contract"
    target = contract / "manifest.json"
    entries = manifest((contract / "operations").glob("*.graphql"))
    target.write_text(json.dumps(entries, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {target}")
    return 0


BANNER = """
────────────────────────────────────────────────────────────────────────
 MHI citizens' API is starting

   desk       {base}/desk      the registry-desk console (see below)
   public     {base}/transparency   where the money goes: the public figures (kk/ru/en)
   GraphiQL   {base}/graphql
   SMS sink   {base}/dev/sms     (or `.venv/bin/mhi sms`)
   health     {base}/healthz      readiness {base}/readyz
   JWKS       {base}/.well-known/jwks.json
   ingest     {base}/ingest/contributions, /ingest/service-payments (integrators, NDJSON)
   database   {db}
   worker     `mhi worker` runs alongside: pushes, and statuses as time passes
   fcm-local  {fcm}/   the pushes demo phones received (or `.venv/bin/mhi pushes`)
   witness    {witness}/   cosigns the verifiable log's checkpoints; its verifier key
              {witness_key}

 Registry desk ({clinic}): open {base}/desk and sign in as the desk worker
   demo-desk / {desk_password}      or the clinic's administrator  demo-admin / {admin_password}
 To help the demo citizen, open the patient with "No app: consent by SMS" and IIN {iin};
 the code the patient would read out is at {base}/dev/sms.

 Sign in as the demo citizen {name}: IIN {iin}, phone {phone}.
 In GraphiQL run

   mutation {{ requestSignInCode(iin: "{iin}", phone: "{phone}") {{
     challengeId expiresAt userErrors {{ code message }} }} }}

 read the 6-digit code at {base}/dev/sms, then

   mutation {{ signIn(challengeId: "<challengeId>", code: "<code>",
     device: {{ name: "GraphiQL" }}) {{ session {{ accessToken refreshToken }}
     userErrors {{ code message attemptsLeft }} }} }}

 and paste {{"Authorization": "Bearer <accessToken>"}} into GraphiQL's headers. Then run the
 home screen (mobile_contract/operations/HomeScreen.graphql), e.g.
   {{ me {{ firstName insurance {{ statusName reason {{ text }} guaranteedUntil }} }} }}
 refreshSession(refreshToken:) renews the session; signOut ends it.
 Citizen 1 reads Kazakh; `.venv/bin/mhi token --demo 2` mints a token for a Russian reader
 (tests and benchmarks), `--demo 4` English.
 Citizen 2 pays for himself and is a month behind: with his token, the how-to-pay screen
 (mobile_contract/operations/HowToPay.graphql) shows the arrears, the payee's details and
 what restores cover today, keeps it next month or prepays a year.
 Citizen 6 (Alina Kim) is the mother of citizen 4 (Dana Omarova): with `--demo 6`,
 mobile_contract/operations/Children.graphql shows her daughter's status, receipts and care.
 Citizen 1 reported her latest covered service as never received: MyCases.graphql shows the
 open case; the development integrator sees it in graphql/operations/Disputes.graphql.

 Money reaching a phone: the first 4 cast people have a demo phone registered. In another
 terminal, `.venv/bin/mhi demo-payment --person 1` sends a contribution through the
 integrator API (client {client_id}, secret in {client_file}) and prints the push that
 fcm-local recorded, in the person's language; then `{{ me {{ unreadNotifications
 notifications(first: 5) {{ edges {{ node {{ title body link }} }} }} }} }}` shows the inbox.
{warning}────────────────────────────────────────────────────────────────────────
"""
