#!/usr/bin/env bash
# Debian's chromium for the browser tests (tests/browser): Playwright drives it, since
# Playwright's own browser download cannot work here.  Installs it with apt-get when
# /usr/bin/chromium is missing (run `apt-get update` only if the install fails without it);
# does nothing when it is there.  `make browser` (and so `make test`) runs this.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
# Fonts for Latin, Cyrillic and Kazakh letters in screenshots; without recommends, since
# chromium's would bring a desktop's worth of daemons a headless run never uses.
PACKAGES=(chromium fonts-liberation fonts-dejavu-core)

[[ -x $CHROMIUM ]] && exit 0

fail() {
    echo >&2 "ensure-chromium: $*"
    echo >&2 "ensure-chromium: the browser tests need Debian's chromium at $CHROMIUM;" \
        "install it (as root: apt-get update && apt-get install chromium), then run make again"
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
trap 'rm -f "$log"' EXIT
APT=(apt-get -o DPkg::Lock::Timeout=300)  # wait for another apt run rather than fail
install() {
    "${SUDO[@]}" "${APT[@]}" install -y -qq --no-install-recommends "${PACKAGES[@]}" >"$log" 2>&1
}

echo "ensure-chromium: installing Debian's chromium with apt-get (once)"
if ! install; then
    "${SUDO[@]}" "${APT[@]}" update -qq >"$log" 2>&1 || { cat >&2 "$log"; fail "apt-get update failed"; }
    install || { cat >&2 "$log"; fail "apt-get install ${PACKAGES[*]} failed"; }
fi
[[ -x $CHROMIUM ]] || fail "apt-get finished but $CHROMIUM is still missing"
echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null || echo chromium) installed"
