#!/bin/sh
# Installs everything the gateway needs to build, test and benchmark on
# Debian 12, from Debian's archive only. Idempotent: installs only what is
# missing, and runs apt-get update only when something is.
set -eu

packages="g++ cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libssl-dev openssl liburing-dev libhiredis-dev
  libgoogle-perftools-dev libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  wrk nginx-light kannel kannel-extras curl procps bc python3"

missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
# Node.js runs the independent agent client test (tests/node); any node >= 18
# with npm will do, Debian's own packages when there is none.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing="$missing nodejs npm"
fi

# The test client's one npm dependency (ws), pinned by its lock file, from
# the npm registry; only when it is not there yet.
node_deps() {
  dir=$(cd "$(dirname "$0")/.." && pwd)/tests/node
  if [ ! -f "$dir/node_modules/ws/package.json" ]; then
    echo "setup: installing the test client's npm packages"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
}

if [ -z "$missing" ]; then
  echo "setup: all build and test dependencies are installed"
  node_deps
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1; then
  as_root="sudo"
else
  echo "setup: missing packages:$missing; run this script as root (or install sudo)" >&2
  exit 1
fi

echo "setup: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$as_root apt-get update -q
# nginx and Kannel are only benchmark baselines, started by the bench scripts
# on loopback ports; keep the packages from starting system-wide servers.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $as_root tee /usr/sbin/policy-rc.d >/dev/null
  $as_root chmod +x /usr/sbin/policy-rc.d
  trap '$as_root rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
$as_root apt-get install -y -q --no-install-recommends $missing
node_deps
echo "setup: done"
