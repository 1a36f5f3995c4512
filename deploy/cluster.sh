#!/usr/bin/env bash
# `make cluster`: RASA_REPLICAS Rasa servers and as many action servers behind nginx, sharing one
# PostgreSQL tracker store and one Redis lock store. Runs in the foreground; Ctrl-C or SIGTERM stops
# everything it started. A Rasa server or action server that dies is started again; if nginx, Redis
# or the page server dies, everything stops. The Makefile sets the environment defaults.
#
#   nginx            WEB_HOST:WEB_PORT   chat page, /webhooks/ and /socket.io/ to the replicas
#                    127.0.0.1:ACTION_LB_PORT   the action servers, for every replica
#   page server      127.0.0.1:PAGE_PORT (web/server.py, reached through nginx)
#   Rasa replica i   RASA_HOST:RASA_PORT+i      action server i   ACTION_HOST:ACTION_PORT+i
#   PostgreSQL 15    127.0.0.1:PG_PORT, data in CLUSTER_DIR/postgres (unless TRACKER_DB_HOST is set)
#   Redis            127.0.0.1:REDIS_PORT (unless REDIS_URL is set)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/processes.sh

for tool in nginx envsubst; do
  command -v "$tool" >/dev/null || { echo "make cluster needs $tool (make cluster-deps installs it)" >&2; exit 1; }
done
[[ -n "${REDIS_URL:-}" ]] || command -v redis-server >/dev/null \
  || { echo "make cluster needs redis-server (make cluster-deps) or REDIS_URL" >&2; exit 1; }

CLUSTER_DIR=$(realpath -m "${CLUSTER_DIR:-var/cluster}")
PAGE_PORT=${PAGE_PORT:-$((WEB_PORT + 1))}
ACTION_LB_PORT=${ACTION_LB_PORT:-$((ACTION_PORT + 100))}
secure_var
mkdir -p "$CLUSTER_DIR"
ensure_auth_token

declare -A role=()  # pid -> what it is ("rasa 0", "action 1", "nginx", ...)
local_postgres=""

stop() {
  trap - INT TERM EXIT
  for pid in "${!role[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -z "$local_postgres" ]] || deploy/postgres.sh stop "$local_postgres" "$PG_PORT" || true
  exit "${1:-0}"
}
trap 'stop 0' INT TERM
trap 'stop 1' EXIT

# The tracker store: every replica reads and writes the same PostgreSQL database.
export TRACKER_DB_DIALECT=postgresql
if [[ -z "${TRACKER_DB_HOST:-}" ]]; then
  local_postgres="$CLUSTER_DIR/postgres"
  deploy/postgres.sh start "$local_postgres" "$PG_PORT"
  export TRACKER_DB_HOST="127.0.0.1:$PG_PORT" TRACKER_DB=rasa TRACKER_DB_USER=rasa
  TRACKER_DB_PASSWORD=$(cat "$CLUSTER_DIR/postgres-password")
  export TRACKER_DB_PASSWORD
fi
[[ "$TRACKER_DB" != var/tracker.db ]] || export TRACKER_DB=rasa
# Each replica keeps a connection pool (Rasa's defaults, 50 + 100, would exhaust the server's 300 slots).
export SQL_POOL_SIZE=${SQL_POOL_SIZE:-10} SQL_MAX_OVERFLOW=${SQL_MAX_OVERFLOW:-20}

# The lock store: the replicas take a conversation's lock in Redis (rasa_server/lock_store.py).
if [[ -z "${REDIS_URL:-}" ]]; then
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --loglevel warning &
  role[$!]=redis
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT/1"
fi
export LOCK_STORE_URL="$REDIS_URL"
# Live chat: the page server signals the replicas when an agent's message is stored (common/live_signal.py).
export LIVE_CHAT_REDIS_URL="${LIVE_CHAT_REDIS_URL-$REDIS_URL}"
ENDPOINTS="$CLUSTER_DIR/endpoints.yml"
cat endpoints.yml endpoints-redis-lock.yml > "$ENDPOINTS"

# Every replica calls its actions through nginx, which skips an action server that is down.
export ACTION_ENDPOINT_URL="http://127.0.0.1:$ACTION_LB_PORT/webhook"

start() {  # start rasa|action I
  case "$1" in
    rasa) start_rasa_server $((RASA_PORT + $2)) "$ENDPOINTS" ;;
    action) start_action_server $((ACTION_PORT + $2)) ;;
  esac
  role[$!]="$1 $2"
}
rasa_servers="" action_servers="" rasa_urls=""
for ((i = 0; i < RASA_REPLICAS; i++)); do
  start action "$i"
  start rasa "$i"
  rasa_urls+="${rasa_urls:+,}http://$RASA_HOST:$((RASA_PORT + i))"
  rasa_servers+="        server $RASA_HOST:$((RASA_PORT + i)) max_fails=1 fail_timeout=5s;"$'\n'
  action_servers+="        server $ACTION_HOST:$((ACTION_PORT + i)) max_fails=1 fail_timeout=5s;"$'\n'
done

# The page server behind nginx: it tells the page that socket.io is on the page's own origin (RASA_PORT),
# and the operator console finds every replica's HTTP API in RASA_URLS.
nginx_port=$WEB_PORT
WEB_HOST=127.0.0.1 WEB_PORT=$PAGE_PORT RASA_PORT=$nginx_port RASA_URLS=$rasa_urls start_page_server
role[$!]="page server"

export CLUSTER_DIR WEB_HOST="${WEB_HOST:-127.0.0.1}" WEB_PORT PAGE_PORT ACTION_LB_PORT
RASA_SERVERS=$rasa_servers ACTION_SERVERS=$action_servers \
  envsubst '${CLUSTER_DIR} ${WEB_HOST} ${WEB_PORT} ${PAGE_PORT} ${ACTION_LB_PORT} ${RASA_SERVERS} ${ACTION_SERVERS}' \
  < deploy/nginx.conf.template > "$CLUSTER_DIR/nginx.conf"
nginx -c "$CLUSTER_DIR/nginx.conf" -p "$CLUSTER_DIR" -e stderr &
role[$!]=nginx

echo "Cluster starting: $RASA_REPLICAS replicas; chat page and REST at http://localhost:$WEB_PORT/ (ready in ~30 s)"
while true; do
  dead=""
  wait -n -p dead "${!role[@]}" || true
  [[ -n "$dead" ]] || continue
  what=${role[$dead]}
  unset "role[$dead]"
  case "$what" in
    rasa* | action*)
      echo "cluster: $what (pid $dead) exited; starting it again" >&2
      sleep 1
      start $what ;;
    *)
      echo "cluster: $what exited; stopping everything" >&2
      stop 1 ;;
  esac
done
