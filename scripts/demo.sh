#!/usr/bin/env bash
# The main job on the embedded default, as `npm start` runs it: a what-if simulation of the bundled real trace
# (Azure LLM inference, code, 1 hour) under the default policy and every baseline; prints the comparison table and
# writes out/report/report.{json,md,html}, replacing an earlier demo report there (--force). Extra arguments go to
# `pd-planner simulate`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund >&2
exec node bin/pd-planner.js simulate --rate-scale 2 --force "$@"
