#!/bin/sh
# Installs the system programs the tests start for real: Chromium (browser tests, driven by
# playwright-core; test tools cannot download browsers here) and nats-server (NATS adapter and cluster
# tests). Debian packages, installed only when missing.
set -eu
missing=""
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || [ -x /usr/bin/nats-server ] || missing="$missing nats-server"
[ -z "$missing" ] && exit 0

echo "system-deps: installing$missing"
if [ "$(id -u)" = "0" ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
  echo "system-deps: need root or sudo to install$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq $missing >/dev/null
