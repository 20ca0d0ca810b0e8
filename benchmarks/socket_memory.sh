#!/usr/bin/env bash
# RSS per idle socket, and the fan-out's CPU per socket-send beside it, for
# each ASGI server the sockets can run under, with the same consumers, in
# production's split layout (votes from a granian WSGI worker, sockets from
# the server measured, whose process alone is measured): S sockets on one
# poll (opened from 2 client processes), then V votes. One JSON line each.
#   benchmarks/socket_memory.sh                 # S=2000 V=200
#   S=500 V=50 SERVERS="granian daphne" benchmarks/socket_memory.sh
# Needs the machine's Postgres (database nexus_bench) and Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
S="${S:-2000}" V="${V:-200}"
SERVERS="${SERVERS:-granian daphne uvicorn:websockets uvicorn:websockets-sansio uvicorn:wsproto hypercorn}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/4}" SECRET_KEY=bench DEBUG=0
export DATABASE_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/nexus_bench}"
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'nexus_bench'" \
  | grep -q 1 || createdb -h 127.0.0.1 -U postgres nexus_bench
for server in $SERVERS; do
  kind=${server%%:*} ws=${server#*:}
  [ "$ws" = "$server" ] && ws=websockets
  out="/tmp/socket-memory-${server/:/-}.json"
  rm -f "$out"
  NEXUS_SERVER=split NEXUS_SOCKET_SERVER=$kind NEXUS_UVICORN_WS=$ws NEXUS_WORKERS=1 NEXUS_SOCKET_WORKERS=1 \
    NEXUS_PORT=8071 \
    scripts/with-server.sh bash -c \
    "pids=\"--pid \${NEXUS_SERVER_PIDS##* }\"; .venv/bin/nexus-loadtest --url \$NEXUS_URL \
     --ws-url \$NEXUS_WS_URL --subscribers $S --votes $V --connections 8 --processes 2 \$pids --json $out" \
    >/dev/null 2>&1 || true
  .venv/bin/python -c 'import json, sys; d = json.load(open(sys.argv[1])); print(json.dumps({
    "server": sys.argv[2], "sockets": d["subscribers"], "rss_kb_per_socket": d["server_rss_kb_per_socket"],
    "server_cpu_ms_per_vote": d["server_cpu_ms_per_vote"], "vote_to_screen_p99_ms": d["vote_to_screen_p99_ms"],
    "messages_per_subscriber": d["messages_per_subscriber"], "exact": d["exact"],
    "cpu_us_per_socket_send": round(d["server_cpu_s"] * 1e6 / max(1, d["subscribers"]
                                    * d["messages_per_subscriber"]), 1),
    "of_which_kernel_us": round(d["server_cpu_kernel_s"] * 1e6 / max(1, d["subscribers"]
                                * d["messages_per_subscriber"]), 1)})); sys.exit(not d["exact"])' \
    "$out" "$server" || { echo "$server: no exact result (see /tmp/nexus-server-8071-1.log)" >&2; exit 1; }
done
