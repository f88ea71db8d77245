"""``mhi retention run [--dry-run]``: prune what ``backend.ops.retention`` prunes, now, until
done (or ``--max-batches`` per table), and print the rows pruned per table."""

from __future__ import annotations

import argparse

from backend.ops import retention


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``mhi retention``'s options."""
    parser = sub.add_parser("retention", help="prune by age what nobody needs any more "
                                              "(the worker does it every few minutes)")
    parser.add_argument("action", choices=["run"])
    parser.add_argument("--dry-run", action="store_true",
                        help="count what would be pruned; change nothing")
    parser.add_argument("--max-batches", type=int, default=0, metavar="N",
                        help="at most N batches per table (default 0: until done)")


async def handle(args: argparse.Namespace) -> int:
    """Run every job once and print one line per table."""
    from auth.settings import AuthSettings
    from backend.runtime import open_engine, prepare_database
    from backend.settings import AppSettings, RetentionSettings

    settings = AppSettings()
    engine = open_engine(settings, await prepare_database(settings))
    try:
        report = await retention.run(engine, RetentionSettings(), max_batches=args.max_batches,
                                     dry_run=args.dry_run,
                                     dev_sms_file=AuthSettings().dev_sms_file)
    finally:
        await engine.dispose()
    for line in report.lines(dry_run=args.dry_run):
        print(line)
    if not report.skipped:
        print(f"{'in all':47} {'would prune' if args.dry_run else 'pruned'} "
              f"{report.total:>12,}")
    return 0
