#!/usr/bin/env bash
# The commands that start the assistant's processes, written once: sourced by scripts/run.sh (`make run`) and
# deploy/cluster.sh (`make cluster`), executed by devtools/servers.py (tests, benchmarks). Environment as the
# Makefile sets it.

VENV_BIN=.venv/bin

# var/ holds the token and the conversations: private to this user (common/private_files.py), and
# everything created later private too (umask 077).
secure_var() {
  umask 077
  "$VENV_BIN/python" -m common.private_files var
}

# The HTTP API needs a token; without one from the environment, keep a random one in var/.
# Exported: the operators' deletion endpoint (rasa_server/privacy_api.py) and the operator console use it.
ensure_auth_token() {
  if [[ -z "${RASA_AUTH_TOKEN:-}" ]]; then
    [[ -s var/rasa-auth-token ]] || "$VENV_BIN/python" -c "import secrets; print(secrets.token_urlsafe(32))" > var/rasa-auth-token
    RASA_AUTH_TOKEN=$(cat var/rasa-auth-token)
  fi
  export RASA_AUTH_TOKEN
}

# Each run_* execs its process in the foreground; start_* runs it in the background of the calling shell
# (its pid is then in $!). Executed rather than sourced, this file runs one of them:
#   scripts/processes.sh action PORT | rasa PORT ENDPOINTS_FILE [ARGS…] | page
# which is how devtools/servers.py starts the same processes for tests and benchmarks.

# run_action_server PORT
run_action_server() {
  SANIC_HOST="$ACTION_HOST" exec "$VENV_BIN/python" -m rasa_sdk --actions actions --port "$1" \
    --logging-config_file logging.yml
}

# run_rasa_server PORT ENDPOINTS_FILE [more rasa run arguments]
# `python -m rasa_server` is Rasa's own command line after the version check and the patches
# (rasa_server/rasa_internals.py); RASA_COMMAND replaces it, e.g. with .venv/bin/rasa to measure stock Rasa.
# No --cors: the chat page's origins (WEB_ORIGIN) reach Rasa only through the socket.io channel, which
# checks and answers CORS itself (credentials.yml). Sanic-CORS on top of it would send a second
# Access-Control-Allow-Origin header, and browsers then refuse every socket.io response.
# --auth-token=TOKEN, not two words: a random token may start with "-".
# OMP_NUM_THREADS=1: the sentence embedding's OpenMP threads would otherwise fight the server's other
# work and the other replica for the same cores (one embedding at a time is faster on one thread); the
# server uses the cores by embedding NLU_THREADS messages at once instead (rasa_internals.py, patch 8).
run_rasa_server() {
  local command
  read -r -a command <<< "${RASA_COMMAND:-$VENV_BIN/python -m rasa_server}"
  OMP_NUM_THREADS=1 exec "${command[@]}" run --model "$MODEL" --endpoints "$2" --credentials credentials.yml \
    --interface "$RASA_HOST" --port "$1" --enable-api --auth-token="$RASA_AUTH_TOKEN" \
    --logging-config-file logging.yml "${@:3}"
}

run_page_server() {
  exec "$VENV_BIN/python" -m web.server
}

start_action_server() { run_action_server "$@" & }
start_rasa_server() { run_rasa_server "$@" & }
start_page_server() { run_page_server & }

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  cd "$(dirname "$0")/.."
  role=$1
  shift
  case "$role" in
    action) run_action_server "$@" ;;
    rasa) run_rasa_server "$@" ;;
    page) run_page_server ;;
    *) echo "usage: $0 action PORT | rasa PORT ENDPOINTS_FILE [ARGS…] | page" >&2; exit 2 ;;
  esac
fi
