#!/usr/bin/env bash
# The dashboard as N Streamlit processes behind Debian's nginx on one machine, for a
# benchmark run or a rehearsal of deploy/nginx.conf without TLS or root.
#
#   deploy/run_local.sh N PORT      start N processes (ports PORT+1..PORT+N) and nginx on
#                                   127.0.0.1:PORT; waits for health, warms every page,
#                                   prints "ready", then runs until Ctrl-C / SIGTERM
#   deploy/run_local.sh stop PORT   stop the run on PORT (from another shell)
#
# Defaults: N = number of cores, PORT = 8500. Files (rendered nginx config, logs,
# pids) go to $HCC_RUN_DIR, default ${TMPDIR:-/tmp}/hcc-dashboard-PORT.
# $HCC_STREAMLIT_ARGS adds options to every `streamlit run` (what-if runs).
# Needs Debian's nginx (apt-get install -y nginx); it runs as the current user.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" = "stop" ]; then
    PORT=${2:-8500}
    RUN_DIR=${HCC_RUN_DIR:-${TMPDIR:-/tmp}/hcc-dashboard-$PORT}
    if [ ! -f "$RUN_DIR/run_local.pid" ]; then
        echo "no run on port $PORT ($RUN_DIR/run_local.pid missing)" >&2
        exit 1
    fi
    pid=$(cat "$RUN_DIR/run_local.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.2; done
    echo "run_local.sh (pid $pid) still running after 60 s" >&2
    exit 1
fi

N=${1:-$(nproc)}
PORT=${2:-8500}
RUN_DIR=${HCC_RUN_DIR:-${TMPDIR:-/tmp}/hcc-dashboard-$PORT}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "nginx not found: apt-get install -y nginx" >&2; exit 1; }
[ -x "$ROOT/.venv/bin/streamlit" ] || { echo "no $ROOT/.venv/bin/streamlit" >&2; exit 1; }

mkdir -p "$RUN_DIR/logs" "$RUN_DIR/nginx-temp"
echo $$ > "$RUN_DIR/run_local.pid"

BACKEND_PIDS=()
NGINX_PID=""
WARM_PID=""
stop_all() {
    trap - EXIT INT TERM HUP
    [ -n "$WARM_PID" ] && kill -TERM "$WARM_PID" 2>/dev/null || true
    [ -n "$NGINX_PID" ] && kill -TERM "$NGINX_PID" 2>/dev/null || true
    # each process was started in its own process group (setsid): its children
    # (e.g. the Chromium of a figure export) stop with it
    for pid in "${BACKEND_PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for pid in "${BACKEND_PIDS[@]}" $NGINX_PID; do
        for _ in $(seq 1 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    done
    rm -f "$RUN_DIR"/*.pid "$RUN_DIR/ready"
    echo "stopped"
}
trap stop_all EXIT
trap 'exit 143' INT TERM HUP

# ------------------------------------------------------------------ Streamlit processes
BACKEND_PORTS=()
for i in $(seq 1 "$N"); do
    p=$((PORT + i))
    BACKEND_PORTS+=("$p")
    # shellcheck disable=SC2086  # HCC_STREAMLIT_ARGS is a list of options
    (cd "$ROOT" && exec setsid .venv/bin/streamlit run app.py --server.port "$p" \
        --server.address 127.0.0.1 --server.headless true --browser.serverAddress localhost \
        --browser.gatherUsageStats false ${HCC_STREAMLIT_ARGS:-}) \
        > "$RUN_DIR/logs/streamlit-$p.log" 2>&1 &
    BACKEND_PIDS+=("$!")
    echo "$!" > "$RUN_DIR/streamlit-$p.pid"
done

# ------------------------------------------------------------------ nginx
# deploy/nginx.conf itself, for plain http on 127.0.0.1:PORT with these backends
backends=""
for p in "${BACKEND_PORTS[@]}"; do
    backends+="    server 127.0.0.1:$p max_fails=2 fail_timeout=10s;"$'\n'
done
awk -v backends="$backends" -v port="$PORT" '
    /^# @redirect-begin$/ { skip = 1 }
    /^# @redirect-end$/   { skip = 0; next }
    skip                { next }
    /# @backend$/       { if (!b) { printf "%s", backends; b = 1 }; next }
    /# @tls$/           { if (!l) { print "    listen 127.0.0.1:" port ";"; l = 1 }; next }
    { sub(/; Secure"/, "\""); print }   # the cookie travels over plain http here
' "$ROOT/deploy/nginx.conf" > "$RUN_DIR/site.conf"

user_line=""
if [ "$(id -u)" = 0 ]; then       # as root, nginx workers run as nobody: they must reach
    user_line="user nobody nogroup;"   # the temp dirs (a large response or upload is buffered there)
    chown -R nobody:nogroup "$RUN_DIR/nginx-temp"
    chmod 711 "$RUN_DIR"
fi
T="$RUN_DIR/nginx-temp"
cat > "$RUN_DIR/nginx.conf" <<EOF
# rendered by deploy/run_local.sh from deploy/nginx.conf
$user_line
worker_processes auto;
daemon off;
pid $RUN_DIR/nginx.pid;
error_log $RUN_DIR/logs/nginx-error.log warn;
events { worker_connections 4096; }
http {
    include /etc/nginx/mime.types;
    # which process served each request, and with which affinity cookie (deploy/check_proxy.py)
    log_format affinity '\$msec \$status "\$request" cookie=\$cookie_hcc_route key=\$hcc_route upstream=\$upstream_addr';
    access_log $RUN_DIR/logs/nginx-access.log affinity;
    client_body_temp_path $T/body;
    proxy_temp_path $T/proxy;
    fastcgi_temp_path $T/fastcgi;
    uwsgi_temp_path $T/uwsgi;
    scgi_temp_path $T/scgi;
    include $RUN_DIR/site.conf;
}
EOF
"$NGINX" -t -q -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -e "$RUN_DIR/logs/nginx-error.log"
"$NGINX" -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -e "$RUN_DIR/logs/nginx-error.log" &
NGINX_PID=$!

# ------------------------------------------------------------------ readiness and warm-up
ports_csv=$(IFS=,; echo "${BACKEND_PORTS[*]}")
# in the background, so that a Ctrl-C during the warm-up stops everything at once
"$ROOT/.venv/bin/python" "$ROOT/deploy/warm.py" --backends "$ports_csv" --proxy "$PORT" &
WARM_PID=$!
if ! wait "$WARM_PID"; then
    echo "warm-up failed; logs in $RUN_DIR/logs" >&2
    exit 1
fi
echo "$ports_csv" > "$RUN_DIR/ready"
echo "ready: http://localhost:$PORT ($N processes on ports $ports_csv, nginx pid $NGINX_PID; files in $RUN_DIR)"
echo "stop with Ctrl-C or: deploy/run_local.sh stop $PORT"

wait "$NGINX_PID"    # until a signal (the trap stops everything) or nginx itself ends
