#!/usr/bin/env bash
# Starts the action server and the Rasa server on 127.0.0.1 and stops both on Ctrl-C.
# Settings (environment): RASA_HOST, RASA_PORT (5005), ACTIONS_HOST, ACTIONS_PORT (5055),
# CLINIC_TRACKER_DB (var/tracker.db), CLINIC_API_TOKEN (enables Rasa's HTTP API with that token).
# With a staff password (CLINIC_STAFF_PASSWORD or var/staff-password) it also starts the staff
# page (CLINIC_STAFF_HOST / CLINIC_STAFF_PORT, default 127.0.0.1:5006).
# The terminal gets a short progress log and the ready line; what the servers print (their logs,
# Rasa's dependency warnings) goes to var/log/rasa.log, var/log/actions.log, var/log/staff.log
# (CLINIC_LOG_DIR), written anew at each start. A server that stops shows its last lines here.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export RASA_HOST="${RASA_HOST:-127.0.0.1}" RASA_PORT="${RASA_PORT:-5005}"
export ACTIONS_HOST="${ACTIONS_HOST:-127.0.0.1}" ACTIONS_PORT="${ACTIONS_PORT:-5055}"
export ACTION_ENDPOINT_URL="${ACTION_ENDPOINT_URL:-http://$ACTIONS_HOST:$ACTIONS_PORT/webhook}"
export CLINIC_TRACKER_DB="${CLINIC_TRACKER_DB:-$PWD/var/tracker.db}"
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1 RASA_TELEMETRY_ENABLED=false
LOG_DIR="${CLINIC_LOG_DIR:-var/log}"
mkdir -p var "$LOG_DIR"
say() { printf '\033[1m[run]\033[0m %s\n' "$*"; }

pid_logs=()  # "pid log" pairs, to show the right log when a server stops
last_lines() {  # the last lines of the log of the server with PID $1
  local entry
  for entry in "${pid_logs[@]}"; do
    if [ "${entry%% *}" = "$1" ]; then
      say "last lines of ${entry#* }:"
      tail -n 15 "${entry#* }" | sed 's/^/    /'
    fi
  done
}

pids=()
stop() {
  trap - INT TERM EXIT
  if [ "${#pids[@]}" -gt 0 ]; then
    say "stopping (PIDs ${pids[*]})"
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap 'stop; exit 130' INT  # Ctrl-C: stop the servers, no server log shown
trap 'stop; exit 143' TERM
trap stop EXIT

say "starting the action server on $ACTIONS_HOST:$ACTIONS_PORT (log: $LOG_DIR/actions.log)"
# = `python -m rasa_sdk` + this process's request delivery worker and daily purge.
SANIC_HOST="$ACTIONS_HOST" $PY -m clinic_requests.action_server --actions actions --port "$ACTIONS_PORT" \
  >"$LOG_DIR/actions.log" 2>&1 &
pids+=($!); pid_logs+=("$! $LOG_DIR/actions.log")

api_args=()
if [ -n "${CLINIC_API_TOKEN:-}" ]; then
  api_args=(--enable-api --auth-token "$CLINIC_API_TOKEN")
  say "Rasa's HTTP API is enabled (token required)"
fi
say "starting the Rasa server on $RASA_HOST:$RASA_PORT (log: $LOG_DIR/rasa.log; loading the model takes about 20 s)"
# clinic_runtime = `rasa run` with our documented speed-ups (clinic_runtime/__init__.py).
$PY -m clinic_runtime run --interface "$RASA_HOST" --port "$RASA_PORT" --model models/clinic-assistant.tar.gz \
  --credentials credentials.yml --endpoints endpoints.yml "${api_args[@]}" >"$LOG_DIR/rasa.log" 2>&1 &
pids+=($!); pid_logs+=("$! $LOG_DIR/rasa.log")

staff_line=""
if $PY -c 'import sys; from clinic_staff.settings import password_configured; sys.exit(0 if password_configured() else 1)'; then
  export CLINIC_STAFF_HOST="${CLINIC_STAFF_HOST:-127.0.0.1}" CLINIC_STAFF_PORT="${CLINIC_STAFF_PORT:-5006}"
  say "starting the staff page on $CLINIC_STAFF_HOST:$CLINIC_STAFF_PORT (log: $LOG_DIR/staff.log)"
  $PY -m clinic_staff >"$LOG_DIR/staff.log" 2>&1 &
  pids+=($!); pid_logs+=("$! $LOG_DIR/staff.log")
  staff_line="   Staff page: http://$CLINIC_STAFF_HOST:$CLINIC_STAFF_PORT/"
else
  say "no staff password (CLINIC_STAFF_PASSWORD or var/staff-password): the staff page is not started"
fi

URL="http://$RASA_HOST:$RASA_PORT"
ready=""
for _ in $(seq 1 180); do
  # The readiness check: 200 once the model is loaded, 503 from a server that has no model.
  status=$(curl -sS -o /dev/null -w '%{http_code}' "$URL/webhooks/website/health" 2>/dev/null || true)
  if [ "$status" = 200 ]; then
    say "ready. Chat page: $URL/webhooks/website/   REST: POST $URL/webhooks/website/webhook$staff_line   (Ctrl-C stops)"
    ready=1
    break
  fi
  if [ "$status" = 503 ]; then
    say "the Rasa server is up but could not load the model (make model trains one)"
    last_lines "${pids[1]}"
    exit 1
  fi
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { say "a server exited during start-up"; last_lines "$pid"; exit 1; }
  done
  sleep 1
done
if [ -z "$ready" ]; then
  say "the Rasa server did not answer within 180 s"
  last_lines "${pids[1]}"
  exit 1
fi
set +e
wait -n "${pids[@]}"
set -e
for pid in "${pids[@]}"; do
  kill -0 "$pid" 2>/dev/null || { say "a server stopped"; last_lines "$pid"; }
done
say "stopping the others"
