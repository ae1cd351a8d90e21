#!/bin/sh
# The main job: the reference server with the demo chat page, on http://127.0.0.1:8080/ by default.
# Flags pass through (e.g. `npm start -- --port 9000`); see apps/reference-server/README.md.
# Each step says what it does: the first run installs and builds for a minute or two.
set -eu
cd "$(dirname "$0")/.."
echo "lifeline: 1/3 installing dependencies (the first run takes a minute or so)"
sh scripts/bootstrap.sh
echo "lifeline: 2/3 building the packages, the server and the demo (a line per package; cached afterwards)"
export TURBO_TELEMETRY_DISABLED=1
pnpm exec turbo run build --filter @lifeline/reference-server... --output-logs=hash-only
echo "lifeline: 3/3 starting the reference server"
exec node apps/reference-server/dist/main.js "$@"
