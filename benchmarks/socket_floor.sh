#!/usr/bin/env bash
# The socket servers' own cost (benchmarks/socket_floor.py's do-nothing app),
# each started as scripts/with-server.sh starts it for Nexus: RSS per idle
# socket and CPU per socket-send, one JSON line per server.
#   benchmarks/socket_floor.sh                          # S=2000 K=20
#   S=200 K=5 SERVERS="granian" benchmarks/socket_floor.sh
set -euo pipefail
cd "$(dirname "$0")/.."
S="${S:-2000}" K="${K:-20}"
SERVERS="${SERVERS:-granian uvicorn:websockets-sansio uvicorn:websockets daphne hypercorn}"
export PYTHONPATH="$PWD/benchmarks" NEXUS_ASGI_APP=socket_floor:app
for server in $SERVERS; do
  kind=${server%%:*} ws=${server#*:}
  [ "$ws" = "$server" ] && ws=websockets
  printf '{"server": "%s", ' "$server"
  NEXUS_SERVER=$kind NEXUS_UVICORN_WS=$ws NEXUS_WORKERS=1 NEXUS_PORT=8073 scripts/with-server.sh \
    bash -c ".venv/bin/python benchmarks/socket_floor.py \$NEXUS_URL \$NEXUS_SERVER_PID $S $K" \
    | cut -c2-
done
