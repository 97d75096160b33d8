#!/bin/sh
# Keep-alive GET /healthz throughput: the gateway (epoll and io_uring socket
# backends) against nginx `return 200`, same client (wrk), same run,
# interleaved rounds. Loopback only; every wrk run is bounded in time.
#
# usage: [BENCH_THREADS=N] bench/http_baseline.sh [ROUNDS] [SECONDS] [CONNECTIONS]
# Needs: build/release (io_uring, the default) and build/release-epoll
# (cmake --workflow --preset release; cmake --preset release-epoll &&
# cmake --build --preset release-epoll).
set -eu
rounds=${1:-5}
secs=${2:-5}
conns=${3:-64}
threads=${BENCH_THREADS:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/gw-bench-XXXXXX)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# nginx: as many workers as the gateway has threads, no logging.
nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes $threads;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { default_type application/json; return 200 '{"status":"ok"}'; }
  }
}
CONF
/usr/sbin/nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
pids="$pids $!"

start_gateway() {  # $1 binary, $2 name; sets $port
  "$1" --listen 127.0.0.1:0 --threads "$threads" --data-dir "$work/$2" 2> "$work/$2.log" &
  pids="$pids $!"
  port=""
  for _ in $(seq 1 100); do
    port=$(grep -o '"port":[0-9]*' "$work/$2.log" 2>/dev/null | head -1 | cut -d: -f2)
    [ -n "$port" ] && return
    sleep 0.05
  done
  echo "gateway $2 did not start:" >&2; cat "$work/$2.log" >&2; exit 1
}
start_gateway "$root/build/release-epoll/gateway/gateway" epoll; epoll_port=$port
start_gateway "$root/build/release/gateway/gateway" io_uring; uring_port=$port
sleep 0.5

run_wrk() {  # $1 port; prints requests/s
  wrk -t2 -c"$conns" -d"${secs}s" "http://127.0.0.1:$1/healthz" | awk '/Requests\/sec/ {print $2}'
}

: > "$work/results"
for r in $(seq 1 "$rounds"); do
  for target in nginx:$nginx_port epoll:$epoll_port io_uring:$uring_port; do
    name=${target%%:*}; port=${target##*:}
    rps=$(run_wrk "$port")
    echo "$name $rps" >> "$work/results"
    echo "round $r $name $rps req/s" >&2
  done
done

median() { grep "^$1 " "$work/results" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
n=$(median nginx); e=$(median epoll); u=$(median io_uring)
echo
echo "| target | median req/s ($rounds rounds x ${secs}s, $conns connections) | vs nginx |"
echo "|---|---|---|"
printf '| nginx 1.22 `return 200` ('"$threads"' workers) | %.0f | 1.00 |\n' "$n"
printf '| gateway, epoll backend ('"$threads"' threads) | %.0f | %.2f |\n' "$e" "$(echo "$e / $n" | bc -l)"
printf '| gateway, io_uring backend ('"$threads"' threads) | %.0f | %.2f |\n' "$u" "$(echo "$u / $n" | bc -l)"
printf '\nio_uring / epoll: %.2f\n' "$(echo "$u / $e" | bc -l)"
