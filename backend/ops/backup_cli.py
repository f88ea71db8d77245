"""``mhi backup``: the backups of ``backend.ops.backup`` on the configured server.

``configure`` once (then restart the server), ``base`` now and then, ``incremental`` between,
``verify`` each; ``mark --name`` writes a restore point with the tables' sums at it (kept in
``<root>/marks/<name>.json``), and ``restore --target-name`` compares the copy with them, so a
restore is checked in the same command that makes it.  ``compare`` checks a copy restored by
other means (pgBackRest, Barman) against a mark's sums.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from backend.ops import sums
from backend.ops.backup import (
    ARCHIVE,
    BackupError,
    Target,
    Tools,
    archiving_settings,
    chain,
    free_port,
    prune,
    quoted,
    restore,
    take_backup,
    verify,
    wait_archived,
)

ACTIONS = ("configure", "base", "incremental", "verify", "mark", "restore", "compare", "prune")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``mhi backup``'s options (``backend.cli`` builds the parser)."""
    parser = sub.add_parser("backup", help="backups with PostgreSQL's own tools: configure, "
                                           "base, incremental, verify, mark, restore, compare, "
                                           "prune")
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("--into", type=Path, metavar="DIR",
                        help="the backup root: the WAL archive, the backups, the marks' sums "
                             "(default: <data_dir>/backups)")
    parser.add_argument("--name", help="mark: the restore point's name")
    parser.add_argument("--sums", type=Path, metavar="FILE",
                        help="compare: a mark's sums (<root>/marks/<name>.json)")
    parser.add_argument("--to", type=Path, metavar="DIR",
                        help="restore: the new data directory (must not exist or be empty)")
    parser.add_argument("--port", type=int, help="restore: its port (default: a free one)")
    parser.add_argument("--keep", type=int, default=2, metavar="N",
                        help="prune: the full backups to keep, with their incrementals and "
                             "the WAL from the oldest one's start (default 2)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--target-time", metavar="ISO8601",
                        help="restore: stop before the first commit after this time "
                             "(with its UTC offset)")
    target.add_argument("--target-name", metavar="NAME",
                        help="restore: stop at this restore point (made by `mark`), and "
                             "compare the copy with the mark's sums")
    target.add_argument("--target-lsn", metavar="LSN", help="restore: stop at this WAL position")


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:,.1f} MiB"


def _target(args: argparse.Namespace) -> Target:
    if args.target_time:
        from datetime import datetime

        moment = datetime.fromisoformat(args.target_time)
        if moment.tzinfo is None:
            raise BackupError("--target-time needs its UTC offset (2026-12-07T03:00:00+00:00)")
        return Target(time=moment)
    return Target(name=args.target_name, lsn=args.target_lsn)


def _configure(tools: Tools, dsn: str, root: Path) -> None:
    tools.own(root, root / ARCHIVE)
    settings = archiving_settings(root / ARCHIVE)
    for name, value in settings.items():
        tools.sql(dsn, f"ALTER SYSTEM SET {name} = {quoted(value)}")
    tools.sql(dsn, "SELECT pg_reload_conf()")
    time.sleep(0.5)  # the reload is asynchronous; pending_restart is read after it
    names = ", ".join(quoted(name) for name in settings)
    waiting = tools.sql(dsn, "SELECT string_agg(name, ', ') FROM pg_settings"  # noqa: S608
                             f" WHERE pending_restart AND name IN ({names})")
    print(f"WAL summaries on; WAL archived into {root / ARCHIVE}")
    if waiting:
        print(f"restart the server for {waiting} to apply (embedded: mhi db stop; mhi db up)")


def _compare(expected_file: Path, dsn: str) -> int:
    expected = sums.load(expected_file)

    async def read() -> sums.Sums:
        conn = await asyncpg.connect(dsn)
        try:
            return await sums.table_sums(conn)
        finally:
            await conn.close()

    found = asyncio.run(read())
    wrong = sums.differences(expected, found)
    for line in wrong:
        print(f"differs: {line}")
    if wrong:
        return 1
    rows = sum(value.rows for value in found.values())
    tables = f"{len(found)} table" + ("s" if len(found) != 1 else "")
    print(f"matches {expected_file.name}: {tables}, {rows:,} rows")
    return 0


