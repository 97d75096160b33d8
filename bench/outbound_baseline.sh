#!/bin/sh
# Sending figures (M5), each round on a fresh gateway, simulator and Kannel,
# loopback only, bounded in messages and time:
#   gateway: MESSAGES agent replies (send_load, 4 sessions) to 1,000 existing
#            WhatsApp conversations, each made durable, sent to provider_sim
#            through the client pool (limits lifted) and its outcome
#            journaled; the simulator posts sent/delivered statuses back.
#            Figure: messages the simulator accepted per second, first send
#            to last acceptance. Also: the simulator's largest count of calls
#            in any one second against the channel's limit in a second run
#            with messages_per_second = LIMIT (the limiter's precision), and
#            the same MESSAGES on a priced channel: each send then holds,
#            and later commits, its cost in the prepaid balance (billed/s).
#   Kannel:  the same number of SMS through Kannel 1.4.5's sendsms HTTP
#            interface (wrk, 32 connections), bearerbox with its message
#            store (store-type file) delivering to fakesmsc. Figure: SMS
#            fakesmsc received per second, first request to last delivery.
# Quote medians: the machine is shared and noisy.
#
# usage: bench/outbound_baseline.sh [ROUNDS] [MESSAGES] [LIMIT]
# SESSIONS and WINDOW (environment; default 4 and 64) set send_load's agent
# sessions and commands in flight per session.
# Needs build/release and Debian's kannel and kannel-extras (deploy/setup.sh).
set -eu
rounds=${1:-3}
messages=${2:-20000}
limit=${3:-500}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
build="$root/build/release"
token=bench-agent-token-0001
field() { grep -o "\"$1\":[0-9.]*" | head -1 | cut -d: -f2; }

# A simulator, then a gateway on a port chosen first (each names the other).
# $1 name, $2 the channel's messages_per_second, $3 its cost_per_message
# (0: not priced; else its balance is topped up for every message). Sets
# $port and $sim_port.
start_pair() {
  port=$(free_port)
  sim_port=$(free_port)
  cat > "$work/$1-sim.json" <<JSON
{"whatsapp": [{"phone_number_id": "100000000000001", "access_token": "bench-token",
  "app_secret": "bench-app-secret", "messages_per_second": 1000000,
  "webhook_url": "http://127.0.0.1:$port/webhooks/whatsapp/wa-bench",
  "pair_interval_ms": 1, "pair_burst": 1000}],
 "statuses": {"sent_ms": 5, "delivered_ms": 50, "batch": 100}, "duration_s": 300}
JSON
  "$build/bench/load/provider_sim/provider_sim" --config "$work/$1-sim.json" \
    --listen "127.0.0.1:$sim_port" > "$work/$1-sim.out" &
  pids="$pids $!"
  price=""
  [ "${3:-0}" -gt 0 ] && price="\"cost_per_message\": $3,"
  cat > "$work/$1-gw.json" <<JSON
{"log": {"level": "warn"}, "admin": {"key": "bench-admin-key"},
 "ws": {"commands_per_second": 100000, "command_burst": 100000},
 "channels": [{"id": "wa-bench", "provider": "whatsapp", "tenant": "bench",
   "phone_number_id": "100000000000001", "app_secret": "bench-app-secret",
   "verify_token": "unused", "access_token": "bench-token",
   "api_base_url": "http://127.0.0.1:$sim_port", "messages_per_second": $2, $price
   "pair_interval_ms": 1, "pair_burst": 1000}],
 "agents": [{"tenant": "bench", "id": "bench-agent", "token": "$token"}]}
JSON
  BENCH_GATEWAY_PORT=$port start_gateway "$build/gateway/gateway" "$1" --threads 2 \
    --config "$work/$1-gw.json"
  # 1,000 conversations whose patients wrote just now (windows open).
  "$build/bench/webhook_load" --port "$port" --path /webhooks/whatsapp/wa-bench \
    --requests 1000 --conversations 1000 --connections 16 --duration 30 --warmup 0 > "$work/$1-hooks.json" || { cat "$work/$1-hooks.json" "$work/$1.log" >&2; exit 1; }
  if [ "${3:-0}" -gt 0 ]; then
    curl -sf -X POST -H "Authorization: Bearer bench-admin-key" \
      -d "{\"amount\": $((messages * $3)), \"key\": \"bench\"}" \
      "http://127.0.0.1:$port/v1/tenants/bench/channels/wa-bench/balance/top-ups" > /dev/null
  fi
}

stop_all() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=""
}

