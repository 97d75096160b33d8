#!/bin/sh
# The agent protocol's figures (M4), each on a fresh gateway (2 threads,
# release build) with a fresh data dir, loopback only, bounded in time:
#   memory:  10,000 idle agent sessions, authenticated and subscribed; the
#            gateway's resident bytes per session;
#   fan-out: 1,000 agent sessions subscribed to `new`, signed webhooks at a
#            fixed rate (each a new message every agent sees): frames per
#            second the agents received, against the frames offered;
#   latency: 100 agent sessions, signed webhooks at 10,000/s (and at a
#            lighter rate), each stamped with its send time: webhook-to-agent
#            latency of every frame, p50/p99.
# Clients: agent_load (raw WebSocket reader, bench/load) and webhook_load.
# Quote medians of several runs: the machine is shared and noisy.
#
# usage: bench/agent_baseline.sh [ROUNDS] [SECONDS]
# Needs build/release (cmake --workflow --preset release).
set -eu
rounds=${1:-3}
secs=${2:-6}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
build="$root/build/release"
token=bench-agent-token-0001

cat > "$work/gateway.json" <<JSON
{"log": {"level": "warn"},
 "channels": [{"id": "wa-bench", "provider": "whatsapp", "tenant": "bench",
               "phone_number_id": "100000000000001", "app_secret": "bench-app-secret",
               "verify_token": "unused"}],
 "agents": [{"tenant": "bench", "id": "bench-agent", "token": "$token"}]}
JSON
field() { grep -o "\"$1\":[0-9.]*" | head -1 | cut -d: -f2; }
fresh_gateway() {  # $1 name; sets $port and $gateway_pid
  start_gateway "$build/gateway/gateway" "$1" --threads 2 --config "$work/gateway.json"
  gateway_pid=${pids##* }
}
stop_gateway() { kill "$gateway_pid"; wait "$gateway_pid" 2>/dev/null || true; }

# agents, then webhooks at a rate while the agents count; prints both lines.
# $1 sessions, $2 client threads, $3 rate, $4 id base, then webhook flags.
drive() {
  sessions=$1; threads=$2; rate=$3; base=$4; shift 4
  "$build/bench/agent_load" --port "$port" --token "$token" --sessions "$sessions" \
    --threads "$threads" --duration "$secs" --settle 1.5 > "$work/agents.json" &
  agents=$!
  sleep 1.2  # the sessions are up (they connect in well under a second)
  "$build/bench/webhook_load" --port "$port" --rate "$rate" --connections 16 \
    --duration "$secs" --warmup 0.5 --requests $((rate * (secs + 2) + 1000)) \
    --conversations 1000 --id-base "$base" "$@" > "$work/hooks.json" || true
  wait "$agents" || true
  echo "agents $(cat "$work/agents.json")" >&2
  echo "hooks  $(cat "$work/hooks.json")" >&2
}

: > "$work/results"
for r in $(seq 1 "$rounds"); do
  # memory
  fresh_gateway "mem$r"
  out=$("$build/bench/agent_load" --port "$port" --token "$token" --sessions 10000 --threads 2 \
    --duration 1 --settle 2 --gateway-pid "$gateway_pid" --parallel-connects 500)
  echo "round $r memory $out" >&2
  echo "mem $(echo "$out" | field bytes_per_session)" >> "$work/results"
  stop_gateway

  # fan-out at two offered rates
  for rate in 300 500; do
    fresh_gateway "fan$rate-$r"
    drive 1000 2 "$rate" $((r * 10000000))
    echo "fan$rate $(field events_per_s < "$work/agents.json")" >> "$work/results"
    stop_gateway
  done

  # latency, light and at 10,000 webhooks/s
  for rate in 1000 10000; do
    fresh_gateway "lat$rate-$r"
    drive 100 2 "$rate" $((r * 10000000 + 5000000)) --stamp 1
    echo "lat$rate-p50 $(field p50_us < "$work/agents.json")" >> "$work/results"
    echo "lat$rate-p99 $(field p99_us < "$work/agents.json")" >> "$work/results"
    echo "lat$rate-frames $(field events_per_s < "$work/agents.json")" >> "$work/results"
    echo "lat$rate-hooks $(field rate < "$work/hooks.json")" >> "$work/results"
    stop_gateway
  done
done

echo
echo "medians of $rounds rounds, ${secs} s each (2 gateway threads, clients on the same 2 cores)"
echo
echo "| figure | median | target |"
echo "|---|---|---|"
printf '| resident bytes per idle session (10,000 sessions) | %s | < 8,192 |\n' "$(median mem)"
printf '| fan-out, 1,000 agents, 300 webhooks/s offered (300,000 frames/s) | %s frames/s | |\n' "$(median fan300)"
printf '| fan-out, 1,000 agents, 500 webhooks/s offered (500,000 frames/s) | %s frames/s | >= 500,000 |\n' "$(median fan500)"
for rate in 1000 10000; do
  printf '| webhook-to-agent, 100 agents, %s webhooks/s offered (%s achieved): p50 / p99 | %s / %s us (%s frames/s) | p99 < 5,000 us at 10,000/s |\n' \
    "$rate" "$(median lat$rate-hooks)" "$(median lat$rate-p50)" "$(median lat$rate-p99)" "$(median lat$rate-frames)"
done
