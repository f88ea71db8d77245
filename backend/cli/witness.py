"""``mhi witness serve|key``: the witness process of the verifiable log (issue 16).

The witness keeps everything in its own directory (``--dir``, ``WITNESS_DIR``): its key, made
there on first use, and the latest checkpoint it cosigned for each log.  It trusts the logs
whose verifier keys it is given (``--log-key``, repeatable, or ``WITNESS_LOG_KEYS``); under
``mhi dev`` that is the development log's key, ``TLOG_KEY_DIR/log.vkey``.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from backend.cli.registry import command
from backend.settings import AppSettings, TlogSettings, WitnessSettings

DEV_LOG_KEY_FILE = "log.vkey"
"""The development log's verifier key, beside its signing key in ``TLOG_KEY_DIR``."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``mhi witness`` and its actions, for ``backend.cli.build_parser``."""
    witness = sub.add_parser("witness", help="the verifiable log's witness: serve, key")
    actions = witness.add_subparsers(dest="action", required=True)
    serve = actions.add_parser("serve", help="cosign the logs' checkpoints over HTTP "
                                             "(C2SP tlog-witness)")
    key = actions.add_parser("key", help="print the witness's verifier key (made if absent)")
    for parser in (serve, key):
        parser.add_argument("--dir", type=Path, help="its storage (default WITNESS_DIR, "
                                                     ".data/witness)")
        parser.add_argument("--name", help="the key's name when it is made (WITNESS_NAME)")
    serve.add_argument("--host", help="default WITNESS_HOST, 127.0.0.1")
    serve.add_argument("--port", type=int, help="default WITNESS_PORT, 8472")
    serve.add_argument("--log-key", action="append", default=[], metavar="VKEY",
                       help="a log's verifier key (its name is the log's origin); repeat for "
                            "more (default WITNESS_LOG_KEYS, else the development log's key)")


def log_keys(arguments: list[str], settings: WitnessSettings) -> list[str]:
    """The log keys to trust: the arguments, else the settings, else the development log's
    key file (``TLOG_KEY_DIR/log.vkey``) when it exists."""
    if arguments:
        return arguments
    if settings.log_key_list():
        return settings.log_key_list()
    dev_key = TlogSettings().key_dir / DEV_LOG_KEY_FILE
    if dev_key.exists():
        return [dev_key.read_text(encoding="utf-8").strip()]
    return []


@command("witness")
def witness(args: argparse.Namespace) -> int:
    """``mhi witness serve`` (the HTTP service) or ``mhi witness key`` (its verifier key)."""
    from backend.tlog.witness import create_app, load_signer, open_witness
    from backend.tlog.witness_store import WitnessStore

    settings = WitnessSettings()
    directory = args.dir or settings.dir
    name = args.name or settings.name
    if args.action == "key":
        print(load_signer(WitnessStore(directory), name).verifier().vkey)
        return 0

    import uvicorn

    keys = log_keys(args.log_key, settings)
    try:
        served = open_witness(directory, name, keys)
    except ValueError as error:
        print(f"mhi witness: {error}", file=sys.stderr)
        return 2
    logging.getLogger("backend.tlog.witness").setLevel(logging.INFO)
    host, port = args.host or settings.host, args.port or settings.port
    origins = ", ".join(served.logs) or "none (give --log-key)"
    print(f"witness {served.verifier_key}\n  on http://{host}:{port}, storage {directory}\n"
          f"  follows {origins}", flush=True)
    uvicorn.run(create_app(served), host=host, port=port, log_level="warning",
                access_log=False, lifespan="off", log_config=None)  # through mhi's root handler
    return 0


@dataclass(frozen=True)
class DevWitness:
    """The development witness as ``mhi dev`` starts it."""

    url: str
    key: str
    """Its verifier key (what the worker and the verifier trust)."""
    log_key: str
    """The development log's verifier key, which it follows."""
    note: str
    """A line for the banner when something had to be said (its old state retired), or ''."""


def prepare_dev_witness(database_url: str) -> DevWitness:
    """Before ``mhi dev`` starts the witness: the log's key (made once, as the worker would),
    the witness's key, and its memory of the log checked against the log's own.

    A demo loaded again is a new log under the same origin (``backend.demo.generator.clear``),
    which a witness rightly refuses as a fork.  Development only: when the log no longer holds
    the checkpoint the witness cosigned last, that state is moved aside to ``retired/`` (kept,
    never deleted), so the new demo log starts from 0 with the same witness key."""
    import asyncio

    from backend.tlog.publish import log_signer
    from backend.tlog.witness import load_signer
    from backend.tlog.witness_store import WitnessStore

    settings, tlog = WitnessSettings(), TlogSettings()
    log_key = log_signer(tlog).verifier().vkey
    store = WitnessStore(settings.dir)
    key = load_signer(store, settings.name).verifier().vkey
    note = ""
    stored = store.read_checkpoint(tlog.origin)
    if stored is not None and not asyncio.run(_log_signed(database_url, stored)):
        retired = settings.dir / "retired"
        retired.mkdir(exist_ok=True)
        target = retired / f"{store.checkpoint_path(tlog.origin).stem}-{int(time.time())}"
        store.checkpoint_path(tlog.origin).rename(target.with_suffix(".checkpoint"))
        note = (f" The demo log was made again, so the development witness forgot the old one "
                f"(kept in {retired}).\n")
    return DevWitness(f"http://{settings.host}:{settings.port}", key, log_key, note)


async def _log_signed(database_url: str, stored: bytes) -> bool:
    """Whether the log's database holds the checkpoint (size and root) of ``stored``."""
    from sqlalchemy import text

    from backend.runtime import open_engine
    from backend.tlog.checkpoint import parse_checkpoint

    body = stored.decode()
    checkpoint = parse_checkpoint(body[: body.index("\n\n") + 1])
    engine = open_engine(AppSettings(), database_url)
    try:
        async with engine.connect() as conn:
            found = await conn.execute(text(
                "SELECT 1 FROM tlog.checkpoint WHERE size = :size AND root_hash = :root"),
                {"size": checkpoint.size, "root": checkpoint.hash})
            return found.first() is not None
    finally:
        await engine.dispose()


def start_dev_witness(mhi: Path, dev: DevWitness) -> subprocess.Popen[bytes]:
    """``mhi witness serve`` as ``mhi dev``'s child, following the development log; waits
    (up to 15 s) until it answers, so the worker's first checkpoint finds it."""
    import httpx

    child = subprocess.Popen([str(mhi), "witness", "serve", "--log-key", dev.log_key])  # noqa: S603
    deadline = time.monotonic() + 15
    while child.poll() is None and time.monotonic() < deadline:
        try:
            httpx.get(dev.url + "/", timeout=1)
            return child
        except httpx.TransportError:
            time.sleep(0.1)
    print(f"the witness does not answer at {dev.url} (WITNESS_PORT taken?): checkpoints "
          "will wait unpublished until one does", file=sys.stderr)
    return child
