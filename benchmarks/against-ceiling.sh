#!/usr/bin/env bash
# Nexus (production's layout) and the bare-Python ceiling (../shared/ceiling/)
# under the same load, alternating, ROUNDS times; one JSON line per run.
#   benchmarks/against-ceiling.sh            # 0 and 1,000 subscribers, 5,000 votes, 3 rounds
#   ROUNDS=1 VOTES=2000 LOADS="0" benchmarks/against-ceiling.sh
# Needs the machine's Postgres (database nexus_bench) and Redis. PG CPU per
# vote comes from --pid of the postmaster (its children included).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}" VOTES="${VOTES:-5000}" LOADS="${LOADS:-0 1000}"
CEILING="${NEXUS_CEILING_DIR:-../shared/ceiling}"
[ -x "$CEILING/run.sh" ] || { echo "no ceiling at $CEILING (set NEXUS_CEILING_DIR)" >&2; exit 2; }
PG_PID=$(pgrep -o -x postgres || pgrep -o postgres)
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/4}" SECRET_KEY=bench DEBUG=0
export DATABASE_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/nexus_bench}"
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'nexus_bench'" \
  | grep -q 1 || createdb -h 127.0.0.1 -U postgres nexus_bench
loadtest() {  # url ws-url subscribers tag
  local procs=""; [ "$3" -gt 0 ] && procs="--processes 2"
  rm -f "/tmp/against-ceiling-$4.json"
  .venv/bin/python manage.py loadtest --url "$1" --ws-url "$2" --subscribers "$3" --votes "$VOTES" \
    --connections 32 $procs --pid "$PG_PID" --json "/tmp/against-ceiling-$4.json" >/dev/null 2>&1 || true
  .venv/bin/python -c 'import json, sys; d = json.load(open(sys.argv[1])); print(json.dumps(
    {"run": sys.argv[2], "votes_per_s": d["votes_per_s"], "pg_cpu_ms_per_vote": d["server_cpu_ms_per_vote"],
     "exact": d["exact"]})); sys.exit(not d["exact"])' "/tmp/against-ceiling-$4.json" "$4"
}
for round in $(seq 1 "$ROUNDS"); do
  for subscribers in $LOADS; do
    PORT=8100 "$CEILING/run.sh" >/tmp/ceiling.log 2>&1 &
    ceiling=$!
    for _ in $(seq 1 300); do curl -s -o /dev/null http://127.0.0.1:8100/ && break; sleep 0.2; done
    curl -s -o /dev/null http://127.0.0.1:8100/ || { cat /tmp/ceiling.log >&2; exit 1; }
    loadtest http://127.0.0.1:8100 http://127.0.0.1:8100 "$subscribers" "r$round-ceiling-s$subscribers"
    kill "$ceiling"; wait "$ceiling" 2>/dev/null || true
    NEXUS_SERVER=split NEXUS_WORKERS=2 NEXUS_PORT=8061 scripts/with-server.sh bash -c \
      "$(declare -f loadtest); VOTES=$VOTES PG_PID=$PG_PID loadtest \$NEXUS_URL \$NEXUS_WS_URL $subscribers r$round-nexus-s$subscribers"
  done
done
