#!/usr/bin/env bash
# Nexus (production's layout) and the bare-Python ceiling (../shared/ceiling/)
# under the same load, alternating, ROUNDS times; one JSON line per run.
#   benchmarks/against-ceiling.sh            # 0 and 1,000 subscribers, 5,000 votes, 3 rounds
#   ROUNDS=1 VOTES=2000 LOADS="0" benchmarks/against-ceiling.sh
#   BEFORE_DIR=/tmp/before benchmarks/against-ceiling.sh   # also an older checkout, same rounds
#     (on BEFORE_DATABASE_URL when its migrations differ; default: the same database)
# Each round also runs open loop (OPEN=0 to skip): both servers offered half
# the ceiling's closed-loop votes/s of that round, at 0 subscribers, for POST
# latency from each vote's scheduled moment.
# Needs the machine's Postgres (database nexus_bench) and Redis. PG CPU per
# vote comes from --pid of the postmaster (its children included).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}" VOTES="${VOTES:-5000}" LOADS="${LOADS:-0 1000}" OPEN="${OPEN:-1}"
CEILING="${NEXUS_CEILING_DIR:-../shared/ceiling}"
[ -x "$CEILING/run.sh" ] || { echo "no ceiling at $CEILING (set NEXUS_CEILING_DIR)" >&2; exit 2; }
PG_PID=$(pgrep -o -x postgres || pgrep -o postgres)
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/4}" SECRET_KEY=bench DEBUG=0
export DATABASE_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/nexus_bench}"
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'nexus_bench'" \
  | grep -q 1 || createdb -h 127.0.0.1 -U postgres nexus_bench
loadtest() {  # url ws-url subscribers tag [rate]
  local procs=""; [ "$3" -gt 0 ] && procs="--processes 2"
  rm -f "/tmp/against-ceiling-$4.json"
  .venv/bin/nexus-loadtest --url "$1" --ws-url "$2" --subscribers "$3" --votes "$VOTES" \
    --connections 32 --rate "${5:-0}" $procs --pid "$PG_PID" --json "/tmp/against-ceiling-$4.json" \
    >/dev/null 2>&1 || true
  .venv/bin/python -c 'import json, sys; d = json.load(open(sys.argv[1])); print(json.dumps(
    {"run": sys.argv[2], "votes_per_s": d["votes_per_s"], "pg_cpu_ms_per_vote": d["server_cpu_ms_per_vote"],
     "rate_offered": d["rate_offered"], "post_p50_ms": d["post_p50_ms"], "post_p99_ms": d["post_p99_ms"],
     "exact": d["exact"]})); sys.exit(not d["exact"])' "/tmp/against-ceiling-$4.json" "$4"
}
ceiling() {  # subscribers tag [rate]
  PORT=8100 "$CEILING/run.sh" >/tmp/ceiling.log 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do curl -s -o /dev/null http://127.0.0.1:8100/ && break; sleep 0.2; done
  curl -s -o /dev/null http://127.0.0.1:8100/ || { cat /tmp/ceiling.log >&2; exit 1; }
  loadtest http://127.0.0.1:8100 http://127.0.0.1:8100 "$1" "$2" "${3:-0}"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
nexus() {  # directory subscribers tag [rate]
  local db="$DATABASE_URL"; [ "$1" = . ] || db="${BEFORE_DATABASE_URL:-$DATABASE_URL}"
  (cd "$1" && DATABASE_URL="$db" NEXUS_SERVER=split NEXUS_WORKERS=2 NEXUS_PORT=8061 scripts/with-server.sh bash -c \
    "$(declare -f loadtest); VOTES=$VOTES PG_PID=$PG_PID loadtest \$NEXUS_URL \$NEXUS_WS_URL $2 $3 ${4:-0}")
}
for round in $(seq 1 "$ROUNDS"); do
  for subscribers in $LOADS; do
    ceiling "$subscribers" "r$round-ceiling-s$subscribers"
    nexus . "$subscribers" "r$round-nexus-s$subscribers"
    if [ -n "${BEFORE_DIR:-}" ]; then nexus "$BEFORE_DIR" "$subscribers" "r$round-before-s$subscribers"; fi
  done
  if [ "$OPEN" = 1 ] && [[ " $LOADS " == *" 0 "* ]]; then  # half the ceiling's 0-subscriber capacity
    rate=$(.venv/bin/python -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["votes_per_s"] / 2))' \
      "/tmp/against-ceiling-r$round-ceiling-s0.json")
    ceiling 0 "r$round-ceiling-open" "$rate"
    nexus . 0 "r$round-nexus-open" "$rate"
    if [ -n "${BEFORE_DIR:-}" ]; then nexus "$BEFORE_DIR" 0 "r$round-before-open" "$rate"; fi
  fi
done
