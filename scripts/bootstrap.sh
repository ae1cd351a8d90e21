#!/bin/sh
# Makes a fresh machine (Debian, Node 20, nothing else) ready: the pinned pnpm, then the workspace's
# dependencies from the lockfile. Idempotent and quick when everything is already there.
set -eu
cd "$(dirname "$0")/.."

want=$(node -p "require('./package.json').packageManager.split('@')[1]")
have=$(pnpm --version 2>/dev/null || true)
if [ "$have" != "$want" ]; then
  echo "bootstrap: installing pnpm $want (corepack's signature check fails on this registry, so npm)"
  npm install --global --no-fund --no-audit "pnpm@$want" >/dev/null
fi

export TURBO_TELEMETRY_DISABLED=1
pnpm install --frozen-lockfile --prefer-offline --reporter=append-only
