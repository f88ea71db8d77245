"""``mhi log append|checkpoint|key|status``: the verifiable log by hand, and the worker's job.

The worker (``mhi worker``) runs :func:`run_log`: it appends the queue every
``TLOG_APPEND_EVERY_SECONDS`` (2 s), and signs a checkpoint when ``TLOG_CHECKPOINT_EVERY_SECONDS``
passed or ``TLOG_CHECKPOINT_LEAVES`` leaves arrived since it last tried, then asks the witnesses
to cosign it (``backend.tlog.publish``).  Without ``TLOG_WITNESSES``, development asks the local
witness (``mhi witness serve``, ``WITNESS_PORT``), whose key it reads from the witness's
directory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import time

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.cli.registry import command
from backend.settings import AppSettings, TlogSettings, WitnessAddress, WitnessSettings

log = logging.getLogger("mhi.tlog")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``mhi log`` and its actions, for ``backend.cli.build_parser``."""
    parser = sub.add_parser("log", help="the verifiable log: append the queue, sign a "
                                        "checkpoint, print the log's key (the worker does the "
                                        "first two)")
    parser.add_argument("action", choices=["append", "checkpoint", "key", "status"])
    parser.add_argument("--batch", type=int, help="append: records per transaction "
                                                  "(default TLOG_APPEND_BATCH)")


def witnesses_of(settings: TlogSettings) -> list[WitnessAddress]:
    """``TLOG_WITNESSES``; in development without them, the local witness (its key read, or
    made, in its own directory, as ``mhi witness key`` does)."""
    if settings.witnesses or settings.environment != "development":
        return list(settings.witnesses)
    from backend.tlog.witness import load_signer
    from backend.tlog.witness_store import WitnessStore

    local = WitnessSettings()
    key = load_signer(WitnessStore(local.dir), local.name).verifier().vkey
    return [WitnessAddress(url=f"http://{local.host}:{local.port}", key=key)]


async def run_log(engine: AsyncEngine, stop: asyncio.Event,
                  settings: TlogSettings | None = None,
                  client: httpx.AsyncClient | None = None) -> None:
    """The worker's job: append every few seconds; sign, get cosigned and publish a
    checkpoint on schedule or once enough leaves arrived (a witness away is asked again on
    the next schedule).  ``client`` reaches the witnesses (default: a new one)."""
    from backend.tlog.append import append_all
    from backend.tlog.leaves import pseudonym_key
    from backend.tlog.publish import checkpoint, log_signer

    settings = settings or TlogSettings()
    key, signer, witnesses = pseudonym_key(settings), log_signer(settings), witnesses_of(settings)
    tried_at, arrived = 0.0, 0
    async with contextlib.AsyncExitStack() as stack:
        if client is None:
            client = await stack.enter_async_context(httpx.AsyncClient())
        while not stop.is_set():
            try:
                appended = await append_all(engine, key, settings.append_batch, wait=False)
                arrived += appended.appended
                if appended.appended:
                    log.debug("%s", appended)
                if (time.monotonic() - tried_at >= settings.checkpoint_every_seconds
                        or arrived >= settings.checkpoint_leaves):
                    tried_at, arrived = time.monotonic(), 0
                    published = await checkpoint(engine, signer, witnesses, client, settings,
                                                 force=True)
                    if published.signed or published.published is not None:
                        log.info("%s", published)
            except Exception:  # the database or a witness is away: try again next time
                log.exception("the log job failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.append_every_seconds)


@command("log")
async def log_command(args: argparse.Namespace) -> int:
    """``mhi log append`` (drain the queue), ``checkpoint`` (sign the current size and get it
    cosigned and published), ``key`` (the log's verifier key, what verifiers and witnesses
    trust), ``status`` (size, queue, the published checkpoint)."""
    from backend.runtime import open_engine, prepare_database
    from backend.tlog.append import append_all, queued
    from backend.tlog.leaves import MissingKey, pseudonym_key
    from backend.tlog.publish import checkpoint, log_signer
    from backend.tlog.store import driver_of, tree_size

    settings = TlogSettings()
    try:
        signer, key = log_signer(settings), pseudonym_key(settings)
    except MissingKey as missing:
        print(f"mhi log: {missing}", file=sys.stderr)
        return 2
    if args.action == "key":
        print(signer.verifier().vkey)
        return 0
    app = AppSettings()
    engine = open_engine(app, await prepare_database(app))
    try:
        if args.action == "append":
            print(await append_all(engine, key, args.batch or settings.append_batch))
        elif args.action == "checkpoint":
            async with httpx.AsyncClient() as client:
                report = await checkpoint(engine, signer, witnesses_of(settings), client,
                                          settings, force=True)
            print(report)
            return 0 if report.published is not None or not report.refused else 1
        else:
            async with engine.connect() as conn:
                driver = await driver_of(conn)
                size, waiting = await tree_size(driver), await queued(driver)
                published = await driver.fetchval(
                    "SELECT max(size) FROM tlog.checkpoint WHERE published_at IS NOT NULL")
            print(f"{settings.origin}: {size:,} leaves, {waiting:,} queued, published "
                  f"checkpoint: {'none' if published is None else f'size {published:,}'}")
    finally:
        await engine.dispose()
    return 0
