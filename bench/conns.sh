# SPDX-License-Identifier: MIT
# bench/conns.sh - the connection series and the connect burst (issue #16),
# sourced by bench/run.sh after lib.sh.  Nothing pinned: the servers and wrk
# share the machine's CPUs, as in the issue's table.
#
# conn_series: wrk -c N (BENCH_CONN_COUNTS, default 1 10 100 1000 5000;
#   -t1 for one connection, -t2 above) single pings for BENCH_CONN_SECONDS
#   each, against rpchost at its default threads, rpchost -j 1, nginx with
#   2 workers and libjson-rpc-cpp (when built).  BENCH_CONN_REPEAT rounds
#   (3), each starting every server afresh in turn, so a drift of the
#   shared machine touches every server alike; requests/s and p99 are each
#   the median over the rounds.  Lines in $TMP/conns:
#     SERVER CONNS ROUND REQ/S P99_US ERRORS
# burst_series: bench/burst BENCH_BURST_N (5000) connects at once, a ping
#   on each, BENCH_BURST_REPEAT (3) bursts per server (a fresh server, one
#   second between bursts), the kernel's listen overflows and drops
#   (nstat) around each.  Lines in $TMP/burst:
#     SERVER ROUND T_CONNECT_MS T_ALL_MS ANSWERED OVER_1S OVERFLOWS DROPS
#   and the RSS of the server's worker processes before the first burst
#   (after one ping answered: the code pages a first request maps)
#   and BENCH_BURST_SETTLE (3) s after the last, in $TMP/burst-rss:
#     SERVER KIB_BEFORE KIB_AFTER
# conn_report / burst_report print the tables and the goals.

CONN_COUNTS=${BENCH_CONN_COUNTS:-1 10 100 1000 5000}
CONN_SECS=${BENCH_CONN_SECONDS:-3}
CONN_REPEAT=${BENCH_CONN_REPEAT:-3}
BURST_N=${BENCH_BURST_N:-5000}
BURST_REPEAT=${BENCH_BURST_REPEAT:-3}
BURST_SETTLE=${BENCH_BURST_SETTLE:-3}

# conn_servers: "NAME|COMMAND" lines for the series.
conn_servers() {
    echo "rpchost|$BUILD/rpchost -c $TMP/rpc.ini -l 127.0.0.1:@PORT@"
    echo "rpchost-j1|$BUILD/rpchost -c $TMP/rpc.ini -l 127.0.0.1:@PORT@ -j 1"
    [ -z "$NGINX" ] || echo "nginx-2w|$NGINX -e $TMP/ngx-2/error.log -c $(nginx_conf 2)"
    [ -z "$JRC" ] || echo "jsonrpccpp|$JRC @PORT@"
}

# us VALUE: wrk's latency (850.00us, 1.20ms, 2.00s) in microseconds.
us() {
    echo "$1" | awk '{ v = $1 + 0
        if ($1 ~ /us$/) print v; else if ($1 ~ /ms$/) print v * 1000;
        else if ($1 ~ /m$/) print v * 60000000;
        else if ($1 ~ /s$/) print v * 1000000; else print -1 }'
}

conn_series() {
    : >"$TMP/conns"
    r=0
    while [ "$r" -lt "$CONN_REPEAT" ]; do
        r=$((r + 1))
        conn_servers >"$TMP/conn-servers"
        while IFS='|' read -r cname ccmd; do
            serve_bg "conn-$cname" $ccmd </dev/null || continue
            for c in $CONN_COUNTS; do
                if [ "$c" -le 1 ]; then t=1; else t=2; fi
                o=$TMP/conn-$cname-$c-$r.txt
                # wrk's own timeout (2 s) would count a slow answer as an
                # error; 10 s keeps p99 honest at 5,000 connections.
                timeout $((CONN_SECS + 30)) wrk -t$t -c"$c" -d"${CONN_SECS}s" \
                    --timeout 10s --latency -s "$HERE/ping.lua" \
                    "http://127.0.0.1:$PORT/" >"$o" 2>&1 </dev/null || true
                rps=$(awk '/^Requests\/sec:/ {print $2}' "$o")
                p99=$(awk '$1 == "99%" {print $2}' "$o")
                errs=$(awk '/Non-2xx|Socket errors/' "$o" | tr -d ',' |
                    tr '\n' ' ' | tr -s ' ' | sed 's/ $//; s/ /_/g')
                echo "$cname $c $r ${rps:-0} $(us "${p99:-x}") ${errs:--}" >>"$TMP/conns"
            done
            stop "$SPID"
        done <"$TMP/conn-servers"
    done
}

