#!/usr/bin/env bash
# Installs the Debian packages the tests need, once (apt-get only when something is missing):
#   chromium + chromium-driver  the browser test (never a browser download)
#   postgresql, redis-server, nginx  the scaled setup and its fault tests (docs/deploy.md)
# The servers are not started here: the tests and `make run-scaled` start their own on 127.0.0.1.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi
echo "[setup] installing Debian's ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! command -v apt-get >/dev/null; then
  echo "[setup] apt-get not found: install ${missing[*]} yourself (the browser and fault tests need them)" >&2
  exit 1
fi
$SUDO apt-get update -qq
# policy-rc.d-less containers print "invoke-rc.d: ... not running": harmless, nothing starts.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "[setup] installed ${missing[*]}"
