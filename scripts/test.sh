#!/usr/bin/env bash
# The whole test suite, as `npm test` runs it. Works on a fresh Debian machine by itself:
# installs node modules, nats-server and prometheus when they are missing, then typechecks, lints and runs vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need_apt+=(nats-server)
command -v prometheus >/dev/null 2>&1 || [ -x /usr/bin/prometheus ] || need_apt+=(prometheus)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]} from Debian" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
[ -d node_modules ] || npm ci --no-audit --no-fund

npx tsc --noEmit -p .
npx eslint src test bench
npx vitest run "$@"
