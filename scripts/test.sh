#!/usr/bin/env bash
# The whole test suite, as `npm test` runs it. Works on a fresh Debian machine by itself: installs node modules and
# the Debian tools the tests use (nats-server, prometheus, kubectl, chromium) when they are missing, then typechecks, lints and
# runs vitest. The manifest tests render deploy/ with every kubectl in PD_PLANNER_KUBECTLS (scripts/test-tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/test-tools.sh

pd_install_test_tools
[ -d node_modules ] || npm ci --no-audit --no-fund
PD_PLANNER_KUBECTLS=${PD_PLANNER_KUBECTLS:-$(pd_kubectls)}
export PD_PLANNER_KUBECTLS
echo "rendering deploy/ with: ${PD_PLANNER_KUBECTLS//:/ and }" >&2

npx tsc --noEmit -p .
npx eslint src test bench
npx vitest run "$@"
