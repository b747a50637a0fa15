#!/bin/sh
# make bench: rpchost and the naive evhttp+cJSON baseline, loaded the same
# way by wrk on loopback in one run; prints a table with ratios to the
# baseline.  Bounded: each load lasts BENCH_SECONDS (default 5) and targets
# only 127.0.0.1.
#
#   sh bench/run.sh [BUILD_DIR]
#   env: BENCH_SECONDS (5)  BENCH_CONNS (50)
set -eu

BUILD=${1:-build}
SECS=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNS:-50}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
TMP=$(mktemp -d)
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"' EXIT INT TERM

ncpu=$(nproc)
if [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
    PIN_SERVER="taskset -c 0"
    PIN_WRK="taskset -c 1"
    PIN_NOTE="server pinned to CPU 0, wrk to CPU 1"
else
    PIN_SERVER=""
    PIN_WRK=""
    PIN_NOTE="unpinned ($ncpu CPU)"
fi

# Wait until something answers on 127.0.0.1:$1.
wait_port() {
    python3 - "$1" <<'PY' || { echo "bench: nothing listens on port $1" >&2; exit 1; }
import socket, sys, time
deadline = time.time() + 10
while time.time() < deadline:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

cat >"$TMP/rpc.ini" <<INI
[server]
listen = 127.0.0.1:0
log_level = warn
max_batch = 1000
[ping]
path = $ROOT/$BUILD/plugins/ping.so
INI

# run_wrk NAME SCRIPT PORT CALLS_PER_REQUEST
run_wrk() {
    out="$TMP/$1.$2.txt"
    $PIN_WRK wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s "$HERE/$2.lua" \
        "http://127.0.0.1:$3/" >"$out" 2>&1 || { cat "$out" >&2; exit 1; }
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    p50=$(awk '$1 == "50%" {print $2}' "$out")
    p99=$(awk '$1 == "99%" {print $2}' "$out")
    errs=$(awk '/Non-2xx|Socket errors/ {print}' "$out" | tr '\n' ' ')
    echo "$1 $2 $rps $p50 $p99 $4 $errs" >>"$TMP/results"
}

# start NAME CMD...: start a server in the background, remember its pid.
start() {
    name=$1
    shift
    "$@" >"$TMP/$name.log" 2>&1 &
    PIDS="$PIDS $!"
    echo $!
}

stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

: >"$TMP/results"

# The baseline first.
port=$(free_port)
pid=$(start naive $PIN_SERVER "$ROOT/$BUILD/bench/naive" "$port")
wait_port "$port"
run_wrk naive ping "$port" 1
run_wrk naive batch100 "$port" 100
stop "$pid"

for loops in 1 2; do
    port=$(free_port)
    if [ "$loops" = 1 ]; then pin=$PIN_SERVER; else pin=""; fi
    pid=$(start "rpchost-$loops" $pin "$ROOT/$BUILD/rpchost" -c "$TMP/rpc.ini" \
        -l "127.0.0.1:$port" -j "$loops")
    wait_port "$port"
    run_wrk "rpchost-${loops}loop" ping "$port" 1
    run_wrk "rpchost-${loops}loop" batch100 "$port" 100
    stop "$pid"
done

echo
echo "rpchost benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(uname -m), $ncpu CPU(s), $PIN_NOTE"
echo "wrk -t1 -c$CONNS -d${SECS}s on loopback; 2-loop rpchost runs unpinned."
echo
awk '
    { rps[$1 " " $2] = $3 }
    END { }' "$TMP/results"
printf '| %-16s | %-8s | %12s | %12s | %8s | %9s | %9s |\n' \
    server body "requests/s" "calls/s" "vs naive" "p50" "p99"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' ------------------ ---------- -------------- \
    -------------- ---------- ----------- -----------
while read -r name body rps p50 p99 per rest; do
    base=$(awk -v b="$body" '$1 == "naive" && $2 == b {print $3}' "$TMP/results")
    ratio=$(awk -v a="$rps" -v b="$base" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')
    calls=$(awk -v a="$rps" -v n="$per" 'BEGIN { printf "%.0f", a * n }')
    printf '| %-16s | %-8s | %12s | %12s | %8s | %9s | %9s |\n' \
        "$name" "$body" "$rps" "$calls" "$ratio" "$p50" "$p99"
    [ -n "$rest" ] && echo "  note: $name $body: $rest"
done <"$TMP/results"
