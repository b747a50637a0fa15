# SPDX-License-Identifier: MIT
# alternate.sh - the pinned rows whose ratios are goals (naive,
# rpchost-1loop, libjson-rpc-cpp), measured in alternation; sourced by
# bench/run.sh, which defines server_up, stop, note and rss_kib, HERE,
# TMP, SECS, CONNS, WARMUP and PIN_WRK.
#
# On this shared VM two loads of the same server a minute apart differ by
# up to 1.5x, so rows measured one after another compare the VM's moments
# as much as the servers.  Here every server of the set starts at once
# (each pinned to CPU 0 on its own port; an idle one sleeps in epoll_wait)
# and stays up through ALT_ROUNDS rounds, each of which loads every server
# with every body in turn.  Each row of the table keeps the server's median
# round; a goal's ratio is the median of the ratios within each round
# (alt_ratio), where the two servers met the same moment of the VM.
#
# Variables carry an alt prefix (lib.sh: one namespace for all helpers).

ALT_ROUNDS=${BENCH_ROUNDS:-3}

# alt_add NAME CMD...: start one server of the set (run.sh's server_up:
# pinned; the command may name its port as @PORT@).  Skipped with a note
# when it does not start.
alt_add() {
    alt_name=$1
    shift
    server_up "$alt_name" 1 "$@" || return 0
    echo "$alt_name $UP_PORT $SPID $IDLE" >>"$TMP/alt"
}

# alt_wrk NAME PORT BODY SECONDS OUT: one pinned load.
alt_wrk() {
    $PIN_WRK wrk -t1 -c"$CONNS" -d"$4s" --latency -s "$HERE/$3.lua" \
        "http://127.0.0.1:$2/" >"$5" 2>&1 </dev/null
}

# alt_run BODIES: the rounds over the servers alt_add started, a row of
# $TMP/results for each server and body (its median round; RSS after is
# read once all rounds are done), then the set is stopped.  Every round's
# requests/s are in $TMP/rounds: "ROUND NAME BODY RPS FILE".
alt_run() {
    : >"$TMP/rounds"
    [ -s "$TMP/alt" ] || return 0
    if [ "$WARMUP" != 0 ]; then
        while read -r alt_name alt_port alt_pid alt_idle; do
            for alt_b in $1; do
                alt_wrk "$alt_name" "$alt_port" "$alt_b" "$WARMUP" /dev/null || true
            done
        done <"$TMP/alt"
    fi
    alt_r=0
    while [ "$alt_r" -lt "$ALT_ROUNDS" ]; do
        alt_r=$((alt_r + 1))
        for alt_b in $1; do
            while read -r alt_name alt_port alt_pid alt_idle; do
                alt_o="$TMP/$alt_name.$alt_b.r$alt_r.txt"
                alt_wrk "$alt_name" "$alt_port" "$alt_b" "$SECS" "$alt_o" ||
                    { cat "$alt_o" >&2; exit 1; }
                echo "$alt_r $alt_name $alt_b $(awk '/^Requests\/sec:/ {print $2}' "$alt_o") $alt_o" >>"$TMP/rounds"
            done <"$TMP/alt"
        done
    done
    while read -r alt_name alt_port alt_pid alt_idle; do
        alt_after=$(rss_kib "$alt_pid")
        for alt_b in $1; do
            case $alt_b in ping) alt_per=1 ;; batch100) alt_per=100 ;; esac
            alt_o=$(awk -v n="$alt_name" -v b="$alt_b" '$2 == n && $3 == b {print $4, $5}' "$TMP/rounds" |
                sort -n | awk '{ f[NR] = $2 } END { print f[int((NR + 1) / 2)] }')
            alt_rps=$(awk '/^Requests\/sec:/ {print $2}' "$alt_o")
            alt_p50=$(awk '$1 == "50%" {print $2}' "$alt_o")
            alt_p99=$(awk '$1 == "99%" {print $2}' "$alt_o")
            alt_errs=$(awk '/Non-2xx|Socket errors/ {print}' "$TMP/$alt_name.$alt_b".r*.txt | tr '\n' ' ' | tr -s ' ')
            echo "$alt_name $alt_b ${alt_rps:-0} ${alt_p50:--} ${alt_p99:--} $alt_per $alt_idle $alt_after" >>"$TMP/results"
            note "$alt_name $alt_b: requests/s by round: $(awk -v n="$alt_name" -v b="$alt_b" '$2 == n && $3 == b { printf "%.0f ", $4 }' "$TMP/rounds")(median kept)"
            [ -z "$alt_errs" ] || note "$alt_name $alt_b: $alt_errs"
        done
        stop "$alt_pid"
    done <"$TMP/alt"
}

# alt_pairs A B BODY FORMAT: A's requests/s over B's in each round where
# both ran, in round order, one line each (printf FORMAT).
alt_pairs() {
    awk -v a="$1" -v b="$2" -v body="$3" -v f="$4" '
        $3 == body && $2 == a { x[$1] = $4 }
        $3 == body && $2 == b { y[$1] = $4 }
        END {
            for (r = 1; (r in x) || (r in y); r++)
                if ((r in x) && (r in y) && y[r] > 0)
                    printf f "\n", x[r] / y[r]
        }' "$TMP/rounds"
}

# alt_ratio A B BODY: the median over rounds of A's requests/s over B's in
# the same round, with 2 decimals; empty when they never met.
alt_ratio() {
    alt_pairs "$1" "$2" "$3" "%.6f" | sort -n | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0)
                exit
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%.2f", m
        }'
}

# alt_ratios A B BODY: each round's ratio, for the goal's text.
alt_ratios() {
    alt_pairs "$1" "$2" "$3" "%.2f" | paste -sd ' ' -
}