# conn_med SERVER CONNS FIELD: the median of FIELD (4 req/s, 5 p99 us) over
# the rounds; empty when there is none.
conn_med() {
    awk -v s="$1" -v c="$2" -v f="$3" '$1 == s && $2 == c && $4 > 0 { print $f }' \
        "$TMP/conns" | sort -g | awk '{ v[NR] = $1 } END {
            if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

conn_report() {
    [ -s "$TMP/conns" ] || return 0
    names=$(awk '{ print $1 }' "$TMP/conns" | awk '!seen[$0]++' | tr '\n' ' ')
    echo "### Connection series (single ping, wrk -t1/-t2 -cN -d${CONN_SECS}s, unpinned; medians of $CONN_REPEAT rounds)"
    echo
    printf '| connections |'
    for s in $names; do printf ' %s req/s | p99 |' "$s"; done
    echo ' rpchost / nginx-2w req/s | p99 | rpchost / -j 1 req/s |'
    printf '|---:|'
    for s in $names; do printf -- '---:|---:|'; done
    echo '---:|---:|---:|'
    for c in $CONN_COUNTS; do
        printf '| %s |' "$c"
        for s in $names; do
            v=$(conn_med "$s" "$c" 4)
            p=$(conn_med "$s" "$c" 5)
            awk -v v="$v" -v p="$p" 'BEGIN {
                if (v == "") printf " failed | - |"
                else printf " %.0f | %s |", v,
                    (p >= 1000) ? sprintf("%.2f ms", p / 1000) : sprintf("%.0f us", p) }'
        done
        awk -v a="$(conn_med rpchost "$c" 4)" -v n="$(conn_med nginx-2w "$c" 4)" \
            -v pa="$(conn_med rpchost "$c" 5)" -v pn="$(conn_med nginx-2w "$c" 5)" \
            -v j="$(conn_med rpchost-j1 "$c" 4)" 'BEGIN {
                printf " %s | %s | %s |\n",
                    (a != "" && n > 0) ? sprintf("%.2fx", a / n) : "-",
                    (pa != "" && pn > 0) ? sprintf("%.2fx", pa / pn) : "-",
                    (a != "" && j > 0) ? sprintf("%.2fx", a / j) : "-" }'
    done
    echo
    # wrk's errors, per server and count (every round that had some).
    awk '$6 != "-" { gsub(/_/, " ", $6); printf "- %s, %s connections, round %s: %s\n", $1, $2, $3, $6 }' \
        "$TMP/conns"
    echo
    echo "Goals (rpchost at its default threads, each count):"
    echo
    for c in $CONN_COUNTS; do
        a=$(conn_med rpchost "$c" 4) n=$(conn_med nginx-2w "$c" 4)
        pa=$(conn_med rpchost "$c" 5) pn=$(conn_med nginx-2w "$c" 5)
        j=$(conn_med rpchost-j1 "$c" 4)
        goal "$c conn: req/s / nginx-2w's" "$(ratio "$a" "$n")" ">=" 0.6
        goal "$c conn: p99 / nginx-2w's" "$(ratio "$pa" "$pn")" "<=" 2.0
        goal "$c conn: req/s / -j 1's" "$(ratio "$a" "$j")" ">=" 0.95
    done
    echo
}

