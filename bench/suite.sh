#!/bin/sh
# The benchmark suite: every scenario of the gateway against its baseline in
# the same run, the targets of M1 to M5 checked, and bench/RESULTS.md
# rewritten with the figures this run produced. Loopback only; every process
# it starts is stopped on exit, and every run is bounded in time and requests.
#
#   ingest        signed WhatsApp webhooks, closed loop: the gateway (verify,
#                 parse, journal with fdatasync, then 200) against nginx
#                 `return 200` with the same client and body, at 256 and at 64
#                 connections; Twilio too; then the gateway open loop at half
#                 its 256-connection rate, measured again just before each
#                 round, for latency, at both counts, each round after the
#                 disk alone (disk_probe: a 4 KiB append and fdatasync, a
#                 millisecond apart), the tail's baseline.
#   fan-out       100 agents at 10,000 webhooks/s and 1,000 agents at 600
#                 webhooks/s, every agent seeing every message; and 100 agents
#                 at 10,000 webhooks/s in 10 clinics of 10 receptionists, each
#                 seeing its clinic's patients: the gateway against a Node.js
#                 broadcast server on the `ws` package
#                 (bench/baselines/ws_broadcast.mjs).
#   conversation  100 agents mark read and reply while patients write; the
#                 replies go out through provider_sim and their statuses come
#                 back.
#   sending       closed-loop agent replies through provider_sim with limits
#                 lifted (durable sends/s), the same on a priced channel, the
#                 channel limiter's precision, and Kannel's sendsms with its
#                 store delivering the same number of SMS to fakesmsc.
#   idle          10,000 and 50,000 open agent sessions (four loopback source
#                 addresses): the gateway's resident bytes per session (fewer
#                 than 50,000 where the descriptor limit cannot be raised),
#                 and 2,000 sessions over TLS (bench/tls_sessions.py).
#   restart       1 million journaled events: journal_bench's append rate and
#                 recovery, then the gateway's start-up over them.
#   components    the micro benchmarks behind the M2 and M3 targets.
#
# usage: bench/suite.sh [ROUNDS] [SECONDS]   (default 3 rounds of 4 s)
#
# Environment, for before/after comparisons (bench/PROFILE.md):
#   SUITE_SCENARIOS  a space-separated subset of: components restart ingest
#                    fanout100 clinics fanout1000 conversation sending idle; then the
#                    per-run values are printed (each figure on one line, its runs
#                    in order) and RESULTS.md is left alone
#   SUITE_INGEST_CONNECTIONS  the ingest rounds' connection counts, the
#                    first one the targets' (default "256 64")
#   SUITE_GATEWAY    the gateway binary (default build/release/gateway/gateway)
#   SUITE_LOAD, SUITE_SIM  gateway-load and provider_sim (default: the build's)
# Needs build/release (built here when missing: cmake --workflow --preset
# release) and deploy/setup.sh's packages (nginx, Kannel, wrk, node + ws).
set -eu
rounds=${1:-3}
secs=${2:-4}
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/release"
if [ ! -x "$build/bench/load/gateway_load/gateway-load" ] || [ ! -x "$build/bench/journal_bench" ] ||
  [ ! -x "$build/bench/disk_probe" ]; then
  (cd "$root" && cmake --workflow --preset release)
fi
. "$root/bench/lib.sh"
load=${SUITE_LOAD:-$build/bench/load/gateway_load/gateway-load}
gateway_bin=${SUITE_GATEWAY:-$build/gateway/gateway}
sim=${SUITE_SIM:-$build/bench/load/provider_sim/provider_sim}
token=bench-agent-token-0001
began=$(date +%s)
# 50,000 sessions need as many descriptors, in the client and the gateway:
# raise the limit as far as this machine lets a process go (a container
# without CAP_SYS_RESOURCE stops at its hard limit; the idle scenario then
# opens as many sessions as fit, and says so).
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
most_sessions=$(($(ulimit -n) - 500))
[ "$most_sessions" -gt 50000 ] && most_sessions=50000
: > "$work/results"
mkdir -p "$work/runs"

# --- helpers -----------------------------------------------------------------

