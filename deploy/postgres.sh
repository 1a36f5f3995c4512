#!/usr/bin/env bash
# The local PostgreSQL 15 of `make cluster`: deploy/postgres.sh start|stop|restart DATA_DIR PORT
#
# `start` initialises DATA_DIR on first use (database and role `rasa`, its password kept in
# DATA_DIR/../postgres-password), then starts the server on 127.0.0.1:PORT and waits until it accepts
# connections. TCP connections need the password; the Unix socket lives inside DATA_DIR.
# PostgreSQL refuses to run as root. As root, the cluster belongs to the `postgres` system user
# (Debian's postgresql packages create it), and the directories above DATA_DIR get an ACL entry
# letting that user through (execute only: it cannot list them or read the other files in var/).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
action=$1 data=$(realpath -m "$2") port=$3
password_file="$(dirname "$data")/postgres-password"

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

let_postgres_through() {
  [[ $(id -u) -eq 0 ]] || return 0
  local dir
  dir=$(dirname "$data")
  while [[ "$dir" != / ]]; do
    runuser -u postgres -- test -x "$dir" || setfacl -m u:postgres:x "$dir"
    dir=$(dirname "$dir")
  done
}

psql_local() {  # as the owner, over the Unix socket in DATA_DIR (SQL on stdin)
  as_owner "$PG_BIN/psql" -h "$data" -p "$port" -U rasa -d postgres -v ON_ERROR_STOP=1 -q -X
}

initialise() {
  mkdir -p "$data"
  chmod 0700 "$data"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$data"
  let_postgres_through
  # The Unix socket (in DATA_DIR, reachable only by its owner) trusts; TCP asks for the password.
  as_owner "$PG_BIN/initdb" -D "$data" -U rasa -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  (umask 077; "$(dirname "$0")/../.venv/bin/python" -c "import secrets; print(secrets.token_urlsafe(24))" > "$password_file")
  start_server
  { echo "ALTER ROLE rasa PASSWORD '$(cat "$password_file")';"; echo "CREATE DATABASE rasa;"; } | psql_local
}

start_server() {
  let_postgres_through
  as_owner "$PG_BIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 -s \
    -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=300" start
}

case "$action" in
  start) if [[ -f "$data/PG_VERSION" ]]; then start_server; else initialise; fi ;;
  stop) as_owner "$PG_BIN/pg_ctl" -D "$data" -m fast -w -s stop ;;
  restart) let_postgres_through; as_owner "$PG_BIN/pg_ctl" -D "$data" -l "$data/server.log" -m fast -w -t 60 -s restart ;;
  *) echo "usage: $0 start|stop|restart DATA_DIR PORT" >&2; exit 2 ;;
esac
