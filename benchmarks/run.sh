#!/usr/bin/env bash
# Start a production-like server (DEBUG off, daphne) on the configured
# database, run benchmarks/votes.py against it, stop it. Args go to votes.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${BENCH_PORT:-8011}"
export SECRET_KEY="${SECRET_KEY:-benchmark-only}" DEBUG=0
# The benchmark votes from one address as fast as it can: lift the limits.
export NEXUS_THROTTLE_ANON=1000000/min NEXUS_THROTTLE_ANON_IP=1000000/min \
       NEXUS_THROTTLE_USER=1000000/min
.venv/bin/python manage.py migrate -v0
.venv/bin/daphne -b 127.0.0.1 -p "$PORT" nexus.asgi:application >/tmp/nexus-bench.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/polls/" && break
  kill -0 $server 2>/dev/null || { cat /tmp/nexus-bench.log; exit 1; }
  sleep 0.2
done
.venv/bin/python benchmarks/votes.py --url "http://127.0.0.1:$PORT" "$@"
