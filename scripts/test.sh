#!/bin/sh
# Every test: lint, typecheck and vitest in every package (turbo), generated files in sync, and the
# public packages as they would be published. This is what CI runs.
set -eu
cd "$(dirname "$0")/.."
sh scripts/bootstrap.sh
sh scripts/system-deps.sh
export TURBO_TELEMETRY_DISABLED=1
pnpm exec biome ci scripts .ci
pnpm exec turbo run build typecheck lint --output-logs=errors-only
# Tests one package at a time: several suites run real servers on real time, and must not starve.
pnpm exec turbo run test --concurrency=1 --output-logs=errors-only
# The core's tests must catch deliberate bugs, each applied alone to a copy (table in artifacts/mutants.md).
node scripts/mutants.mjs
# The benchmarks' short variant: every scenario must still run, and the budgets hold (complexity flat
# within 3x: per message from 10^3 to 10^6 messages, per publish from 10 to 1,000 sessions away, per
# de-dup admit from 1k to 16k ids). Ratios of one run only; no absolute time is asserted.
pnpm --filter @lifeline/bench bench --quick
node scripts/check-packages.mjs
sh examples/python-client/run_tests.sh
node scripts/rule-coverage.mjs --fail-on-must --out artifacts/rule-coverage.md
node scripts/install-test.mjs
