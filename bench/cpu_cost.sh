#!/bin/sh
# The gateway's own CPU time per unit of work, for before/after comparisons
# of builds (bench/PROFILE.md). Throughput on this 2-core machine moves by
# 20-50 % from run to run because the client shares the cores; the CPU the
# gateway spends on a fixed, unsaturated load moves far less. For each
# binary, in interleaved rounds, on a fresh data dir:
#   ingest:  signed WhatsApp webhooks at a fixed rate over 10,000
#            conversations (after a warm-up that gives each some history);
#            microseconds of gateway CPU (user + system, all threads) per
#            webhook;
#   fan-out: 1,000 agent sessions, webhooks at a fixed rate, each a frame to
#            every agent; microseconds of gateway CPU per frame delivered;
#   send:    4 agents reply at a fixed rate over 1,000 open conversations,
#            through provider_sim (which posts `sent` and `delivered` back);
#            microseconds of gateway CPU per message the provider accepted,
#            the whole path included (command, journal, call, outcome,
#            status webhooks).
# CPU is the process's utime + stime from /proc over the measured seconds.
# Loopback only, bounded in time.
#
# usage: bench/cpu_cost.sh ROUNDS BINARY...
set -eu
rounds=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
load="$root/build/release/bench/load/gateway_load/gateway-load"
sim="$root/build/release/bench/load/provider_sim/provider_sim"
token=bench-agent-token-0001
# $1: provider_sim's port (the channel sends there, its limits lifted).
write_config() {
  cat > "$work/gw.json" <<JSON
{"log": {"level": "warn"},
 "ws": {"commands_per_second": 100000, "command_burst": 100000},
 "channels": [{"id": "wa-bench", "provider": "whatsapp", "tenant": "bench",
   "phone_number_id": "100000000000001", "app_secret": "bench-app-secret", "verify_token": "unused",
   "access_token": "bench-token", "api_base_url": "http://127.0.0.1:$1",
   "messages_per_second": 100000, "pair_interval_ms": 1, "pair_burst": 1000}],
 "agents": [{"tenant": "bench", "id": "bench-agent", "token": "$token"}]}
JSON
}
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime

# $1 binary, $2 round; prints "ingest_us fanout_us send_us"
measure() {
  n=0
  for what in ingest fanout send; do
    n=$((n + 1))
    BENCH_GATEWAY_PORT=$(free_port); sim_port=$(free_port)
    write_config "$sim_port"
    start_gateway "$1" "$what-$2-$n-$(basename "$1")" --threads 2 --config "$work/gw.json"
    gw=${pids##* }
    if [ "$what" = send ]; then
      start_sim "$port" "$sim_port" 60 /dev/null
      # Every patient writes once: the 24-hour windows are open.
      "$load" --quiet --json --port "$port" --requests 1000 --conversations 1000 \
        --connections 16 --duration 30 --warmup 0 --id-base 900000000 > /dev/null
      args="--provider none --agents 4 --views none --token $token --reply-rate 3000
        --reply-conversations 1000 --sim-port $sim_port"
    elif [ "$what" = ingest ]; then
      # History first: 20 messages in each of 10,000 conversations.
      "$load" --quiet --json --port "$port" --requests 200000 --conversations 10000 \
        --connections 64 --duration 30 --warmup 0 --id-base 1 > /dev/null
      args="--rate 10000 --connections 64 --conversations 10000 --id-base 100000000"
    else
      args="--rate 200 --connections 8 --conversations 1000 --agents 1000 --token $token"
    fi
    "$load" --quiet --json --port "$port" $args --duration 6 --warmup 1 > "$work/out.json" &
    client=$!
    sleep 2  # past the warm-up (and the sessions' logins)
    t0=$(cpu_ticks "$gw")
    sleep 4
    t1=$(cpu_ticks "$gw")
    wait "$client" || true
    if [ "$what" = ingest ]; then
      units=$(grep -o '"rate":[0-9]*' "$work/out.json" | cut -d: -f2)
    elif [ "$what" = send ]; then
      units=$(grep -o '"sim_accepted_per_s":[0-9]*' "$work/out.json" | cut -d: -f2)
      kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true
      pids=${pids% "$sim_pid"}
    else
      units=$(grep -o '"frames_per_s":[0-9]*' "$work/out.json" | cut -d: -f2)
    fi
    # ticks over 4 s, units per second: microseconds per unit
    printf '%s ' "$(echo "$t0 $t1 $ticks $units" | awk '{printf "%.2f", ($2 - $1) / $3 / 4 / $4 * 1e6}')"
    kill "$gw"; wait "$gw" 2>/dev/null || true
    pids=${pids% "$gw"}  # stopped: never signal that number again
  done
  echo
}

for r in $(seq 1 "$rounds"); do
  for bin in "$@"; do
    echo "$(basename "$bin") $(measure "$bin" "$r")"
  done
done
