#!/usr/bin/env bash
# `npm test`: the whole suite against real services. Starts the test profile's Postgres clusters and
# Kafka broker (installing what they need on first use), type-checks, runs vitest, stops the
# services again, and ends with the line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export STACK_SYNC_PROFILE=test

if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund || { echo "0 passed, 1 failed"; exit 1; }
fi
# An existing node_modules may predate a dependency patch: apply them (idempotent, no network).
node infra/dependency-patches/apply.mjs || { echo "0 passed, 1 failed"; exit 1; }

mkdir -p test-results
rm -f test-results/vitest.json test-results/vitest-solo.json

stop_services() {
  [ "${STACK_SYNC_KEEP_INFRA:-0}" = "1" ] || npx tsx infra/cli.ts down
}
trap 'stop_services; exit 130' INT TERM

if ! npx tsx infra/cli.ts up; then
  stop_services
  echo "0 passed, 1 failed"
  exit 1
fi

typecheck_failed=0
if ! npx tsc --noEmit -p .; then
  echo "type check failed"
  typecheck_failed=1
fi

npx vitest run --reporter=default --reporter=json --outputFile=test-results/vitest.json
vitest_status=$?

# Second pass: tests that load the whole machine, one at a time (see vitest.config.ts).
STACK_SYNC_SOLO=1 npx vitest run --reporter=default --reporter=json --outputFile=test-results/vitest-solo.json
solo_status=$?

stop_services
npx tsx infra/test-summary.ts "$typecheck_failed" test-results/vitest.json "$vitest_status" test-results/vitest-solo.json "$solo_status"