# jget PATH < JSON: a field of gateway-load's JSON line, e.g. delivery.p99_us.
jget() {
  python3 -c 'import json, sys
d = json.loads(sys.stdin.read())
for k in sys.argv[1].split("."): d = d[k]
print(f"{d:.3f}" if isinstance(d, float) else d)' "$1"
}
record() { echo "$1 $2" >> "$work/results"; }      # record NAME VALUE
log() { echo "suite: $*" >&2; }
# Runs gateway-load; the JSON line goes to $work/runs/$1.json and stdout.
# A non-zero exit (failed requests, lost sessions) is kept in the errors.
drive() {
  name=$1; shift
  echo "$name gateway-load $*" >> "$work/commands"
  "$load" --quiet --json "$@" > "$work/runs/$name.json" 2> "$work/runs/$name.err" || true
  if [ ! -s "$work/runs/$name.json" ]; then
    echo "gateway-load failed ($name):" >&2; cat "$work/runs/$name.err" >&2; exit 1
  fi
  log "$name $(cut -c1-220 "$work/runs/$name.json")"
  cat "$work/runs/$name.json"
}
ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "-" }'; }

# The gateway's configuration: a WhatsApp and a Twilio channel sending to
# provider_sim on $1 (limits lifted unless $2 sets messages_per_second; $3 a
# cost per message, topped up by the caller), one agent, and $gateway_runtime
# (JSON members, each followed by a comma) when set. Writes $work/gw.json.
gateway_config() {
  price=""
  [ "${3:-0}" -gt 0 ] && price="\"cost_per_message\": $3,"
  cat > "$work/gw.json" <<JSON
{"log": {"level": "warn"}, "admin": {"key": "bench-admin-key"}, ${gateway_runtime:-}
 "http": {"max_connections": 200000},
 "ws": {"commands_per_second": 100000, "command_burst": 100000},
 "channels": [
  {"id": "wa-bench", "provider": "whatsapp", "tenant": "bench",
   "phone_number_id": "100000000000001", "app_secret": "bench-app-secret",
   "verify_token": "unused", "access_token": "bench-token",
   "api_base_url": "http://127.0.0.1:$1", "messages_per_second": ${2:-100000}, $price
   "pair_interval_ms": 1, "pair_burst": 1000},
  {"id": "sms-bench", "provider": "twilio", "tenant": "bench", "number": "+15550001111",
   "auth_token": "bench-auth-token", "account_sid": "AC00000000000000000000000000000000"}],
 "agents": [{"tenant": "bench", "id": "bench-agent", "token": "$token"}]}
JSON
}

# $1 clinics, each a tenant (clinic-T) with a WhatsApp channel (wa-bench-T,
# phone number id 100000000000001 + T) and one agent whose token is
# $token-T: what gateway-load --tenants makes its webhooks and sessions for.
# Writes $work/gw.json.
clinics_config() {
  python3 - "$1" "$token" > "$work/gw.json" <<'PY'
import json, sys
k, token = int(sys.argv[1]), sys.argv[2]
print(json.dumps({
  "log": {"level": "warn"}, "admin": {"key": "bench-admin-key"},
  "http": {"max_connections": 200000},
  "channels": [{"id": f"wa-bench-{t}", "provider": "whatsapp", "tenant": f"clinic-{t}",
                "phone_number_id": str(100000000000001 + t), "app_secret": "bench-app-secret",
                "verify_token": "unused", "access_token": "bench-token"} for t in range(k)],
  "agents": [{"tenant": f"clinic-{t}", "id": f"reception-{t}", "token": f"{token}-{t}"}
             for t in range(k)]}))
PY
}

