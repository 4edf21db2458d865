#!/usr/bin/env bash
# The Debian tools the tests use, installed when missing: nats-server, prometheus, kubectl (package
# kubernetes-client), and chromium (report.html as a browser draws it: test/integration/report-browser.test.ts).
# Then PD_PLANNER_KUBECTLS: every kubectl the manifest tests render deploy/ with, separated by ":".
# Besides the kubectl on PATH, that is Debian 12's kubernetes-client (kubectl 1.20, whose embedded kustomize is the
# oldest a Debian machine has), unpacked into node_modules/.cache without installing it, so the kustomizations are
# known to render with it whichever kubectl this machine has.
# .ci/run runs it (the installs); scripts/test.sh sources it and calls pd_install_test_tools and pd_kubectls.

PD_SUDO=""
[ "$(id -u)" = 0 ] || PD_SUDO="sudo"
PD_APT_UPDATED=""

pd_apt_update() {
  [ -n "$PD_APT_UPDATED" ] && return 0
  $PD_SUDO apt-get update -qq
  PD_APT_UPDATED=1
}

# apt-get install that never leaves a package half-installed: when it fails (a file conflict with another package,
# a broken mirror), every package dpkg left unpacked or half-configured is configured or purged again, then it fails.
pd_apt_install() {
  pd_apt_update
  echo "installing $* from Debian" >&2
  if DEBIAN_FRONTEND=noninteractive $PD_SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null; then
    return 0
  fi
  echo "apt-get install $* failed; undoing the partial install" >&2
  local pkg status
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in
      "" | "install ok installed" | *not-installed | *config-files) ;;
      *) $PD_SUDO dpkg --purge --force-remove-reinstreq "$pkg" >&2 || true ;;
    esac
  done
  # Dependencies the failed run unpacked but did not configure.
  $PD_SUDO dpkg --configure -a >&2 || true
  return 1
}

pd_have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }

pd_install_test_tools() {
  local need=()
  pd_have nats-server || need+=(nats-server)
  pd_have prometheus || need+=(prometheus)
  # Only when no kubectl is there: another package's kubectl (google-cloud-sdk's, say) owns /usr/bin/kubectl, and
  # installing kubernetes-client over it fails with a dpkg file conflict.
  pd_have kubectl || need+=(kubernetes-client)
  pd_have chromium || need+=(chromium)
  [ ${#need[@]} -eq 0 ] || pd_apt_install "${need[@]}"
}

# Prints the path of Debian's kubectl from kubernetes-client, unpacked (not installed) under node_modules/.cache;
# prints nothing (and says why on stderr) when it cannot be had.
pd_debian_kubectl() {
  local dir="$PWD/node_modules/.cache/kubernetes-client"
  if [ ! -x "$dir/usr/bin/kubectl" ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "note: no apt-get here, so the manifests are not also rendered with Debian's kubectl 1.20" >&2
      return 0
    fi
    apt-cache show kubernetes-client >/dev/null 2>&1 || pd_apt_update
    local tmp
    tmp=$(mktemp -d)
    if (cd "$tmp" && apt-get download -qq kubernetes-client 2>"$tmp/stderr") && dpkg -x "$tmp"/kubernetes-client_*.deb "$tmp/root"; then
      rm -rf "$dir" && mkdir -p "$(dirname "$dir")" && mv "$tmp/root" "$dir"
    else
      echo "warning: could not download Debian's kubernetes-client; the manifests are rendered with the kubectl on PATH only" >&2
      cat "$tmp/stderr" >&2 2>/dev/null || true
    fi
    rm -rf "$tmp"
  fi
  [ -x "$dir/usr/bin/kubectl" ] && echo "$dir/usr/bin/kubectl"
  return 0
}

pd_kubectls() {
  local path debian
  path=$(command -v kubectl || true)
  # The kubectl on PATH is Debian's already: nothing to add.
  if [ -n "$path" ] && dpkg-query -S "$(readlink -f "$path")" 2>/dev/null | grep -q '^kubernetes-client:'; then
    echo "$path"
    return 0
  fi
  debian=$(pd_debian_kubectl)
  local list=()
  [ -n "$path" ] && list+=("$path")
  [ -n "$debian" ] && list+=("$debian")
  (IFS=:; echo "${list[*]}")
}

# Run (not sourced): install what is missing. Sourced, it only defines the functions above.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  cd "$(dirname "$0")/.."
  pd_install_test_tools
fi
