#!/usr/bin/env bash
# A throw-away PostgreSQL 15 cluster for tests and local runs: trust auth on localhost only.
#   scripts/postgres.sh start|stop|status|url
# Data lives outside the repository (FINPULSE_PG_DIR, default /var/tmp/finpulse-pg).
set -euo pipefail
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PGDIR=${FINPULSE_PG_DIR:-/var/tmp/finpulse-pg}
PGPORT=${FINPULSE_PG_PORT:-5432}
[ -x "$PGBIN/pg_ctl" ] || { echo "PostgreSQL server binaries not found: apt-get install postgresql" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

case "${1:-}" in
  start)
    if [ ! -f "$PGDIR/PG_VERSION" ]; then
      mkdir -p "$PGDIR"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDIR"
      as_pg "'$PGBIN/initdb' -D '$PGDIR' -A trust -U postgres --no-sync >/dev/null"
    fi
    if as_pg "'$PGBIN/pg_ctl' -D '$PGDIR' status" >/dev/null 2>&1; then
      echo "postgres already running on port $PGPORT"
    else
      as_pg "'$PGBIN/pg_ctl' -D '$PGDIR' -l '$PGDIR/server.log' -w -t 60 \
        -o \"-p $PGPORT -k /tmp -c listen_addresses=localhost -c fsync=off -c max_connections=200\" start" >/dev/null
      echo "postgres started on port $PGPORT"
    fi
    ;;
  stop) as_pg "'$PGBIN/pg_ctl' -D '$PGDIR' -m fast stop" || true ;;
  status) as_pg "'$PGBIN/pg_ctl' -D '$PGDIR' status" ;;
  url) echo "postgresql+psycopg://postgres@localhost:$PGPORT/postgres" ;;
  *) echo "usage: $0 start|stop|status|url" >&2; exit 2 ;;
esac
