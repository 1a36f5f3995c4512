# The commands that start the assistant's processes, sourced by scripts/run.sh (`make run`) and
# deploy/cluster.sh (`make cluster`) so both start them the same way. Each start_* runs its process
# in the background of the calling shell (its pid is then in $!). Environment as the Makefile sets it.

VENV_BIN=.venv/bin

# var/ holds the token and the conversations: private to this user (assistant/private_files.py), and
# everything created later private too (umask 077).
secure_var() {
  umask 077
  "$VENV_BIN/python" -m assistant.private_files var
}

# The HTTP API needs a token; without one from the environment, keep a random one in var/.
# Exported: the operators' deletion endpoint (assistant/privacy_api.py) and the operator console use it.
ensure_auth_token() {
  if [[ -z "${RASA_AUTH_TOKEN:-}" ]]; then
    [[ -s var/rasa-auth-token ]] || "$VENV_BIN/python" -c "import secrets; print(secrets.token_urlsafe(32))" > var/rasa-auth-token
    RASA_AUTH_TOKEN=$(cat var/rasa-auth-token)
  fi
  export RASA_AUTH_TOKEN
}

# start_action_server PORT
start_action_server() {
  SANIC_HOST="$ACTION_HOST" "$VENV_BIN/python" -m rasa_sdk --actions actions --port "$1" \
    --logging-config_file logging.yml &
}

# start_rasa_server PORT ENDPOINTS_FILE
# No --cors: the chat page's origins (WEB_ORIGIN) reach Rasa only through the socket.io channel, which
# checks and answers CORS itself (credentials.yml). Sanic-CORS on top of it would send a second
# Access-Control-Allow-Origin header, and browsers then refuse every socket.io response.
# --auth-token=TOKEN, not two words: a random token may start with "-".
# OMP_NUM_THREADS=1: the sentence embedding's OpenMP threads would otherwise fight the server's other
# work and the other replica for the same cores (one embedding at a time is faster on one thread).
start_rasa_server() {
  OMP_NUM_THREADS=1 "$VENV_BIN/rasa" run --model "$MODEL" --endpoints "$2" --credentials credentials.yml \
    --interface "$RASA_HOST" --port "$1" --enable-api --auth-token="$RASA_AUTH_TOKEN" \
    --logging-config-file logging.yml &
}

start_page_server() {
  "$VENV_BIN/python" -m web.server &
}