# A fresh gateway (new data dir) and provider_sim, each naming the other.
# $1 name, then gateway_config's $2 and $3. Sets $port, $sim_port, $gateway_pid.
fresh_pair() {
  port=$(free_port); sim_port=$(free_port)
  start_sim "$port" "$sim_port" 120 "$work/$1-sim.out"
  gateway_config "$sim_port" "${2:-100000}" "${3:-0}"
  BENCH_GATEWAY_PORT=$port start_gateway "$gateway_bin" "$1" --threads 2 \
    --config "$work/gw.json"
  gateway_pid=${pids##* }
}
stop_all() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=""
}
journaled() {
  curl -s "http://127.0.0.1:$port/metrics" | awk '/^gateway_journal_events_total/ {print $2}'
}
# Journal syncs (group commits) that took over 25 ms so far: a
# stall of the disk, which every answer waiting for that sync shares.
slow_syncs() {
  curl -s "http://127.0.0.1:$port/metrics" | awk '
    /^gateway_journal_sync_seconds_bucket/ && /le="\+Inf"/ { all += $2 }
    /^gateway_journal_sync_seconds_bucket/ && /le="0.025"/ { fast += $2 }
    END { print all - fast }'
}
# The gateway answered $2 webhooks 200: it must have journaled at least as
# many events since $1 (a 200 before durability would show here).
check_journaled() {
  after=$(journaled)
  if [ $((after - $1)) -lt "$2" ]; then
    echo "the gateway answered $2 webhooks but journaled $((after - $1)) events" >&2; exit 1
  fi
}
# drive's run $1 against the gateway on $port with the other arguments and
# the next --id-base, then check_journaled: sets $out, advances $run.
drive_journaled() {
  name=$1; shift
  before=$(journaled)
  out=$(drive "$name" --port "$port" "$@" --id-base $((run * 100000000)))
  run=$((run + 1))
  check_journaled "$before" "$(echo "$out" | jget hooks_ok)"
}
# Every patient of --conversations N writes once: their windows are open.
open_conversations() {  # $1 N
  drive "seed-$port" --port "$port" --requests "$1" --conversations "$1" --connections 16 \
    --duration 30 --warmup 0 --id-base 900000000 > /dev/null
}

# --- ingest ------------------------------------------------------------------

# The closed-loop rounds run at each of these connection counts, the first
# being the one the targets use. A closed loop's rate is its connections over
# its latency: the gateway answers only after its journal's fdatasync, so at
# 64 connections it waits more than it works and the cores are a fifth idle;
# at 256 both servers are at their maximum (PROFILE.md, "Ingest: the
# connections of a closed loop").
ingest_connections=${SUITE_INGEST_CONNECTIONS:-"256 64"}
ingest_main=${ingest_connections%% *}
# A figure's suffix at connection count $1: none for the targets' count.
ingest_suffix() { [ "$1" = "$ingest_main" ] || echo ".c$1"; }

scenario_ingest() {
  log "ingest"
  start_nginx 2
  # Each shard on a core of its own, as on a host that only ingests: a tenth
  # more closed-loop rate here (PROFILE.md, "... each shard on a CPU of its
  # own"). nginx stays as shipped: worker_cpu_affinity made it slower.
  gateway_runtime='"runtime": {"cpu_affinity": "shards"},'
  fresh_pair ingest
  gateway_runtime=""
  pool=$((secs * 100000 + 50000))
  per_run="--duration $secs --warmup 1 --conversations 10000 --requests $pool"
  common="--connections $ingest_main $per_run"
  # An unrecorded round each first: connections, allocator, page cache.
  drive warm-nginx --port "$nginx_port" $common > /dev/null
  drive warm-gw --port "$port" $common --id-base 1 > /dev/null
  run=1
  for r in $(seq 1 "$rounds"); do
    for c in $ingest_connections; do
      suffix=$(ingest_suffix "$c")
      out=$(drive "ingest-nginx$suffix-$r" --port "$nginx_port" --connections "$c" $per_run)
      record "ingest.nginx$suffix" "$(echo "$out" | jget rate)"
      drive_journaled "ingest-gw$suffix-$r" --connections "$c" $per_run
      record "ingest.gateway$suffix" "$(echo "$out" | jget rate)"
    done
    out=$(drive "ingest-twilio-$r" --port "$port" $common --provider twilio --channel sms-bench \
      --secret bench-auth-token --id-base $((run * 100000000)))
    run=$((run + 1))
    record ingest.twilio "$(echo "$out" | jget rate)"
  done
  # Half the maximum, open loop, at each connection count too. The maximum is
  # the gateway's as it is then, measured by a closed-loop run just before:
  # the rounds above fill its histories and it gets dearer as they do, so
  # half of their median can be more than an aged gateway's whole maximum
  # (PROFILE.md, "Half of which maximum").
  for r in $(seq 1 "$rounds"); do
    drive_journaled "ingest-max-$r" $common
    max=$(echo "$out" | jget rate)
    record ingest.half.max "$max"
    half=$((${max%%.*} / 2))
    record ingest.half.target "$half"
    # The disk, in the same minute, while the gateway takes no requests
    # (a snapshot of its may still be being written): its syncs over 25 ms
    # are a floor under the half-rate tail, since every answer in flight
    # waits for the sync that makes it durable.
    echo "disk-$r disk_probe --dir DATA --seconds $secs" >> "$work/commands"
    out=$("$build/bench/disk_probe" --dir "$work" --seconds "$secs")
    log "disk-$r $out"
    record disk.slow_syncs "$(echo "$out" | jget over_25ms)"
    record disk.p99 "$(echo "$out" | jget p99_us)"
    record disk.max "$(echo "$out" | jget max_us)"
    for c in $ingest_connections; do
      suffix=$(ingest_suffix "$c")
      stalls=$(slow_syncs)
      drive_journaled "ingest-half$suffix-$r" --connections "$c" $per_run --rate "$half"
      record "ingest.half$suffix.slow_syncs" $(($(slow_syncs) - stalls))
      record "ingest.half$suffix.p50" "$(echo "$out" | jget webhook.p50_us)"
      record "ingest.half$suffix.p99" "$(echo "$out" | jget webhook.p99_us)"
      record "ingest.half$suffix.rate" "$(echo "$out" | jget rate)"
    done
  done
  stop_all
}