kannel_round() {  # $1 name; prints delivered SMS per second
  k="$work/$1"
  mkdir -p "$k"
  admin=$(free_port); smsbox=$(free_port); smsc=$(free_port); sendsms=$(free_port)
  cat > "$k/kannel.conf" <<CONF
group = core
admin-port = $admin
admin-password = bench
smsbox-port = $smsbox
box-allow-ip = 127.0.0.1
log-level = 4
store-type = file
store-location = "$k/store"
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = $smsc
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = $sendsms
log-level = 4

group = sendsms-user
username = bench
password = bench
CONF
  /usr/sbin/bearerbox -v 4 "$k/kannel.conf" > "$k/bearerbox.log" 2>&1 &
  pids="$pids $!"
  sleep 1
  /usr/lib/kannel/test/fakesmsc -H 127.0.0.1 -r "$smsc" -m 0 "1 2 text unused" > "$k/fakesmsc.log" 2>&1 &
  pids="$pids $!"
  /usr/sbin/smsbox -v 4 "$k/kannel.conf" > "$k/smsbox.log" 2>&1 &
  pids="$pids $!"
  for _ in $(seq 1 100); do
    curl -s "http://127.0.0.1:$sendsms/" > /dev/null 2>&1 && break
    sleep 0.1
  done
  cat > "$k/sendsms.lua" <<LUA
local n = 0
local max = $((messages / 2))
request = function()
  return wrk.format("GET", "/cgi-bin/sendsms?username=bench&password=bench&from=34910000000&to=34600111222&text=Su+cita+es+manana+a+las+10")
end
response = function(status, headers, body)
  n = n + 1
  if n >= max then wrk.thread:stop() end
end
LUA
  # wrk's own clock runs to -d even after its threads stop: time it here,
  # polling fakesmsc's count while wrk runs.
  t0=$(date +%s.%N)
  wrk -t 2 -c 32 -d 60s -s "$k/sendsms.lua" "http://127.0.0.1:$sendsms" > "$k/wrk.out" 2>&1 &
  wrk_pid=$!
  pids="$pids $wrk_pid"
  last=0; last_t=$t0; still=0
  while [ "$still" -lt 50 ]; do  # until fakesmsc has them all, or 5 s without progress
    got=$(grep -c "Got message" "$k/fakesmsc.log" || true)
    if [ "$got" -ne "$last" ]; then last=$got; last_t=$(date +%s.%N); still=0; else still=$((still + 1)); fi
    [ "$got" -ge "$messages" ] && break
    sleep 0.05
  done
  kill "$wrk_pid" 2>/dev/null || true
  echo "kannel delivered $last of $messages" >&2
  echo "$last $t0 $last_t" | awk '{printf "%.0f\n", $1 / ($3 - $2)}'
}

: > "$work/results"
for r in $(seq 1 "$rounds"); do
  start_pair "gw$r" 100000
  out=$("$build/bench/send_load" --port "$port" --sim-port "$sim_port" --token "$token" \
    --channel wa-bench --sessions "${SESSIONS:-4}" --window "${WINDOW:-64}" --conversations 1000 --messages "$messages" \
    --duration 120)
  echo "gateway $out" >&2
  echo "sends $(echo "$out" | field sends_per_s)" >> "$work/results"
  echo "acks $(echo "$out" | field acks_per_s)" >> "$work/results"
  echo "ack_p99 $(echo "$out" | field ack_p99_us)" >> "$work/results"
  stop_all

  # The limiter's precision: the channel held to $limit calls per second.
  start_pair "lim$r" "$limit"
  "$build/bench/send_load" --port "$port" --sim-port "$sim_port" --token "$token" \
    --channel wa-bench --sessions 2 --window 64 --conversations 1000 \
    --messages $((limit * 6)) --duration 60 > "$work/lim.json" || true
  stats=$(curl -s "http://127.0.0.1:$sim_port/sim/stats")
  peak=$(echo "$stats" | grep -o '"max_offered_per_second":[0-9]*' | head -1 | cut -d: -f2)
  over=$(echo "$stats" | grep -o '"over_limit":[0-9]*' | cut -d: -f2)
  echo "limit $limit: peak $peak in one second, $over refused as over the limit; $(cat "$work/lim.json")" >&2
  echo "peak $peak" >> "$work/results"
  echo "over $over" >> "$work/results"
  stop_all

  # The same sends on a priced channel: each holds and commits its cost.
  start_pair "bill$r" 100000 1
  out=$("$build/bench/send_load" --port "$port" --sim-port "$sim_port" --token "$token" \
    --channel wa-bench --sessions "${SESSIONS:-4}" --window "${WINDOW:-64}" --conversations 1000 --messages "$messages" \
    --duration 120)
  echo "billed $out" >&2
  echo "billed $(echo "$out" | field sends_per_s)" >> "$work/results"
  balance=$(curl -s -H "Authorization: Bearer bench-admin-key" \
    "http://127.0.0.1:$port/v1/tenants/bench/channels/wa-bench/balance")
  echo "balance after: $balance" >&2
  stop_all

  echo "kannel $(kannel_round "kannel$r")" >> "$work/results"
  stop_all
done

echo "results (per round):" >&2
cat "$work/results" >&2
sends=$(median sends); kannel=$(median kannel)
echo "median: gateway $sends durable sends/s (acks $(median acks)/s, ack p99 $(median ack_p99) us);" \
  "Kannel $kannel SMS/s delivered; ratio $(echo "scale=2; $sends / $kannel" | bc);" \
  "limit $limit/s: peak $(median peak) in one second, over-limit refusals $(median over);" \
  "priced: $(median billed) billed sends/s"
