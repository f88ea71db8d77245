"""``mhi witness serve|key``: the witness process of the verifiable log (issue 16).

The witness keeps everything in its own directory (``--dir``, ``WITNESS_DIR``): its key, made
there on first use, and the latest checkpoint it cosigned for each log.  It trusts the logs
whose verifier keys it is given (``--log-key``, repeatable, or ``WITNESS_LOG_KEYS``); under
``mhi dev`` that is the development log's key, ``TLOG_KEY_DIR/log.vkey``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from backend.cli.registry import command
from backend.settings import TlogSettings, WitnessSettings

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
                access_log=False, lifespan="off")
    return 0
