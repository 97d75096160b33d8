#!/bin/sh
# Durable webhook ingest against nginx. The same client (webhook_load) posts
# signed ~1 KB WhatsApp webhooks, each with a fresh message id, over 10,000
# conversations, on keep-alive connections:
#   - to the gateway, which verifies, parses, journals (fdatasync, group
#     commit) and only then answers 200;
#   - to nginx answering `return 200` (body read and discarded).
# After one unrecorded warm-up round each, interleaved rounds in one run;
# then the gateway at half its median maximum rate, for latency. Loopback only; every run is bounded in time.
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
journaled() {
  curl -s "http://127.0.0.1:$gateway_port/metrics" | awk '/^gateway_journal_events_total/ {print $2}'
}
# Every run gets its own range of message ids (run_load is called in a
# subshell, so the run number is passed in, not kept in a variable): a
# reused id would be a provider retry, answered without touching the journal.
run_load() {  # $1 run number, $2 port, then extra flags; prints the JSON line
  id_base=$(($1 * 100000000)); p=$2; shift 2
  "$load" --port "$p" --connections "$conns" --duration "$secs" --id-base "$id_base" \
    --requests "$pool" "$@" || true
}
# A gateway run must have journaled at least one event per answered request
# (more when answers were still on their way as the client stopped).
check_journaled() {  # $1 events before, $2 the run's JSON line
  after=$(journaled); ok=$(echo "$2" | field ok)
  if [ $((after - $1)) -lt "$ok" ]; then
    echo "the gateway answered $ok requests but journaled $((after - $1)) events" >&2; exit 1
  fi
}

# One unrecorded round per target first: connections, conversations,
# allocator and page cache reach their steady state.
run_load 1 "$nginx_port" > /dev/null
before=$(journaled); out=$(run_load 2 "$gateway_port"); check_journaled "$before" "$out"

: > "$work/results"
run=3
for r in $(seq 1 "$rounds"); do
  for target in nginx:$nginx_port gateway:$gateway_port; do
    name=${target%%:*}; p=${target##*:}
    before=$(journaled)
    out=$(run_load "$run" "$p"); run=$((run + 1))
    [ "$name" = gateway ] && check_journaled "$before" "$out"
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
  before=$(journaled)
  out=$(run_load "$run" "$gateway_port" --rate "$half"); run=$((run + 1))
  check_journaled "$before" "$out"
  echo "round $r latency $out" >&2
  echo "p50 $(echo "$out" | field p50_us)" >> "$work/results"
  echo "p99 $(echo "$out" | field p99_us)" >> "$work/results"
  echo "achieved $(echo "$out" | field rate)" >> "$work/results"
done
syncs=$(curl -s "http://127.0.0.1:$gateway_port/metrics" | awk '/^gateway_journal_syncs_total/ {print $2}')
events=$(journaled)

echo
echo "| target | median requests/s ($rounds rounds x ${secs}s, $conns connections) | vs nginx |"
echo "|---|---|---|"
printf '| nginx 1.22 `return 200` (%s workers) | %.0f | 1.00 |\n' "$threads" "$n"
printf '| gateway durable ingest (%s threads) | %.0f | %.2f |\n' "$threads" "$g" "$(echo "$g / $n" | bc -l)"
echo
printf 'gateway at %s requests/s (half its median maximum): achieved %s/s, p50 %s us, p99 %s us (medians of %s runs)\n' \
  "$half" "$(median achieved)" "$(median p50)" "$(median p99)" "$rounds"
printf 'journal: %s events in %s fdatasyncs (%.1f events per sync)\n' "$events" "$syncs" "$(echo "$events / $syncs" | bc -l)"
