"""``mhi`` subcommands of notifications and the worker's jobs: the worker, the public rollups
(``mhi stats``), fcm-local, what a phone received, dead letters, announcements."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import signal
import time
from datetime import date
from functools import partial
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.cli.registry import command
from backend.cli.shared import refresh_statuses, warn_statuses
from backend.cli.worker_health import serve_probes
from backend.settings import AppSettings, RetentionSettings
from notifications.settings import NotifySettings

log = logging.getLogger("mhi.worker")


@command("worker")
async def worker(args: argparse.Namespace) -> int:
    """``mhi worker``: the notification dispatcher, statuses as time passes (every ``--every``
    seconds), and the public rollups (deltas folded every few seconds; the month's snapshot of
    insured people when a month ends, before the new month's statuses are computed).  SIGTERM
    or Ctrl-C finish the calls under way, claim nothing more, and exit 0 (a pod's drain).
    ``--health-port``: answer ``/healthz`` and ``/readyz`` there (``worker_health``)."""
    from auth.service import gateway_for
    from auth.settings import AuthSettings
    from backend.api.app import almaty_today
    from backend.api.request_id import new_request_id
    from backend.cli.log import run_log
    from backend.logs import request_id
    from backend.observability.server import MetricsSettings
    from backend.observability.traces import start_tracing
    from backend.observability.traces_worker import name_jobs, trace_worker, worker_sampler
    from backend.observability.worker import instrument_worker
    from backend.ops.retention import run_every as retention
    from backend.runtime import open_engine, prepare_database
    from backend.sms import GatewayChannel, person_contacts
    from backend.transparency import figures, release, rollups
    from notifications.gateway import Gateway, close_app, open_app
    from notifications.worker import Dispatcher

    logging.getLogger("mhi").setLevel(logging.INFO)
    settings, notify = AppSettings(), NotifySettings()
    engine = open_engine(settings, await prepare_database(settings))
    firebase = open_app(notify)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def statuses() -> None:
        reminded_on = None  # the reminders read every self-payer: once a day is enough
        while not stop.is_set():
            request_id.set(new_request_id())  # this pass's lines share an id (own task)
            try:
                today = almaty_today()
                ended = await rollups.month_end(engine, today)
                if ended is not None:
                    log.info("insured people at the end of %s recorded", f"{ended:%Y-%m}")
                log.info(await refresh_statuses(engine, today, stopping=stop.is_set))
                if stop.is_set():  # draining: the warnings are written on the next pass
                    break
                log.info(await warn_statuses(engine, today, reminders=reminded_on != today))
                reminded_on = today
            except Exception:  # the database is away: try again next time
                log.exception("the status job failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), args.every)

    async def stats() -> None:
        released_at = -math.inf  # months that changed are released every RELEASE_EVERY s
        while not stop.is_set():
            request_id.set(new_request_id())  # this pass's lines share an id (own task)
            try:
                folded = await rollups.fold_all(engine)
                if folded.total:
                    log.debug("%s", folded)
                today = almaty_today()
                if (time.monotonic() - released_at >= release.RELEASE_EVERY
                        or await release.edition_date(engine) != figures.last_ended(today)):
                    await release.release(engine, today)
                    released_at = time.monotonic()
            except Exception:  # the database is away: try again next time
                log.exception("the rollup fold or the release failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rollups.FOLD_EVERY)

    auth = AuthSettings()
    sms_gateway = gateway_for(auth)
    dispatcher = Dispatcher(engine, Gateway(firebase), notify,
                            sms=(GatewayChannel(sms_gateway), person_contacts))
    target = ("Google FCM" if notify.service_account_file else
              f"fcm-local at {notify.fcm_local_url}")
    log.info("worker started: pushes go to %s, critical SMS to the %s SMS gateway", target,
             auth.sms_gateway)
    probes = None
    if args.health_port is not None:
        probes = await serve_probes(settings.host, args.health_port,
                                    partial(_ready, engine, stop))
    # Timed FCM and SMS calls, counters, queue lag; /metrics on METRICS_PORT.
    metered = instrument_worker(dispatcher, MetricsSettings())
    # An id per job in the log lines; spans per FCM batch when tracing is on (operations.md)
    name_jobs(dispatcher)
    tracing = start_tracing("mhi-worker", sampler=worker_sampler())
    if tracing is not None:
        trace_worker(dispatcher, tracing)
    try:
        await asyncio.gather(dispatcher.run(stop), statuses(), stats(),
                             run_log(engine, stop),  # the verifiable log: append, checkpoint
                             # pruning by age, bounded per run (docs/operations.md#retention)
                             retention(engine, RetentionSettings(), stop, auth.dev_sms_file))
    finally:
        metered.close()
        if probes is not None:
            probes.close()
        totals = dispatcher.totals
        log.info("worker stopped: %d events, %d pushes sent, %d retried, %d rejected, "
                 "%d dead; %d SMS sent (%d segments), %d not needed, %d dead", totals.events,
                 totals.sent, totals.retried, totals.rejected, totals.dead, totals.sms_sent,
                 totals.sms_segments, totals.sms_skipped, totals.sms_dead)
        await close_app(firebase)
        if tracing is not None:  # the spans still queued are sent (blocking: off the loop)
            await asyncio.to_thread(tracing.shutdown)
        close = getattr(sms_gateway, "aclose", None)  # the operator's connection pool
        if close is not None:
            await close()
        await engine.dispose()
    return 0


async def _ready(engine: AsyncEngine, stop: asyncio.Event) -> bool:
    """The worker's readiness: not stopping, and its database answers, migrated to this
    code's head or ahead of it (as the API's ``/readyz`` judges it: ``migrate.judge``)."""
    from backend.db import migrate

    return not stop.is_set() and (
        migrate.judge(await migrate.current_revision(engine)) != "behind")


@command("stats")
async def stats(args: argparse.Namespace) -> int:
    """``mhi stats fold``: add every waiting delta to the public rollups; ``mhi stats
    release``: fold, then protect and store the months that changed
    (``backend.transparency.release``); ``mhi stats snapshot``: the people insured now as the
    figures of the month that just ended (final, once), of ``--month``, or of the current
    month with ``--provisional`` (replaced by the month-end snapshot).  The worker does all
    three by itself."""
    from backend.api.app import almaty_today
    from backend.months import add_months
    from backend.runtime import open_engine, prepare_database
    from backend.transparency import rollups
    from backend.transparency.release import release

    settings = AppSettings()
    engine = open_engine(settings, await prepare_database(settings))
    try:
        if args.action == "fold":
            print(await rollups.fold_all(engine))
            return 0
        if args.action == "release":
            print(await rollups.fold_all(engine))
            print(await release(engine, almaty_today()))
            return 0
        today = almaty_today()
        if args.month:
            month = date.fromisoformat(f"{args.month}-01")
        else:
            month = today if args.provisional else add_months(today, -1)
        report = await rollups.fold_and_snapshot(engine, [month], final=not args.provisional)
        kind = "provisional" if args.provisional else "final"
        print(f"{report}; {kind} snapshot of insured people for {month:%Y-%m}")
    finally:
        await engine.dispose()
    return 0


@command("fcm-local")
def fcm_local(args: argparse.Namespace) -> int:
    """``mhi fcm-local``: the local FCM server (development and tests)."""
    from notifications import fcm_local as server

    server.main()
    return 0


@command("pushes")
def pushes(args: argparse.Namespace) -> int:
    """``mhi pushes``: what fcm-local received lately, newest first (what demo phones got)."""
    url = f"{NotifySettings().fcm_local_url.rstrip('/')}/admin/messages"
    try:
        records: list[dict[str, Any]] = httpx.get(url, params={"limit": args.limit},
                                                  timeout=5).json()["messages"]
    except httpx.HTTPError:
        print(f"fcm-local does not answer at {url}: is `make run` running?")
        return 1
    for record in records:
        message = record.get("message", {})
        note = message.get("notification", {})
        target = str(record.get("target", ""))
        data = message.get("data", {})
        print(f"{str(record.get('received_at', ''))[:19]}  …{target[-8:]}  "
              f"{note.get('title', '')} | {note.get('body', '')}  [{data.get('link', '')}]")
    if not records:
        print("no pushes yet: send a contribution for a person with a registered device")
    return 0


@command("notify")
async def notify(args: argparse.Namespace) -> int:
    """``mhi notify stats|dead|requeue``: deliveries by state, dead letters, try again."""
    engine = await _engine()
    try:
        async with engine.begin() as conn:
            if args.action == "stats":
                for state, count in await conn.execute(text(
                        "SELECT state, count(*) FROM notify.delivery GROUP BY state"
                        " ORDER BY state")):
                    print(f"{state:10} {count:>10,}")
                pending = (await conn.execute(text(
                    "SELECT count(*) FROM notify.outbox WHERE dispatched_at IS NULL"))).scalar()
                print(f"{'events':10} {pending:>10,} not yet expanded")
            elif args.action == "dead":
                for row in await conn.execute(text(
                        "SELECT id, event_id, kind, attempts, finished_at, last_error"
                        " FROM notify.delivery WHERE state = 'dead'"
                        " ORDER BY finished_at DESC LIMIT :limit"), {"limit": args.limit}):
                    print(f"{row[0]:>10}  event {row[1]:>10}  {row[2]:24} {row[3]:>2} tries  "
                          f"{str(row[4])[:19]}  {row[5]}")
            else:
                moved = (await conn.execute(text(
                    "UPDATE notify.delivery SET state = 'pending', attempts = 0, due_at = now(),"
                    " finished_at = NULL WHERE state = 'dead'"))).rowcount
                print(f"{moved:,} dead deliveries queued again")
    finally:
        await engine.dispose()
    return 0


@command("announce")
async def announce(args: argparse.Namespace) -> int:
    """``mhi announce``: news from the Fund to everyone (or a region), at a steady rate."""
    from backend.errors import AppError
    from backend.inbox.announcements import publish

    engine = await _engine()
    try:
        published = await publish(
            engine, title={"kk": args.title_kk, "ru": args.title_ru, "en": args.title_en},
            body={"kk": args.body_kk, "ru": args.body_ru, "en": args.body_en},
            help_slug=args.help_slug, region_code=args.region,
            rate_per_second=args.rate or NotifySettings().broadcast_rate_per_second,
            created_by="cli")
    except AppError as error:
        print(error.message)
        return 2
    finally:
        await engine.dispose()
    print(f"announcement {published.id}: {published.recipients:,} recipients; pushes go out at "
          f"{published.rate_per_second}/s (at most {published.seconds_to_send:,.0f} s)")
    return 0


async def _engine() -> AsyncEngine:
    from backend.runtime import open_engine, prepare_database

    settings = AppSettings()
    return open_engine(settings, await prepare_database(settings))


@command("sms-local")
def sms_local(args: argparse.Namespace) -> int:
    """``mhi sms-local``: the local SMS operator (Mobizon's API; development and tests)."""
    from auth import sms_local as server

    server.main()
    return 0
