"""The project's command line: ``mhi <command>``.  Run ``mhi --help`` for the list."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

# The command modules register their handlers (backend.cli.registry) when imported.
from backend.cli import commands as _commands  # noqa: F401
from backend.cli import dev_setup as _dev_setup  # noqa: F401
from backend.cli import log as _log
from backend.cli import notify as _notify  # noqa: F401
from backend.cli import witness as _witness
from backend.cli.registry import COMMANDS, command
from backend.observability.logs import configure_logging
from backend.ops import backup_cli as _backup
from backend.ops import retention_cli as _retention

command("backup")(_backup.handle)
command("retention")(_retention.handle)


def build_parser() -> argparse.ArgumentParser:
    """All subcommands with their options."""
    parser = argparse.ArgumentParser(prog="mhi", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="the database: up, migrate, stop, url")
    db.add_argument("action", choices=["up", "migrate", "stop", "url", "revision"])
    db.add_argument("-m", "--message", help="for `revision`: what the migration does")

    demo = sub.add_parser("demo", help="load the deterministic demo country")
    demo.add_argument("--people", type=int, default=10_000)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--if-empty", action="store_true", help="do nothing when people exist")
    demo.add_argument("--replace", action="store_true", help="clear existing people first")
    demo.add_argument("--as-of", help="the day the country is seen on (default: today)")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.add_argument("--refresh-after-days", type=int, metavar="N",
                      help="with --if-empty: load again when the demo is older than N days")

    token = sub.add_parser("token", help="mint an access token for a person (development)")
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument("--person-id")
    who.add_argument("--demo", type=int, metavar="N", help="the Nth demo person (1-based)")

    staff = sub.add_parser("staff", help="registry-desk accounts: create, deactivate")
    staff_sub = staff.add_subparsers(dest="action", required=True)
    create = staff_sub.add_parser("create", help="a new desk account of one clinic")
    create.add_argument("--username", required=True)
    create.add_argument("--name", required=True, help="the worker's display name")
    create.add_argument("--provider-bin", required=True, help="the clinic's BIN")
    create.add_argument("--role", choices=("worker", "admin"), default="worker",
                        help="admin also manages the clinic's staff in the desk console")
    create.add_argument("--password-env", metavar="VAR",
                        help="read the password from this environment variable "
                             "(default: generate one and print it once)")
    gone = staff_sub.add_parser("deactivate", help="stop an account and end its sessions")
    gone.add_argument("--username", required=True)

    client = sub.add_parser("client", help="integrator clients: create, deactivate")
    client_sub = client.add_subparsers(dest="action", required=True)
    new = client_sub.add_parser("create", help="a new client; prints its secret once")
    new.add_argument("--name", required=True)
    new.add_argument("--organization", required=True)
    new.add_argument("--scope", action="append", required=True,
                     help="repeat: eligibility:read, contributions:write, services:write, "
                          "stats:read, announcements:write, guardianship:write, "
                          "disputes:read, disputes:write")
    new.add_argument("--requests-per-minute", type=int)
    old = client_sub.add_parser("deactivate", help="refuse new tokens to a client")
    old.add_argument("--client-id", required=True)

    keys = sub.add_parser("keys", help="signing keys: list, rotate")
    keys.add_argument("action", choices=["list", "rotate"])
    keys.add_argument("--now", action="store_true",
                      help="with rotate: sign with the new key at once (a compromised key)")

    statuses = sub.add_parser("statuses", help="recompute the insurance statuses that are due; "
                                               "warn the people whose cover ends soon")
    statuses.add_argument("action", choices=["refresh", "warn"])
    statuses.add_argument("--as-of", help="the day to judge on (default: today in Almaty)")
    statuses.add_argument("--all", action="store_true",
                          help="refresh: recompute everyone once (after an upgrade that "
                               "stores something new with each status)")
    worker = sub.add_parser("worker", help="the notification dispatcher, statuses as time "
                                           "passes, and the public rollups")
    worker.add_argument("--every", type=int, default=300, metavar="SECONDS",
                        help="how often to recompute due statuses (default 300)")
    worker.add_argument("--health-port", type=int, metavar="PORT",
                        help="answer /healthz and /readyz on this port (APP_HOST), for an "
                             "orchestrator's probes; default: no probes")
    stats = sub.add_parser("stats", help="the public rollups: fold the waiting deltas, release "
                                         "the months that changed, or snapshot the people "
                                         "insured (the worker does all three)")
    stats.add_argument("action", choices=["fold", "release", "snapshot"])
    stats.add_argument("--month", metavar="YYYY-MM",
                       help="snapshot: the month (default: the one that just ended)")
    stats.add_argument("--provisional", action="store_true",
                       help="snapshot: of a month not yet over (default: the current month), "
                            "replaced by its month-end snapshot")
    sub.add_parser("fcm-local", help="the local FCM server (FCM_LOCAL_PORT, default 8470)")
    sub.add_parser("sms-local", help="the local SMS operator, Mobizon's API (SMS_LOCAL_PORT, "
                   "default 8471)")
    pushes = sub.add_parser("pushes", help="what fcm-local received lately (demo phones)")
    pushes.add_argument("--limit", type=int, default=20)
    notify = sub.add_parser("notify", help="deliveries: stats, dead letters, requeue the dead")
    notify.add_argument("action", choices=["stats", "dead", "requeue"])
    notify.add_argument("--limit", type=int, default=50)
    payment = sub.add_parser("demo-payment", help="send a contribution through the integrator "
                                                  "API and show the push it made (make run)")
    payment.add_argument("--person", type=int, default=1, choices=range(1, 5),
                         help="which demo cast person (1-4)")
    announce = sub.add_parser("announce", help="news from the Fund to everyone or a region")
    for field in ("title", "body"):
        for language in ("kk", "ru", "en"):
            announce.add_argument(f"--{field}-{language}", required=True)
    announce.add_argument("--region", help="a region code (KZ-..); default: everyone")
    announce.add_argument("--help-slug", help="the help article it is about")
    announce.add_argument("--rate", type=int, help="pushes a second (default "
                                                   "NOTIFY_BROADCAST_RATE_PER_SECOND)")

    _backup.add_parser(sub)
    _retention.add_parser(sub)
    _witness.add_parser(sub)
    _log.add_parser(sub)
    sub.add_parser("sms", help="the development SMS sink: sign-in codes sent lately")
    sub.add_parser("serve", help="serve the API with uvicorn")
    sub.add_parser("dev", help="what `make run` does: database, demo data, token, API")
    export = sub.add_parser("export-schema", help="write the SDL of the GraphQL schema")
    export.add_argument("--output", default="graphql/schema.graphql")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mhi`` script (logs as ``LOG_FORMAT`` says: JSON lines outside
    development, ``backend.observability.logs``)."""
    configure_logging(logging.WARNING)
    args = build_parser().parse_args(argv)
    handler = COMMANDS[args.command]
    result = handler(args)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