burst_series() {
    : >"$TMP/burst"
    : >"$TMP/burst-rss"
    bin=$BUILD/bench/burst
    if ! { [ -x "$bin" ] && [ "$bin" -nt "$HERE/burst.c" ]; } &&
        ! cc -O2 -o "$bin" "$HERE/burst.c" 2>"$TMP/burst-build.log"; then
        note "burst: skipped (cc failed: $(head -n 2 "$TMP/burst-build.log" | tr '\n' ' '))"
        return 0
    fi
    command -v nstat >/dev/null || note "burst: nstat missing (iproute2): overflows not counted"
    conn_servers | grep -v '^jsonrpccpp' >"$TMP/burst-servers"
    while IFS='|' read -r bname bcmd; do
        serve_bg "burst-$bname" $bcmd </dev/null || continue
        # One ping answered before "before" (bench/deferred.py says why:
        # the code pages a first request maps are no burst's).
        python3 "$HERE/fixedload.py" "$PORT" 1 "$HERE/ping.lua" >/dev/null 2>&1 || true
        sleep 0.3
        rss_before=$(rss_children_kib "$SPID")
        r=0
        while [ "$r" -lt "$BURST_REPEAT" ]; do
            r=$((r + 1))
            nstat_abs TcpExtListenOverflows TcpExtListenDrops >"$TMP/nstat.a"
            line=$(timeout 30 "$bin" "$PORT" "$BURST_N" 10 </dev/null 2>&1) || true
            nstat_abs TcpExtListenOverflows TcpExtListenDrops >"$TMP/nstat.b"
            ov=$(awk 'NR == FNR { a[$1] = $2; next } $1 == "TcpExtListenOverflows" { print $2 - a[$1] }' \
                "$TMP/nstat.a" "$TMP/nstat.b")
            dr=$(awk 'NR == FNR { a[$1] = $2; next } $1 == "TcpExtListenDrops" { print $2 - a[$1] }' \
                "$TMP/nstat.a" "$TMP/nstat.b")
            kv() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
            echo "$bname $r $(kv t_connect_ms) $(kv t_all_ms) $(kv answered) $(kv over_1s) ${ov:--} ${dr:--}" >>"$TMP/burst"
            [ -n "$(kv answered)" ] || note "burst $bname: $line"
            sleep 1
        done
        sleep "$BURST_SETTLE"
        echo "$bname $rss_before $(rss_children_kib "$SPID")" >>"$TMP/burst-rss"
        stop "$SPID"
    done <"$TMP/burst-servers"
}

burst_report() {
    [ -s "$TMP/burst" ] || return 0
    echo "### Connect burst ($BURST_N connects at once, a ping on each; fresh server, $BURST_REPEAT bursts 1 s apart; backlog 1024 for both)"
    echo
    echo "| server | burst | last connect done | last answer | answered | answers after 1 s | ListenOverflows | ListenDrops |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    awk '{ printf "| %s | %s | %s ms | %s ms | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$TMP/burst"
    echo
    echo "ListenOverflows/Drops are the kernel's counters for the whole network namespace (nstat): another program's full queue in the same second counts too.  Kernel: somaxconn $(cat /proc/sys/net/core/somaxconn 2>/dev/null), tcp_max_syn_backlog $(cat /proc/sys/net/ipv4/tcp_max_syn_backlog 2>/dev/null), tcp_syncookies $(cat /proc/sys/net/ipv4/tcp_syncookies 2>/dev/null)."
    echo
    echo "Worker RSS (rpchost's worker, nginx's workers) before the first burst and ${BURST_SETTLE} s after the last:"
    echo
    awk '{ printf "- %s: %s KiB before, %s KiB after (%.2fx)\n", $1, $2, $3, ($2 > 0) ? $3 / $2 : 0 }' "$TMP/burst-rss"
    echo
    worst=$(awk '$1 == "rpchost" { if ($4 > m) m = $4 } END { print m + 0 }' "$TMP/burst")
    ovs=$(awk '$1 == "rpchost" { s += $7 } END { print s + 0 }' "$TMP/burst")
    ans=$(awk -v n="$BURST_N" '$1 == "rpchost" && $5 != n { k++ } END { print k + 0 }' "$TMP/burst")
    goal "burst of $BURST_N: slowest of $BURST_REPEAT bursts to the last answer (ms)" "$worst" "<=" 1000
    goal "burst of $BURST_N: listen overflows, all bursts" "$ovs" "<=" 0
    goal "burst of $BURST_N: bursts with a connection unanswered" "$ans" "<=" 0
    goal "burst of $BURST_N: worker RSS ${BURST_SETTLE} s after the bursts / before" \
        "$(awk '$1 == "rpchost" && $2 > 0 { printf "%.2f", $3 / $2 }' "$TMP/burst-rss")" "<=" 1.5
    echo
}
