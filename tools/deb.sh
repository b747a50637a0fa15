#!/bin/sh
# SPDX-License-Identifier: MIT
# Build rpchost's Debian packages (`make deb`):
#   tools/deb.sh [OUT]        (OUT: default build-deb)
# Copies the source tree (git's files, committed or not, without ignored
# ones) into OUT/rpchost and runs `dpkg-buildpackage -b` there (debian/),
# so the packages land in OUT: rpchost, rpchost-dev, librpchost-client0,
# librpchost-client-dev (_VERSION_ARCH.deb).  The copy's CMake build
# (obj-*/) is kept between runs: a second run rebuilds what changed.
set -eu

out=${1:-build-deb}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
src="$out/rpchost"

mkdir -p "$src"
# The tree as it is, without build outputs; a file deleted here but still
# in git's index is skipped.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -co --exclude-standard | while IFS= read -r f; do
        if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\n' "$f"; fi
    done | tar -cf - -T - | tar -C "$src" -xf -
else
    tar -cf - --exclude='./build*' --exclude='./obj-*' . | tar -C "$src" -xf -
fi
# What the last run staged and packed (the CMake build itself stays).
rm -rf "$src/debian/tmp" "$src/debian/.debhelper" "$src"/debian/*.substvars \
    "$src/debian/files" "$src/debian/debhelper-build-stamp" \
    "$src/debian/rpchost" "$src/debian/rpchost-dev" \
    "$src/debian/librpchost-client0" "$src/debian/librpchost-client-dev" \
    "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo

cd "$src"
DEB_BUILD_OPTIONS="nocheck noddebs parallel=$jobs" \
    dpkg-buildpackage -b -us -uc -nc
cd - >/dev/null
ls -1 "$out"/*.deb