# --- fan-out -----------------------------------------------------------------

# $1 label, $2 agents, $3 webhooks/s, $4 clinics (default 1: every agent
# sees every message; with K, agent i works for clinic i mod K and sees its
# patients only: clinics_config). 64 webhook connections: each carries one
# request at a time, so 16 capped the offered rate at 16
# over the answer time (~7,000/s at 10,000 offered; PROFILE.md).
scenario_fanout() {
  clinics=${4:-1}
  log "fan-out: $2 agents in $clinics clinic(s) at $3 webhooks/s"
  args="--agents $2 --token $token --rate $3 --connections 64 --conversations 1000 --duration $secs --warmup 1"
  [ "$clinics" -gt 1 ] && args="$args --tenants $clinics"
  for r in $(seq 1 "$rounds"); do
    if [ "$clinics" -gt 1 ]; then
      clinics_config "$clinics"
      start_gateway "$gateway_bin" "fan$1-$r" --threads 2 --config "$work/gw.json"
    else
      fresh_pair "fan$1-$r"
    fi
    stalls=$(slow_syncs)
    out=$(drive "fan$1-gw-$r" --port "$port" $args --id-base $((r * 10000000)))
    record "fan$1.gateway.slow_syncs" $(($(slow_syncs) - stalls))
    record "fan$1.gateway.msgs" "$(echo "$out" | jget messages_in)"
    record "fan$1.gateway.frames" "$(echo "$out" | jget frames_per_s)"
    record "fan$1.gateway.p50" "$(echo "$out" | jget delivery.p50_us)"
    record "fan$1.gateway.p99" "$(echo "$out" | jget delivery.p99_us)"
    record "fan$1.gateway.hooks" "$(echo "$out" | jget rate)"
    record "fan$1.gateway.answer.p99" "$(echo "$out" | jget webhook.p99_us)"
    stop_all
    node_port=$(free_port)
    node "$root/bench/baselines/ws_broadcast.mjs" --port "$node_port" --token "$token" \
      2> "$work/node.log" &
    pids="$pids $!"
    for _ in $(seq 1 100); do
      curl -s -o /dev/null "http://127.0.0.1:$node_port/" && break
      sleep 0.05
    done
    out=$(drive "fan$1-node-$r" --port "$node_port" $args --id-base $((r * 10000000)))
    record "fan$1.node.msgs" "$(echo "$out" | jget messages_in)"
    record "fan$1.node.frames" "$(echo "$out" | jget frames_per_s)"
    record "fan$1.node.p50" "$(echo "$out" | jget delivery.p50_us)"
    record "fan$1.node.p99" "$(echo "$out" | jget delivery.p99_us)"
    record "fan$1.node.hooks" "$(echo "$out" | jget rate)"
    stop_all
  done
}

