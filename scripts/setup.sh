#!/usr/bin/env bash
# Sets up what is missing, and only that: Python 3.10 venv, pinned packages, offline spaCy pipeline.
# Usage: scripts/setup.sh [runtime|dev]   (dev adds the test tools)
set -euo pipefail
cd "$(dirname "$0")/.."
LEVEL="${1:-runtime}"
VENV=.venv
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

find_python310() {
  if [ -n "${PYTHON310:-}" ] && [ -x "$PYTHON310" ]; then echo "$PYTHON310"; return; fi
  local candidate
  for candidate in $(command -v python3.10 2>/dev/null) "$HOME"/.pyenv/versions/3.10.*/bin/python3.10; do
    if [ -x "$candidate" ] && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
}

if [ ! -x "$VENV/bin/python" ]; then
  PY=$(find_python310)
  if [ -z "$PY" ]; then
    cat >&2 <<'MSG'
[setup] Python 3.10 was not found. Rasa 3.6 runs only on Python 3.10 (it refuses 3.11+).
        Install it, then run the command again. Any one of these works:
          - pyenv:   pyenv install 3.10.13          (it will be found under ~/.pyenv/versions/3.10.*)
          - Debian/Ubuntu (deadsnakes or a release that ships it):  apt-get install python3.10 python3.10-venv
        Or point PYTHON310=/path/to/python3.10 at an existing interpreter.
MSG
    exit 1
  fi
  say "creating $VENV with $PY"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade "pip==24.2" "wheel==0.45.1" "setuptools==70.3.0"
fi

# Install only when the requirement files changed since the last successful install.
REQ_FILE=requirements.txt
[ "$LEVEL" = dev ] && REQ_FILE=requirements-dev.txt
STAMP="$VENV/.installed-$LEVEL"
HASH=$(cat constraints.txt requirements*.txt actions/requirements-actions.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$HASH" ]; then
  say "installing pinned packages ($REQ_FILE + constraints.txt); the first time takes about 2 minutes"
  "$VENV/bin/python" -m pip install --progress-bar off --disable-pip-version-check \
    -r "$REQ_FILE" -c constraints.txt 2>&1 | grep -E "^(Collecting|Successfully|ERROR)" | sed 's/^/  /' || true
  "$VENV/bin/python" -m pip check >/dev/null || { "$VENV/bin/python" -m pip check; exit 1; }
  echo "$HASH" > "$STAMP"
else
  say "packages up to date"
fi

# The offline spaCy pipeline (blank English + lookup lemmatizer), rebuilt when its script changes.
"$VENV/bin/python" scripts/build_spacy_pipeline.py
