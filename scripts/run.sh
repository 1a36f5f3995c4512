#!/usr/bin/env bash
# Starts the action server, the Rasa server and the chat page; stops all three on Ctrl-C/SIGTERM
# or when any one of them exits. Called by `make run`, which sets the environment defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/processes.sh

secure_var
ensure_auth_token

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

start_action_server "$ACTION_PORT"
pids+=($!)

# More than one Sanic worker (RASA_WORKERS > 1, e.g. `RASA_WORKERS=2 make run`) needs the workers to share
# conversation locks: a Redis lock store (rasa_server/lock_store.py), on a local redis-server (Debian: apt-get
# install redis-server). The REST channel works with any worker; the chat page's socket.io long-polling wants
# one worker per client (sticky sessions), so the default stays one worker.
ENDPOINTS=endpoints.yml
if [[ "${RASA_WORKERS:-1}" -gt 1 ]]; then
  command -v redis-server >/dev/null || { echo "RASA_WORKERS > 1 needs redis-server (apt-get install redis-server)" >&2; exit 1; }
  LOCK_STORE_PORT="${LOCK_STORE_PORT:-6379}"
  export LOCK_STORE_URL="redis://127.0.0.1:$LOCK_STORE_PORT/1" SANIC_WORKERS="$RASA_WORKERS"
  redis-server --bind 127.0.0.1 --port "$LOCK_STORE_PORT" --save "" --appendonly no &
  pids+=($!)
  ENDPOINTS=var/endpoints-workers.yml
  cat endpoints.yml endpoints-redis-lock.yml > "$ENDPOINTS"
fi

start_rasa_server "$RASA_PORT" "$ENDPOINTS"
pids+=($!)

start_page_server
pids+=($!)

echo "Assistant starting: REST http://$RASA_HOST:$RASA_PORT/webhooks/rest/webhook (ready in ~20 s)"
echo "Chat page: http://localhost:$WEB_PORT/"
echo "Operator console: http://localhost:$WEB_PORT/ops/ (token: \$OPS_TOKEN or var/ops-token)"
wait -n "${pids[@]}"
