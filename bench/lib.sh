# SPDX-License-Identifier: MIT
# bench/lib.sh - helpers that bench/run.sh and the series it sources share:
# starting and stopping servers (every pid kept in PIDS for run.sh's exit
# trap), ports, RSS and CPU of a process, nginx's config.  Sourced, not run;
# expects TMP (a scratch folder) and PIDS to be set.

note() { echo "$*" >>"$TMP/notes"; echo "bench: $*" >&2; }

# wait_port PORT [SECONDS]: until something answers on 127.0.0.1:PORT.
wait_port() {
    python3 - "$1" "${2:-10}" <<'PY'
import socket, sys, time
deadline = time.time() + float(sys.argv[2])
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

# rss_kib PID: resident set of PID and its children (nginx's workers,
# rpchost's worker process), KiB.
rss_kib() {
    { ps -o rss= -p "$1"; ps -o rss= --ppid "$1"; } 2>/dev/null |
        awk '{ s += $1 } END { print s + 0 }'
}

# pair_kib PID: what rpchost's supervisor (PID) and worker take together:
# the worker's resident set plus the supervisor's private pages
# (Private_Clean + Private_Dirty of /proc/PID/smaps_rollup).  The pages
# the forked worker shares with its supervisor (the binary, the
# libraries, what the fork left untouched) count once, as they take
# memory once; RSS summed counts them twice.  0 when unreadable.
pair_kib() {
    own=$(awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s + 0 }' \
        "/proc/$1/smaps_rollup" 2>/dev/null)
    echo $(( ${own:-0} + $(rss_children_kib "$1") ))
}

# rss_children_kib PID: resident set of PID's children alone (rpchost's
# worker process without its supervisor), KiB; 0 without children.
rss_children_kib() {
    ps -o rss= --ppid "$1" 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'
}

# children PID: PID's child processes (rpchost's worker: the supervisor's
# child), one line, space-separated; empty when none.
children() {
    cat "/proc/$1/task/$1/children" 2>/dev/null | tr -s ' ' | sed 's/ $//'
}

# Shell functions share one namespace: each helper's variables carry its
# own prefix, so that a caller's loop variables survive the call.

# start NAME CMD...: start a server in the background; sets SPID.  No
# subshell, so the trap knows every pid.
start() {
    st_name=$1
    shift
    "$@" >"$TMP/$st_name.log" 2>&1 &
    SPID=$!
    PIDS="$PIDS $SPID"
}

stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# nginx_conf WORKERS: a constant answer on @PORT@, all files under $TMP.
# Room for the connection series (5,000 connections on one worker) and the
# listen backlog rpchost has by default (1024; nginx's own is 511), so that
# a connect burst meets the same queue on both.
nginx_conf() {
    c=$TMP/nginx-$1w.conf
    mkdir -p "$TMP/ngx-$1"
    cat >"$c" <<CONF
worker_processes $1;
worker_rlimit_nofile 20000;
daemon off;
pid $TMP/ngx-$1/nginx.pid;
error_log $TMP/ngx-$1/error.log warn;
events { worker_connections 12000; }
http {
    access_log off;
    client_body_temp_path $TMP/ngx-$1/body;
    proxy_temp_path $TMP/ngx-$1/proxy;
    fastcgi_temp_path $TMP/ngx-$1/fastcgi;
    uwsgi_temp_path $TMP/ngx-$1/uwsgi;
    scgi_temp_path $TMP/ngx-$1/scgi;
    keepalive_requests 100000000;
    server {
        listen 127.0.0.1:@PORT@ backlog=1024;
        default_type application/json;
        location / { return 200 '{"jsonrpc":"2.0","result":"pong","id":1}'; }
    }
}
CONF
    echo "$c"
}

# serve_bg NAME CMD...: start a server on a free port (the command names it
# @PORT@; an nginx config file named with -c gets it substituted inside)
# and wait for it; sets SPID and PORT, returns 1 (with a note) when it did
# not start.
serve_bg() {
    sb_name=$1
    shift
    PORT=$(free_port)
    set -- $(echo "$*" | sed "s/@PORT@/$PORT/g")
    for sb_arg in "$@"; do
        case $sb_arg in *.conf) [ -f "$sb_arg" ] && sed -i "s/listen 127.0.0.1:[0-9@A-Z]*/listen 127.0.0.1:$PORT/" "$sb_arg" ;; esac
    done
    start "$sb_name" "$@"
    if ! wait_port "$PORT" 15; then
        note "$sb_name: did not start (skipped); log: $(tail -n 3 "$TMP/$sb_name.log" | tr '\n' ' ')"
        stop "$SPID"
        return 1
    fi
    sleep 0.3
    return 0
}

# nstat_abs COUNTER...: the kernel's absolute counters, "NAME VALUE" lines
# (history untouched).  The counters are the network namespace's: other
# programs' listen queues count too.
nstat_abs() {
    nstat -asz "$@" 2>/dev/null | awk 'NR > 1 { print $1, $2 }'
}
