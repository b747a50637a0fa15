#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages rpchost needs for a purpose, when missing.
#   tools/deps.sh build|test|bench|deb
# As root it runs apt-get; otherwise it prints the command to run.
set -eu

purpose=${1:-build}
pkgs="cmake make gcc pkg-config libevent-dev libcjson-dev libinih-dev libssl-dev"
deb="dpkg-dev debhelper fakeroot"
# test: prometheus is there for promtool (tests/integration/test_metrics.py
# checks the /metrics exposition with it, and skips without it); groff-base
# and man-db render the manual pages (tests/integration/test_manpages.py);
# the deb set builds the Debian packages (make deb), and the test set
# includes it with lintian and systemd (systemd-analyze) to check them
# (tests/integration/test_package.py).
case "$purpose" in
build) ;;
test) pkgs="$pkgs libcmocka-dev python3 clang-format clang libclang-rt-14-dev nginx valgrind nodejs npm slowhttptest iproute2 curl python3-jsonrpclib-pelix git prometheus groff-base man-db $deb lintian systemd" ;;
deb) pkgs="$pkgs $deb" ;;
bench) pkgs="$pkgs wrk python3 valgrind util-linux iproute2 linux-perf g++ libjsonrpccpp-dev nginx nodejs npm" ;;
*) echo "usage: $0 build|test|bench|deb" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
    # Node.js may come from elsewhere than Debian (with its own npm, which
    # conflicts with Debian's npm package): a working command is enough.
    case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "rpchost: missing Debian packages:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
    echo "rpchost: install them with: sudo apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists once if they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
    apt-get update -q
fi
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
