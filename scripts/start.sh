#!/bin/sh
# The main job: the reference server with the demo chat page, on http://127.0.0.1:8080/ by default.
# Flags pass through (e.g. `npm start -- --port 9000`); see apps/reference-server/README.md.
set -eu
cd "$(dirname "$0")/.."
sh scripts/bootstrap.sh
export TURBO_TELEMETRY_DISABLED=1
pnpm exec turbo run build --filter @lifeline/reference-server... --output-logs=errors-only
exec node apps/reference-server/dist/main.js "$@"