def _restore(tools: Tools, dsn: str, root: Path, args: argparse.Namespace) -> int:
    if args.to is None:
        raise BackupError("restore needs --to DIR, the new data directory")
    target = _target(args)
    links = chain(root, finished_before=target.time)
    if not links:
        raise BackupError(f"no backup under {root} finished before the target")
    port = args.port or free_port()
    done = restore(tools, [info.path(root) for info in links], root / ARCHIVE,
                   args.to.resolve(), target=target, port=port)
    print(f"restored {' + '.join(info.name for info in links)} in {done.seconds:.1f} s "
          f"(combine {done.combine_seconds:.1f} s, recovery {done.recovery_seconds:.1f} s)")
    copy = urlunsplit(urlsplit(dsn)._replace(netloc=f"postgres@127.0.0.1:{port}"))
    print(f"running: {copy}")
    as_user = f"sudo -u {tools.user} " if tools.user else ""
    print(f"stop it: {as_user}{tools.bin_dir / 'pg_ctl'} -D {done.pgdata} stop")
    marked = root / "marks" / f"{args.target_name}.json"
    return _compare(marked, copy) if args.target_name and marked.exists() else 0


def _mark(tools: Tools, dsn: str, root: Path, name: str | None) -> None:
    if not name:
        raise BackupError("mark needs --name")
    lsn, found = asyncio.run(sums.mark(dsn, name))
    if tools.sql(dsn, "SHOW archive_mode") == "off":
        shipped = ("archive_mode is off: restorable only from WAL streamed elsewhere "
                   "(pg_receivewal, Barman)")
    else:
        shipped = f"archived {wait_archived(tools, dsn):.1f} s later"
    (root / "marks").mkdir(parents=True, exist_ok=True)
    sums.save(root / "marks" / f"{name}.json", lsn, found)
    print(f"restore point {name!r} at {lsn}, {shipped}; sums of "
          f"{len(found)} tables in {root / 'marks' / name}.json")


def run_backup(args: argparse.Namespace, dsn: str, root: Path) -> int:
    """``mhi backup <action>`` against the server at ``dsn`` (libpq URL), root ``root``."""
    tools = Tools.embedded()
    if args.action == "configure":
        _configure(tools, dsn, root)
    elif args.action in ("base", "incremental"):
        if tools.sql(dsn, "SHOW summarize_wal") != "on":
            raise BackupError("WAL summaries are off: run `mhi backup configure` first")
        info = take_backup(tools, dsn, root, incremental=args.action == "incremental")
        print(f"{info.kind} backup {info.path(root)}: {_megabytes(info.bytes)} "
              f"in {info.seconds:.1f} s (WAL {info.start_lsn} to {info.end_lsn})")
        if tools.sql(dsn, "SHOW archive_mode") == "off":
            print("archive_mode is off: this backup restores only to its own end "
                  "(mhi backup configure, then restart the server)")
    elif args.action == "verify":
        for info in chain(root):
            print(f"{info.name}: verified in {verify(tools, info.path(root)):.1f} s")
    elif args.action == "mark":
        _mark(tools, dsn, root, args.name)
    elif args.action == "prune":
        gone, segments = prune(tools, root, keep_full=args.keep)
        print(f"removed {len(gone)} backups ({', '.join(gone) or 'none'}) and {segments} "
              f"archived WAL files; kept the newest {args.keep} full backups")
    elif args.action == "compare":
        if args.sums is None:
            raise BackupError("compare needs --sums FILE")
        return _compare(args.sums, dsn)
    else:
        return _restore(tools, dsn, root, args)
    return 0


def handle(args: argparse.Namespace) -> int:
    """``mhi backup``: on the configured server (``DATABASE_URL``, else the embedded one)."""
    from sqlalchemy.engine import make_url

    from backend.db.engine import resolve_database_url
    from backend.settings import AppSettings

    settings = AppSettings()
    url = make_url(resolve_database_url(settings)).set(drivername="postgresql")
    root = (args.into or settings.data_dir / "backups").resolve()
    try:
        return run_backup(args, url.render_as_string(hide_password=False), root)
    except (BackupError, OSError, asyncpg.PostgresError) as error:
        print(f"mhi backup {args.action}: {error}", file=sys.stderr)
        return 1
