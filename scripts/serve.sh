#!/usr/bin/env bash
# Starts the action server and the Rasa server on 127.0.0.1 and stops both on Ctrl-C.
# Settings (environment): RASA_HOST, RASA_PORT (5005), ACTIONS_HOST, ACTIONS_PORT (5055),
# CLINIC_TRACKER_DB (var/tracker.db), CLINIC_API_TOKEN (enables Rasa's HTTP API with that token).
# With a staff password (CLINIC_STAFF_PASSWORD or var/staff-password) it also starts the staff
# page (CLINIC_STAFF_HOST / CLINIC_STAFF_PORT, default 127.0.0.1:5006).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export RASA_HOST="${RASA_HOST:-127.0.0.1}" RASA_PORT="${RASA_PORT:-5005}"
export ACTIONS_HOST="${ACTIONS_HOST:-127.0.0.1}" ACTIONS_PORT="${ACTIONS_PORT:-5055}"
export ACTION_ENDPOINT_URL="${ACTION_ENDPOINT_URL:-http://$ACTIONS_HOST:$ACTIONS_PORT/webhook}"
export CLINIC_TRACKER_DB="${CLINIC_TRACKER_DB:-$PWD/var/tracker.db}"
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1 RASA_TELEMETRY_ENABLED=false
mkdir -p var
say() { printf '\033[1m[run]\033[0m %s\n' "$*"; }

pids=()
stop() {
  trap - INT TERM EXIT
  if [ "${#pids[@]}" -gt 0 ]; then
    say "stopping (PIDs ${pids[*]})"
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap stop INT TERM EXIT

say "starting the action server on $ACTIONS_HOST:$ACTIONS_PORT"
# = `python -m rasa_sdk` + this process's request delivery worker and daily purge.
SANIC_HOST="$ACTIONS_HOST" $PY -m clinic_requests.action_server --actions actions --port "$ACTIONS_PORT" &
pids+=($!)

api_args=()
if [ -n "${CLINIC_API_TOKEN:-}" ]; then
  api_args=(--enable-api --auth-token "$CLINIC_API_TOKEN")
  say "Rasa's HTTP API is enabled (token required)"
fi
say "starting the Rasa server on $RASA_HOST:$RASA_PORT (loading the model takes about 20 s)"
# clinic_runtime = `rasa run` with our documented speed-ups (clinic_runtime/__init__.py).
$PY -m clinic_runtime run --interface "$RASA_HOST" --port "$RASA_PORT" --model models/clinic-assistant.tar.gz \
  --credentials credentials.yml --endpoints endpoints.yml "${api_args[@]}" &
pids+=($!)

staff_line=""
if $PY -c 'import sys; from clinic_staff.settings import password_configured; sys.exit(0 if password_configured() else 1)'; then
  export CLINIC_STAFF_HOST="${CLINIC_STAFF_HOST:-127.0.0.1}" CLINIC_STAFF_PORT="${CLINIC_STAFF_PORT:-5006}"
  say "starting the staff page on $CLINIC_STAFF_HOST:$CLINIC_STAFF_PORT"
  $PY -m clinic_staff &
  pids+=($!)
  staff_line="   Staff page: http://$CLINIC_STAFF_HOST:$CLINIC_STAFF_PORT/"
else
  say "no staff password (CLINIC_STAFF_PASSWORD or var/staff-password): the staff page is not started"
fi

URL="http://$RASA_HOST:$RASA_PORT"
for _ in $(seq 1 180); do
  if curl -fsS "$URL/webhooks/website/" >/dev/null 2>&1 || curl -fsS "$URL/webhooks/rest/" >/dev/null 2>&1; then
    say "ready. Chat page: $URL/webhooks/website/   REST: POST $URL/webhooks/website/webhook$staff_line   (Ctrl-C stops)"
    break
  fi
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { say "a server exited during start-up (see above)"; exit 1; }
  done
  sleep 1
done
wait -n "${pids[@]}"
say "a server stopped; stopping the others"
