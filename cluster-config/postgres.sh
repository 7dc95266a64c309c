#!/usr/bin/env bash
# A private PostgreSQL instance for the tests and the local cluster: its own data folder and port, run as the
# postgres user, never the machine's "15 main" cluster.
#
#   cluster-config/postgres.sh start DIR [PORT]   installs Debian's postgresql when missing (apt-get update first),
#                                                 initdb DIR/pgdata once, starts it on 127.0.0.1:PORT (default 55432),
#                                                 creates role orch (password orch, CREATEDB) and database orchestrator,
#                                                 and prints the connection string on stdout (nothing else)
#   cluster-config/postgres.sh stop DIR           stops it (fast shutdown); no error when it is not running
#   cluster-config/postgres.sh url DIR [PORT]     prints the connection string
#
# The connection string is Npgsql's: Host=127.0.0.1;Port=PORT;Database=orchestrator;Username=orch;Password=orch.
set -euo pipefail

PG_USER=orch
PG_PASSWORD=orch
PG_DATABASE=orchestrator

die() { echo "postgres.sh: $*" >&2; exit 1; }

bindir() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  return 1
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  elif [ "$(id -un)" = postgres ]; then
    "$@"
  else
    sudo -u postgres -- "$@"
  fi
}

install_if_missing() {
  bindir >/dev/null && return 0
  echo "postgres.sh: installing Debian package postgresql" >&2
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install Debian package postgresql by hand"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  bindir >/dev/null || die "postgresql installed, but no pg_ctl under /usr/lib/postgresql/*/bin"
}

url() { echo "Host=127.0.0.1;Port=$1;Database=$PG_DATABASE;Username=$PG_USER;Password=$PG_PASSWORD"; }

start() {
  local dir="$1" port="$2" bin
  install_if_missing
  bin="$(bindir)"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  local data="$dir/pgdata" socket="$dir/pgsock"
  mkdir -p "$socket"
  chown postgres "$dir" "$socket"
  chmod 0755 "$dir"
  # The postgres user must reach DIR: every parent needs o+x (mktemp's folders under /tmp have it).
  if [ ! -s "$data/PG_VERSION" ]; then
    local pwfile="$dir/pwfile"
    echo postgres >"$pwfile"
    chown postgres "$pwfile"
    chmod 0600 "$pwfile"
    as_postgres "$bin/initdb" -D "$data" -U postgres --pwfile="$pwfile" -A scram-sha-256 --auth-local=trust >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; die "initdb failed in $data"; }
    rm -f "$pwfile"
  fi

  if ! as_postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      die "port $port on 127.0.0.1 is taken by another program; choose another PORT"
    fi
    as_postgres "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $socket -c fsync=on" start >&2 \
      || { tail -20 "$dir/postgres.log" >&2; die "PostgreSQL did not start (log: $dir/postgres.log)"; }
  fi

  local i
  for i in $(seq 1 30); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    sleep 1
  done
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" || die "PostgreSQL on 127.0.0.1:$port did not accept connections within 30 s"

  # Idempotent: a second start finds the role and the database.
  local psql=("$bin/psql" -h "$socket" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
  if [ "$(as_postgres "${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" != 1 ]; then
    as_postgres "${psql[@]}" -c "CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD'" >/dev/null
  fi
  if [ "$(as_postgres "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" != 1 ]; then
    as_postgres "${psql[@]}" -c "CREATE DATABASE $PG_DATABASE OWNER $PG_USER" >/dev/null
  fi
  url "$port"
}

stop() {
  local dir="$1" bin
  bin="$(bindir)" || return 0
  [ -s "$dir/pgdata/PG_VERSION" ] || return 0
  as_postgres "$bin/pg_ctl" -D "$dir/pgdata" -m fast -w stop >/dev/null 2>&1 || true
}

cmd="${1:-}"
dir="${2:-}"
port="${3:-55432}"
[ -n "$dir" ] || die "usage: postgres.sh start|stop|url DIR [PORT]"
case "$cmd" in
  start) start "$dir" "$port" ;;
  stop) stop "$dir" ;;
  url) url "$port" ;;
  *) die "usage: postgres.sh start|stop|url DIR [PORT]" ;;
esac
