#!/bin/sh
# The main job. For now: build the protocol package and measure its codec against JSON.parse.
set -eu
cd "$(dirname "$0")/.."
sh scripts/bootstrap.sh
export TURBO_TELEMETRY_DISABLED=1
pnpm exec turbo run build --filter @lifeline/protocol --output-logs=errors-only
pnpm --filter @lifeline/protocol run bench
