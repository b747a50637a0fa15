#!/bin/sh
# SPDX-License-Identifier: MIT
# Bounded libFuzzer run of every fuzz target.
#   tests/fuzz/run.sh [SECONDS]        (default 60 per target)
#
# Configures a separate build (default build-fuzz, or $FUZZ_BUILD) with
# clang, ASan+UBSan (RPCHOST_SANITIZE=ON) and coverage instrumentation
# (-fsanitize=fuzzer-no-link) for the whole tree, builds fuzz_envelope and
# fuzz_config, and runs each for SECONDS on a scratch copy of its seed
# corpus (the committed corpus is never grown).  A crash, leak, sanitizer
# report or timeout stops the run: the input is kept in
# $FUZZ_BUILD/fuzz/artifacts/TARGET/ and the script exits 1 after the other
# targets ran.  Copy such an input into tests/fuzz/regress/TARGET/ so that
# ctest's fuzz.regress.TARGET replays it from then on.
#
# Environment: FUZZ_BUILD (build folder), FUZZ_TARGETS (default
# "envelope config"), FUZZ_JOBS (parallel builds), FUZZ_ARGS (extra
# libFuzzer flags).  Needs the Debian packages clang and libclang-rt-14-dev.
set -eu

seconds=${1:-60}
case "$seconds" in
'' | *[!0-9]*)
    echo "usage: $0 [SECONDS]" >&2
    exit 2
    ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
targets=${FUZZ_TARGETS:-envelope config}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
cc=${CC:-clang}

if ! command -v "$cc" >/dev/null 2>&1; then
    echo "fuzz: $cc not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
fi

mkdir -p "$build"
CC=$cc cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug \
    -DRPCHOST_SANITIZE=ON -DRPCHOST_TESTS=ON \
    -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link" >"$build/fuzz-cmake.log" 2>&1 || {
    cat "$build/fuzz-cmake.log" >&2
    exit 2
}
for t in $targets; do
    cmake --build "$build" -j "$jobs" --target "fuzz_$t" || exit 2
done

status=0
for t in $targets; do
    case "$t" in
    envelope) max_len=65536 ;;
    *) max_len=4096 ;;
    esac
    work="$build/fuzz/work/$t"
    artifacts="$build/fuzz/artifacts/$t"
    rm -rf "$work"
    mkdir -p "$work" "$artifacts"
    cp "$here/corpus/$t/"* "$work/"
    # Inputs that once crashed are seeds too.
    find "$here/regress/$t" -type f ! -name '.*' -exec cp {} "$work/" \;
    echo "fuzz: $t for ${seconds}s (max_len $max_len)"
    # -timeout: one input taking longer is a hang (a bug); -rss_limit_mb
    # bounds memory; leaks are bugs (detect_leaks).  The log is kept.
    # shellcheck disable=SC2086
    if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=0 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        RPCHOST_PLUGINS="$build/plugins" \
        "$build/fuzz/fuzz_$t" "$work" \
        -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
        -rss_limit_mb=2048 -dict="$here/$t.dict" \
        -print_final_stats=1 -artifact_prefix="$artifacts/" \
        ${FUZZ_ARGS:-} >"$build/fuzz/$t.log" 2>&1; then
        tail -n 12 "$build/fuzz/$t.log" | grep -E '^(stat::|Done|#)' || true
        echo "fuzz: $t: no crash"
    else
        status=1
        echo "fuzz: $t: FAILED; log: $build/fuzz/$t.log" >&2
        grep -E -A 40 '^==[0-9]+==ERROR|runtime error|invariant failed|deadly signal|Test unit written' \
            "$build/fuzz/$t.log" | head -n 80 >&2 || true
        ls -l "$artifacts" >&2
    fi
done
exit $status