# --- conversation ------------------------------------------------------------

scenario_conversation() {
  log "conversation"
  for r in $(seq 1 "$rounds"); do
    fresh_pair "conv-$r"
    out=$(drive "conv-$r" --port "$port" --agents 100 --token "$token" --rate 1000 \
      --connections 16 --conversations 1000 --ack-ms 1000 --reply-rate 500 --sim-port "$sim_port" \
      --duration "$secs" --warmup 1 --id-base $((r * 10000000)))
    record conv.hooks "$(echo "$out" | jget rate)"
    record conv.delivery.p99 "$(echo "$out" | jget delivery.p99_us)"
    record conv.replies "$(echo "$out" | jget replies_per_s)"
    record conv.ack.p50 "$(echo "$out" | jget reply_ack.p50_us)"
    record conv.ack.p99 "$(echo "$out" | jget reply_ack.p99_us)"
    record conv.sent.p50 "$(echo "$out" | jget reply_sent.p50_us)"
    record conv.sent.p99 "$(echo "$out" | jget reply_sent.p99_us)"
    record conv.accepted "$(echo "$out" | jget sim_accepted_per_s)"
    stop_all
  done
}

# --- sending -----------------------------------------------------------------

# Kannel 1.4.5: bearerbox with its message store, smsbox's sendsms HTTP
# interface driven by wrk, fakesmsc as the SMS centre. Sets $kannel_rate: SMS
# delivered per second, first request to last delivery. $1 name, $2
# messages. Runs in this shell, not in a $(...) subshell, so that its
# processes join $pids and stop_all (or the exit trap) stops them.
kannel_round() {
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
  # Each box once the one it talks to is up: fakesmsc gives up if bearerbox
  # is not listening yet, and a round without its SMSC delivers nothing (a
  # slow start once left a suite with no Kannel figure for a round).
  kannel_status() { curl -s "http://127.0.0.1:$admin/status.txt?password=bench"; }
  kannel_wait() {  # $1 what must appear in bearerbox's status, $2 what it means
    for _ in $(seq 1 100); do
      kannel_status | grep -q "$1" && return
      sleep 0.1
    done
    echo "kannel: $2 within 10 s" >&2
    tail -20 "$k/bearerbox.log" "$k/fakesmsc.log" >&2
    exit 1
  }
  kannel_wait "SMSC connections" "bearerbox did not start"
  /usr/lib/kannel/test/fakesmsc -H 127.0.0.1 -r "$smsc" -m 0 "1 2 text unused" > "$k/fakesmsc.log" 2>&1 &
  pids="$pids $!"
  kannel_wait "(online" "fakesmsc did not connect"
  /usr/sbin/smsbox -v 4 "$k/kannel.conf" > "$k/smsbox.log" 2>&1 &
  pids="$pids $!"
  for _ in $(seq 1 100); do
    curl -s "http://127.0.0.1:$sendsms/" > /dev/null 2>&1 && break
    sleep 0.1
  done
  cat > "$k/sendsms.lua" <<LUA
local n = 0
local max = $(($2 / 2))
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
  wrk -t 2 -c 32 -d 30s -s "$k/sendsms.lua" "http://127.0.0.1:$sendsms" > "$k/wrk.out" 2>&1 &
  wrk_pid=$!
  pids="$pids $wrk_pid"
  last=0; last_t=$t0; still=0
  while [ "$still" -lt 50 ]; do  # until fakesmsc has them all, or 5 s without progress
    got=$(grep -c "Got message" "$k/fakesmsc.log" || true)
    if [ "$got" -ne "$last" ]; then last=$got; last_t=$(date +%s.%N); still=0; else still=$((still + 1)); fi
    [ "$got" -ge "$2" ] && break
    sleep 0.05
  done
  kill "$wrk_pid" 2>/dev/null || true
  log "kannel delivered $last of $2"
  if [ "$last" -lt $(($2 * 99 / 100)) ]; then  # a broken baseline is no measurement
    echo "kannel delivered $last of $2 SMS" >&2
    tail -20 "$k/bearerbox.log" "$k/smsbox.log" "$k/fakesmsc.log" "$k/wrk.out" >&2
    exit 1
  fi
  kannel_rate=$(echo "$last $t0 $last_t" | awk '{printf "%.0f\n", $1 / ($3 - $2)}')
}

