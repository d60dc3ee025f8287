#!/usr/bin/env bash
# Installs Debian's Chromium and ChromeDriver for the browser test (never a browser download).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
echo "[setup] installing Debian's chromium + chromium-driver for the browser test"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! command -v apt-get >/dev/null; then
  echo "[setup] apt-get not found: install Chromium yourself at /usr/bin/chromium; the browser test is skipped until then" >&2
  exit 0
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
echo "[setup] $(/usr/bin/chromium --version 2>/dev/null)"
