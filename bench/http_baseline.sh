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
. "$root/bench/lib.sh"

start_nginx "$threads"
start_gateway "$root/build/release-epoll/gateway/gateway" epoll --threads "$threads"; epoll_port=$port
start_gateway "$root/build/release/gateway/gateway" io_uring --threads "$threads"; uring_port=$port
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

n=$(median nginx); e=$(median epoll); u=$(median io_uring)
echo
echo "| target | median req/s ($rounds rounds x ${secs}s, $conns connections) | vs nginx |"
echo "|---|---|---|"
printf '| nginx 1.22 `return 200` ('"$threads"' workers) | %.0f | 1.00 |\n' "$n"
printf '| gateway, epoll backend ('"$threads"' threads) | %.0f | %.2f |\n' "$e" "$(echo "$e / $n" | bc -l)"
printf '| gateway, io_uring backend ('"$threads"' threads) | %.0f | %.2f |\n' "$u" "$(echo "$u / $n" | bc -l)"
printf '\nio_uring / epoll: %.2f\n' "$(echo "$u / $e" | bc -l)"