scenario_sending() {
  log "sending"
  # Agents authenticated but not subscribed: the figure is the sending path,
  # not the fan-out of each reply's events.
  args="--provider none --agents 4 --views none --token $token --reply-window 64 --reply-conversations 1000 --duration $secs --warmup 1"
  for r in $(seq 1 "$rounds"); do
    fresh_pair "send-$r"
    open_conversations 1000
    out=$(drive "send-$r" --port "$port" $args --sim-port "$sim_port")
    record send.accepted "$(echo "$out" | jget sim_accepted_per_s)"
    record send.acks "$(echo "$out" | jget replies_per_s)"
    record send.ack.p99 "$(echo "$out" | jget reply_ack.p99_us)"
    stop_all

    fresh_pair "bill-$r" 100000 1
    open_conversations 1000
    curl -sf -X POST -H "Authorization: Bearer bench-admin-key" \
      -d '{"amount": 100000000, "key": "suite"}' \
      "http://127.0.0.1:$port/v1/tenants/bench/channels/wa-bench/balance/top-ups" > /dev/null
    out=$(drive "bill-$r" --port "$port" $args --sim-port "$sim_port")
    record send.billed "$(echo "$out" | jget sim_accepted_per_s)"
    stop_all

    # The limiter: 500/s on the channel, replies offered at 1,000/s.
    fresh_pair "limit-$r" 500
    open_conversations 1000
    drive "limit-$r" --port "$port" --provider none --agents 4 --views none --token "$token" \
      --reply-rate 1000 --reply-conversations 1000 --duration "$secs" --warmup 1 > /dev/null
    stats=$(curl -s "http://127.0.0.1:$sim_port/sim/stats")
    record send.limit.peak "$(echo "$stats" | grep -o '"max_offered_per_second":[0-9]*' | head -1 | cut -d: -f2)"
    stop_all

    kannel_round "kannel-$r" 20000
    record send.kannel "$kannel_rate"
    stop_all
  done
}

# --- idle sessions -----------------------------------------------------------

# $1 sessions, $2 rounds, $3 the name its figures are recorded under
scenario_idle() {
  log "idle: $1 sessions"
  for r in $(seq 1 "$2"); do
    fresh_pair "idle$1-$r"
    out=$(drive "idle$1-$r" --port "$port" --provider none --agents "$1" --token "$token" \
      --bind 127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4 --threads 2 --duration 1 --warmup 0 \
      --gateway-pid "$gateway_pid")
    up=$(echo "$out" | jget agents_up)
    [ "$up" -eq "$1" ] || { echo "only $up of $1 idle sessions came up" >&2; exit 1; }
    record "$3" "$(echo "$out" | jget bytes_per_session)"
    record "$3.connect" "$(echo "$out" | jget connect_s)"
    record "$3.sessions" "$1"
    stop_all
  done
}

