#!/bin/sh
# Runs every libFuzzer target for SECONDS (default 15) on a scratch copy of
# its seed corpus; fails if any target finds a crash, leak or UB.
# usage: tests/fuzz/run.sh [SECONDS]   (after cmake --preset fuzz && cmake --build --preset fuzz)
set -eu
secs=${1:-15}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/gw-fuzz-XXXXXX)
trap 'rm -rf "$work"' EXIT
status=0
for target in whatsapp_webhook twilio_webhook signatures agent_frames sms adapters; do
  mkdir -p "$work/$target"
  cp "$root/tests/fuzz/corpus/$target/"* "$work/$target/"
  echo "fuzz: $target for ${secs}s"
  if ! "$root/build/fuzz/tests/fuzz/fuzz_$target" -max_total_time="$secs" -max_len=65536 \
       -artifact_prefix="$work/$target-" "$work/$target" > "$work/$target.log" 2>&1; then
    echo "fuzz: $target FAILED"; tail -40 "$work/$target.log"; status=1
  else
    grep -E "^Done|stat::number_of_executed_units" "$work/$target.log" | tail -1 || true
  fi
done
exit $status
