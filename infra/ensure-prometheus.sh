#!/usr/bin/env bash
# Debian's prometheus for the observability tests (tests/observability): a real Prometheus
# scrapes a running API and worker, and promtool checks and unit-tests the alert rules in
# infra/prometheus/.  Installs the package with apt-get when `prometheus` or `promtool` is
# missing (run `apt-get update` only if the install fails without it); does nothing when both
# are there.  `make prometheus` (and so `make test`) runs this.
#
# The package's own service is not started: the tests start their own Prometheus, on a free
# port with a throwaway data folder.  Where no policy-rc.d keeps services from starting (a
# container usually has one), one is put in place for the install and removed after it.
set -euo pipefail

PACKAGES=(prometheus)  # promtool ships in the same package

command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 && exit 0

fail() {
    echo >&2 "ensure-prometheus: $*"
    echo >&2 "ensure-prometheus: the observability tests need Debian's prometheus (prometheus" \
        "and promtool on PATH); install it (as root: apt-get update && apt-get install" \
        "--no-install-recommends prometheus), then run make again"
    exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "apt-get is missing (not a Debian machine?)"
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null \
        || fail "not root, and sudo cannot run apt-get without a password"
    SUDO=(sudo -n)
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
POLICY=/usr/sbin/policy-rc.d
placed_policy=false
cleanup() {
    rm -f "$log"
    if $placed_policy; then "${SUDO[@]}" rm -f "$POLICY"; fi
}
trap cleanup EXIT
if [[ ! -e $POLICY ]]; then
    # exit 101: "action forbidden", so dpkg's invoke-rc.d starts no prometheus daemon.
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod 755 "$POLICY"
    placed_policy=true
fi

APT=(apt-get -o DPkg::Lock::Timeout=300)  # wait for another apt run rather than fail
install() {
    # Without recommends: they bring node-exporter and its timers, which a test never uses.
    "${SUDO[@]}" "${APT[@]}" install -y -qq --no-install-recommends "${PACKAGES[@]}" >"$log" 2>&1
}

echo "ensure-prometheus: installing Debian's prometheus with apt-get (once)"
if ! install; then
    "${SUDO[@]}" "${APT[@]}" update -qq >"$log" 2>&1 || { cat >&2 "$log"; fail "apt-get update failed"; }
    install || { cat >&2 "$log"; fail "apt-get install ${PACKAGES[*]} failed"; }
fi
command -v prometheus >/dev/null 2>&1 || fail "apt-get finished but prometheus is still missing"
command -v promtool >/dev/null 2>&1 || fail "apt-get finished but promtool is still missing"
echo "ensure-prometheus: $(prometheus --version 2>&1 | head -n 1) installed"