# $1 sessions over TLS (bench/tls_sessions.py: gateway-load speaks plain TCP
# only), one round, a fresh gateway with a throwaway self-signed certificate.
scenario_idle_tls() {
  log "idle: $1 sessions over TLS"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -keyout "$work/tls.key" -out "$work/tls.crt" 2> /dev/null
  gateway_config "$(free_port)"
  GATEWAY_TLS_CERT_FILE="$work/tls.crt" GATEWAY_TLS_KEY_FILE="$work/tls.key" BENCH_SCHEME=https \
    start_gateway "$gateway_bin" idle-tls --threads 2 --config "$work/gw.json"
  gateway_pid=${pids##* }
  echo "idle-tls-1 bench/tls_sessions.py PORT $1 PID $token" >> "$work/commands"
  out=$(python3 "$root/bench/tls_sessions.py" "$port" "$1" "$gateway_pid" "$token")
  log "idle-tls-1 $out"
  record idle.tls "$(echo "$out" | sed -n 's/.*: \([0-9]*\) bytes per session.*/\1/p')"
  record idle.tls.sessions "$1"
  stop_all
}

# --- restart -----------------------------------------------------------------

scenario_restart() {
  log "restart"
  for r in $(seq 1 "$rounds"); do
    d="$work/restart-$r"
    "$build/bench/journal_bench" --phase append --dir "$d" --events 1000000 \
      --conversations 1000000 > "$work/append-$r.out"
    record core.append "$(awk '/durable events\/s/ {print $2}' "$work/append-$r.out")"
    "$build/bench/journal_bench" --phase recover --dir "$d" > "$work/recover-$r.out"
    # "recovery: N events, C conversations in T ms (...)", "memory: B resident bytes per ..."
    record core.recover.ms "$(awk '/^recovery:/ {for (i = 2; i <= NF; i++) if ($i == "ms") print $(i - 1)}' "$work/recover-$r.out")"
    record core.bytes "$(awk '/^memory:/ {print $2}' "$work/recover-$r.out")"
    # The gateway itself over the same journal: start to /readyz.
    gateway_config 9 # no simulator needed
    port=$(free_port)
    t0=$(date +%s%N)
    "$gateway_bin" --listen "127.0.0.1:$port" --data-dir "$d" --threads 2 \
      --config "$work/gw.json" 2> "$work/restart-$r.log" &
    pids="$pids $!"
    gateway_pid=$!
    until curl -sf "http://127.0.0.1:$port/readyz" > /dev/null; do
      sleep 0.02
      [ $(($(date +%s%N) - t0)) -lt 60000000000 ] || { echo "the gateway did not recover in 60 s" >&2; exit 1; }
    done
    record restart.ms $((($(date +%s%N) - t0) / 1000000))
    record restart.rss "$(awk '/VmRSS/ {print $2}' "/proc/$gateway_pid/status")"
    stop_all
    rm -rf "$d"
  done
}

# --- components --------------------------------------------------------------

scenario_components() {
  log "components"
  "$build/bench/micro_bench" --benchmark_filter='BM_MailboxProducers/1|BM_WhatsAppVerifyAndParse|BM_TwilioVerifyAndParse' \
    --benchmark_repetitions="$rounds" --benchmark_format=json 2> /dev/null > "$work/micro.json"
  python3 - "$work/micro.json" >> "$work/results" <<'PY'
import json, statistics, sys
runs = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("run_type") != "iteration":
        continue
    name = b["run_name"].split("/")[0]
    value = b["items_per_second"] / 1e6 if name == "BM_MailboxProducers" else b["cpu_time"]
    runs.setdefault(name, []).append(value)
for name, values in runs.items():
    for v in values:
        print(f"micro.{name} {v:.1f}")
PY
}

# --- run everything ----------------------------------------------------------

scenarios=${SUITE_SCENARIOS:-"components restart ingest fanout100 clinics fanout1000 conversation sending idle"}
for s in $scenarios; do
  case $s in
    components) scenario_components ;;
    restart) scenario_restart ;;
    ingest) scenario_ingest ;;
    fanout100) scenario_fanout 100 100 10000 ;;
    clinics) scenario_fanout clinics 100 10000 10 ;;
    # 600,000 frames/s offered: room to show the 500,000 target met or not.
    fanout1000) scenario_fanout 1000 1000 600 ;;
    conversation) scenario_conversation ;;
    sending) scenario_sending ;;
    idle)
      scenario_idle 10000 "$rounds" idle10000
      scenario_idle "$most_sessions" 1 idle.most
      scenario_idle_tls 2000
      ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
  esac
done
if [ -n "${SUITE_SCENARIOS:-}" ]; then
  # One line per figure, its runs in the order they ran (so run i of
  # send.accepted and of send.kannel are the same round).
  sort -s -k1,1 "$work/results" | awk '$1 != last { if (NR > 1) print line; line = $1; last = $1 }
    { line = line " " $2 } END { if (NR > 0) print line }'
  exit 0
fi
elapsed=$(($(date +%s) - began))
log "done in $elapsed s; writing bench/RESULTS.md"
python3 "$root/bench/report.py" "$work/results" "$work/commands" "$rounds" "$secs" "$elapsed" \
  "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  "$root/bench/PROFILE.md" > "$work/RESULTS.md"
mv "$work/RESULTS.md" "$root/bench/RESULTS.md"
log "bench/RESULTS.md written"
