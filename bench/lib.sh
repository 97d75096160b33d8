# Shared by the baseline scripts (sourced, POSIX sh): a scratch directory
# removed on exit, nginx answering `return 200`, gateways started on free
# loopback ports, and medians. Every process started here is stopped on exit,
# by its PID.
work=$(mktemp -d /tmp/gw-bench-XXXXXX)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# nginx with $1 workers, no logging, `return 200` for every method and path
# (a POST body is read and discarded). Sets $nginx_port.
start_nginx() {
  nginx_port=$(free_port)
  mkdir -p "$work/nginx"
  cat > "$work/nginx/nginx.conf" <<CONF
worker_processes $1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  client_body_buffer_size 64k;
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
}

# start_sim GATEWAY_PORT SIM_PORT SECONDS OUT: provider_sim ($sim) on
# SIM_PORT, standing in for the WhatsApp Cloud API of channel wa-bench with
# its limits lifted, posting `sent` (5 ms) and `delivered` (50 ms) statuses
# in batches of 100 to the gateway on GATEWAY_PORT; it exits after SECONDS.
# Sets $sim_pid.
start_sim() {
  cat > "$work/sim.json" <<JSON
{"whatsapp": [{"phone_number_id": "100000000000001", "access_token": "bench-token",
  "app_secret": "bench-app-secret", "messages_per_second": 1000000,
  "webhook_url": "http://127.0.0.1:$1/webhooks/whatsapp/wa-bench",
  "pair_interval_ms": 1, "pair_burst": 1000}],
 "statuses": {"sent_ms": 5, "delivered_ms": 50, "batch": 100}, "duration_s": $3}
JSON
  "$sim" --config "$work/sim.json" --listen "127.0.0.1:$2" > "$4" &
  sim_pid=$!
  pids="$pids $sim_pid"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_gateway BINARY NAME [ARGS...]: data in $work/NAME, log in
# $work/NAME.log; waits until /readyz answers 200. Sets $port (a free one,
# or $BENCH_GATEWAY_PORT when set).
start_gateway() {
  bin=$1; name=$2; shift 2
  port=${BENCH_GATEWAY_PORT:-$(free_port)}
  "$bin" --listen "127.0.0.1:$port" --data-dir "$work/$name" "$@" 2> "$work/$name.log" &
  pids="$pids $!"
  for _ in $(seq 1 200); do
    if curl -sfk "${BENCH_SCHEME:-http}://127.0.0.1:$port/readyz" > /dev/null; then return; fi
    sleep 0.05
  done
  echo "gateway $name did not start:" >&2; cat "$work/$name.log" >&2; exit 1
}

# median NAME: the median of the second column of "$work/results" lines
# starting with NAME.
median() {
  grep "^$1 " "$work/results" | awk '{print $2}' | sort -n |
    awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}
