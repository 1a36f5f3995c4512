#!/usr/bin/env bash
# Starts the action server, the Rasa server and the chat page; stops all three on Ctrl-C/SIGTERM
# or when any one of them exits. Called by `make run`, which sets the environment defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV_BIN=.venv/bin
# var/ holds the token and the conversations: private to this user (assistant/private_files.py).
umask 077
"$VENV_BIN/python" -m assistant.private_files var

# The HTTP API needs a token; without one from the environment, keep a random one in var/.
# Exported: the operators' deletion endpoint (assistant/privacy_api.py) checks the same token.
if [[ -z "${RASA_AUTH_TOKEN:-}" ]]; then
  [[ -s var/rasa-auth-token ]] || "$VENV_BIN/python" -c "import secrets; print(secrets.token_urlsafe(32))" > var/rasa-auth-token
  RASA_AUTH_TOKEN=$(cat var/rasa-auth-token)
fi
export RASA_AUTH_TOKEN  # the operator console and the privacy API use Rasa's HTTP API token

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

SANIC_HOST="$ACTION_HOST" "$VENV_BIN/python" -m rasa_sdk --actions actions --port "$ACTION_PORT" \
  --logging-config_file logging.yml &
pids+=($!)

# More than one Sanic worker (RASA_WORKERS > 1, e.g. `RASA_WORKERS=2 make run`) needs the workers to share
# conversation locks: Rasa's Redis lock store, on a local redis-server (Debian: apt-get install redis-server).
# The REST channel works with any worker; the chat page's socket.io long-polling wants one worker per client
# (sticky sessions), so the default stays one worker.
ENDPOINTS=endpoints.yml
if [[ "${RASA_WORKERS:-1}" -gt 1 ]]; then
  command -v redis-server >/dev/null || { echo "RASA_WORKERS > 1 needs redis-server (apt-get install redis-server)" >&2; exit 1; }
  export LOCK_STORE_PORT="${LOCK_STORE_PORT:-6379}" SANIC_WORKERS="$RASA_WORKERS"
  redis-server --bind 127.0.0.1 --port "$LOCK_STORE_PORT" --save "" --appendonly no &
  pids+=($!)
  ENDPOINTS=var/endpoints-workers.yml
  cat endpoints.yml endpoints-redis-lock.yml > "$ENDPOINTS"
fi

# No --cors: the chat page's origins (WEB_ORIGIN) reach Rasa only through the socket.io channel, which
# checks and answers CORS itself (credentials.yml). Sanic-CORS on top of it would send a second
# Access-Control-Allow-Origin header, and browsers then refuse every socket.io response.
"$VENV_BIN/rasa" run --model "$MODEL" --endpoints "$ENDPOINTS" --credentials credentials.yml \
  --interface "$RASA_HOST" --port "$RASA_PORT" --enable-api --auth-token="$RASA_AUTH_TOKEN" \
  --logging-config-file logging.yml &
pids+=($!)

if [[ -f web/server.py ]]; then
  "$VENV_BIN/python" -m web.server &
  pids+=($!)
fi

echo "Assistant starting: REST http://$RASA_HOST:$RASA_PORT/webhooks/rest/webhook (ready in ~20 s)"
[[ -f web/server.py ]] && echo "Chat page: http://localhost:$WEB_PORT/" && \
  echo "Operator console: http://localhost:$WEB_PORT/ops/ (token: \$OPS_TOKEN or var/ops-token)"
wait -n "${pids[@]}"
