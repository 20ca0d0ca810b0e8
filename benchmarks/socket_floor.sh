#!/usr/bin/env bash
# The socket servers' own cost (benchmarks/socket_floor.py's do-nothing app):
# RSS per idle socket and CPU per socket-send, one JSON line per server.
#   benchmarks/socket_floor.sh                          # S=2000 K=20
#   S=200 K=5 SERVERS="granian" benchmarks/socket_floor.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="$PWD/.venv"
S="${S:-2000}" K="${K:-20}" PORT="${PORT:-8073}"
SERVERS="${SERVERS:-granian uvicorn:websockets-sansio uvicorn:websockets daphne hypercorn}"
ulimit -n "$(ulimit -Hn)"
for server in $SERVERS; do
  kind=${server%%:*} ws=${server#*:}
  case "$kind" in
    granian) cmd=("$VENV"/bin/granian --interface asgi --host 127.0.0.1 --port "$PORT" --workers 1
                  --no-access-log socket_floor:app) ;;
    uvicorn) cmd=("$VENV"/bin/uvicorn socket_floor:app --host 127.0.0.1 --port "$PORT" --loop uvloop
                  --http httptools --ws "$ws" --no-access-log) ;;
    daphne) cmd=("$VENV"/bin/daphne -b 127.0.0.1 -p "$PORT" socket_floor:app) ;;
    hypercorn) cmd=("$VENV"/bin/hypercorn --bind "127.0.0.1:$PORT" --workers 1 socket_floor:app) ;;
  esac
  (cd benchmarks && exec "${cmd[@]}") >/tmp/socket-floor.log 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
  printf '{"server": "%s", ' "$server"
  .venv/bin/python benchmarks/socket_floor.py "http://127.0.0.1:$PORT" "$pid" "$S" "$K" | cut -c2-
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
