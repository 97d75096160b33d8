#!/bin/sh
# Durable webhook ingest against nginx. The same client (webhook_load) posts
# signed ~1 KB WhatsApp webhooks, each with a fresh message id, over 10,000
# conversations, on keep-alive connections:
#   - to the gateway, which verifies, parses, journals (fdatasync, group
#     commit) and only then answers 200;
#   - to nginx answering `return 200` (body read and discarded).
# Interleaved rounds in one run; then the gateway at half its median maximum
# rate, for latency. Loopback only; every run is bounded in time.
#
# usage: [BENCH_THREADS=N] [BENCH_WINDOW_US=N] bench/webhook_baseline.sh [ROUNDS] [SECONDS] [CONNECTIONS]
# BENCH_WINDOW_US sets the gateway's journal.commit_window_us (default 0).
# Needs build/release (cmake --workflow --preset release).
set -eu
rounds=${1:-3}
secs=${2:-10}
conns=${3:-64}
threads=${BENCH_THREADS:-2}
# Requests prepared per run (1.2 KB each): more than the fastest target
# answers in $secs seconds.
pool=${BENCH_POOL:-$((secs * 130000 + 200000))}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
load="$root/build/release/bench/webhook_load"

cat > "$work/gateway.json" <<JSON
{"log": {"level": "warn"},
 "channels": [{"id": "wa-bench", "provider": "whatsapp", "tenant": "bench",
               "phone_number_id": "100000000000001", "app_secret": "bench-app-secret",
               "verify_token": "unused"}]}
JSON
start_nginx "$threads"
export GATEWAY_JOURNAL_COMMIT_WINDOW_US=${BENCH_WINDOW_US:-0}
start_gateway "$root/build/release/gateway/gateway" ingest --threads "$threads" \
  --config "$work/gateway.json"
gateway_port=$port
sleep 0.5

field() { grep -o "\"$1\":[0-9]*" | cut -d: -f2; }
next_id=0
run_load() {  # $1 port, then extra flags; prints the JSON line
  p=$1; shift
  out=$("$load" --port "$p" --connections "$conns" --duration "$secs" --id-base "$next_id" --requests "$pool" "$@" || true)
  next_id=$((next_id + 100000000))
  echo "$out"
}

: > "$work/results"
for r in $(seq 1 "$rounds"); do
  for target in nginx:$nginx_port gateway:$gateway_port; do
    name=${target%%:*}; p=${target##*:}
    out=$(run_load "$p")
    echo "round $r $name $out" >&2
    echo "$name $(echo "$out" | field rate)" >> "$work/results"
    if [ "$name" = gateway ] && [ "$(echo "$out" | field refused)" != 0 ]; then
      echo "the gateway refused requests: $out" >&2; exit 1
    fi
  done
done
n=$(median nginx); g=$(median gateway)
half=$(echo "$g / 2" | bc)
for r in $(seq 1 "$rounds"); do
  out=$(run_load "$gateway_port" --rate "$half")
  echo "round $r latency $out" >&2
  echo "p50 $(echo "$out" | field p50_us)" >> "$work/results"
  echo "p99 $(echo "$out" | field p99_us)" >> "$work/results"
  echo "achieved $(echo "$out" | field rate)" >> "$work/results"
done
syncs=$(curl -s "http://127.0.0.1:$gateway_port/metrics" | awk '/^gateway_journal_syncs_total/ {print $2}')
events=$(curl -s "http://127.0.0.1:$gateway_port/metrics" | awk '/^gateway_journal_events_total/ {print $2}')

echo
echo "| target | median requests/s ($rounds rounds x ${secs}s, $conns connections) | vs nginx |"
echo "|---|---|---|"
printf '| nginx 1.22 `return 200` (%s workers) | %.0f | 1.00 |\n' "$threads" "$n"
printf '| gateway durable ingest (%s threads) | %.0f | %.2f |\n' "$threads" "$g" "$(echo "$g / $n" | bc -l)"
echo
printf 'gateway at %s requests/s (half its median maximum): achieved %s/s, p50 %s us, p99 %s us (medians of %s runs)\n' \
  "$half" "$(median achieved)" "$(median p50)" "$(median p99)" "$rounds"
printf 'journal: %s events in %s fdatasyncs (%.1f events per sync)\n' "$events" "$syncs" "$(echo "$events / $syncs" | bc -l)"
