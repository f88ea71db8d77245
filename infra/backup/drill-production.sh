#!/usr/bin/env bash
# The backup drill against the production cluster, with pgBackRest or Barman doing the backups:
# the same proof as `make drill` (tests/drill), which runs it with PostgreSQL's own tools here.
#
#   infra/backup/drill-production.sh pgbackrest|barman
#
# Run as the `postgres` OS user on the restore host (the Barman host for barman), with:
#   PRIMARY_URL   libpq URL of the production `mhi` database, as a role that may LOCK its tables
#                 (UPDATE on them) and run pg_create_restore_point, pg_switch_wal (superuser, or
#                 EXECUTE granted); `mhi backup mark` holds the locks for milliseconds
#   RESTORE_DIR   an empty scratch directory with room for the whole cluster
#   PG_BIN        PostgreSQL 18's binaries (default /usr/lib/postgresql/18/bin)
#   RESTORE_PORT  where the copy listens, on its own socket directory only (default 5499)
#   MHI           the project's command line (default .venv/bin/mhi)
#   KEEP=1        leave the copy running (default: stop it and remove it)
#
# Steps: write a restore point on the primary with the sums of every table at it (`mhi backup
# mark`); wait until its WAL is in the repository; restore the newest backup to that point into
# RESTORE_DIR; start the copy; compare (`mhi backup compare`); print the times: the restore's
# time is the RTO for this size, the mark's archive lag the RPO's floor.
# Not run on the development machine: it has no production cluster, and Debian's pgBackRest
# predates PostgreSQL 18 (see infra/backup/pgbackrest.conf).
set -euo pipefail

tool=${1:?usage: drill-production.sh pgbackrest|barman}
: "${PRIMARY_URL:?the production database (libpq URL)}"
: "${RESTORE_DIR:?an empty scratch directory}"
PG_BIN=${PG_BIN:-/usr/lib/postgresql/18/bin}
RESTORE_PORT=${RESTORE_PORT:-5499}
MHI=${MHI:-.venv/bin/mhi}
name="drill-$(date -u +%Y%m%dT%H%M%SZ)"
pgdata="$RESTORE_DIR/pgdata"
sums="$RESTORE_DIR/marks/$name.json"

[ -z "$(ls -A "$RESTORE_DIR" 2>/dev/null)" ] || { echo "$RESTORE_DIR is not empty" >&2; exit 1; }
started=$(date +%s)

# 1. The restore point and what a copy restored to it must hold (lock, snapshot, point, sums).
DATABASE_URL="$PRIMARY_URL" "$MHI" backup mark --name "$name" --into "$RESTORE_DIR"

# 2. Its WAL in the repository, then the restore into a fresh directory.
restore_began=$(date +%s)
case "$tool" in
  pgbackrest)
    pgbackrest --stanza=mhi --pg1-path="$pgdata" --type=name --target="$name" \
      --target-action=promote --archive-mode=off restore
    ;;
  barman)
    barman switch-wal --force --archive mhi
    # Barman 3.13 and later also call this `barman restore`.
    barman recover --target-name "$name" --target-action promote mhi latest "$pgdata"
    ;;
  *) echo "unknown tool: $tool (pgbackrest or barman)" >&2; exit 2 ;;
esac

# 3. Start the copy where nothing else can reach it, and wait for the end of recovery.
"$PG_BIN/pg_ctl" -D "$pgdata" -w -t 86400 -l "$RESTORE_DIR/copy.log" \
  -o "-p $RESTORE_PORT -c listen_addresses='' -c unix_socket_directories=$RESTORE_DIR -c archive_mode=off" \
  start
until [ "$("$PG_BIN/psql" -h "$RESTORE_DIR" -p "$RESTORE_PORT" -d mhi -AtXc \
            'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do sleep 1; done
restored=$(date +%s)

# 4. The copy against the sums taken at the restore point.
status=0
DATABASE_URL="postgresql:///mhi?host=$RESTORE_DIR&port=$RESTORE_PORT" \
  "$MHI" backup compare --sums "$sums" || status=$?

echo "restore point $name: restored and promoted in $((restored - restore_began)) s" \
     "(whole drill $(( $(date +%s) - started )) s); comparison: $([ $status = 0 ] && echo matches || echo DIFFERS)"
if [ "${KEEP:-0}" != 1 ]; then
  "$PG_BIN/pg_ctl" -D "$pgdata" -w -m fast stop
  rm -rf "$pgdata"
fi
exit $status
