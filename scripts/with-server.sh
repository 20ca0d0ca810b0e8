#!/usr/bin/env bash
# Run a command against a production-like Nexus: DEBUG off, rate limits
# lifted (unless NEXUS_THROTTLE_* are set), on whatever DATABASE_URL /
# REDIS_URL say. NEXUS_SERVER picks the server (docs/BENCHMARKS.md);
# `split` is production's layout: the REST API from granian WSGI workers,
# WebSockets from granian ASGI processes (NEXUS_SOCKET_WORKERS, default 2:
# one per core, sharing the port; docker-compose runs two `sockets`
# containers of one each behind nginx; NEXUS_SOCKET_SERVER picks another:
# daphne, uvicorn, hypercorn).
# Exported for the command: NEXUS_URL (REST), NEXUS_WS_URL (sockets) and
# NEXUS_SERVER_PIDS (split: the socket server's parent process last); the
# servers stop when the command ends. NEXUS_WSGI_ARGS adds granian options
# to split's REST workers (e.g. --blocking-threads 16);
# NEXUS_ASGI_APP serves another ASGI app (benchmarks/socket_floor.sh).
#   NEXUS_SERVER=split NEXUS_WORKERS=2 scripts/with-server.sh \
#     .venv/bin/nexus-loadtest --url '$NEXUS_URL' ...
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${NEXUS_PORT:-8011}"
WORKERS="${NEXUS_WORKERS:-1}"  # REST worker processes (granian only)
export NEXUS_URL="http://127.0.0.1:$PORT" NEXUS_WS_URL="http://127.0.0.1:$PORT"
export SECRET_KEY="${SECRET_KEY:-with-server-only}" DEBUG=0 NEXUS_PUBLIC_URL="${NEXUS_PUBLIC_URL:-$NEXUS_URL}"
export NEXUS_THROTTLE_ANON="${NEXUS_THROTTLE_ANON:-1000000/min}" \
       NEXUS_THROTTLE_ANON_IP="${NEXUS_THROTTLE_ANON_IP:-1000000/min}" \
       NEXUS_THROTTLE_USER="${NEXUS_THROTTLE_USER:-1000000/min}" \
       NEXUS_THROTTLE_CHALLENGES="${NEXUS_THROTTLE_CHALLENGES:-1000000/min}" \
       NEXUS_THROTTLE_SIGNUPS="${NEXUS_THROTTLE_SIGNUPS:-1000000/hour}"
ulimit -n "$(ulimit -Hn)"  # thousands of sockets
.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py collectstatic --noinput -v0  # as the Dockerfile does: DEBUG is off

granian() {  # interface port app workers
  echo .venv/bin/granian --interface "$1" --host 127.0.0.1 --port "$2" --workers "$4" \
    --respawn-failed-workers --respawn-interval 1 --workers-kill-timeout 10 --no-access-log "$3"
}
APP="${NEXUS_ASGI_APP:-nexus.asgi:application}"
asgi() {  # kind port: one process serving the ASGI app (sockets and all)
  case "$1" in
    daphne) echo ".venv/bin/daphne -b 127.0.0.1 -p $2 $APP" ;;
    uvicorn) echo ".venv/bin/uvicorn $APP --host 127.0.0.1 --port $2
                  --loop uvloop --http httptools --ws ${NEXUS_UVICORN_WS:-websockets}
                  --lifespan off --no-access-log" ;;
    hypercorn) echo ".venv/bin/hypercorn --bind 127.0.0.1:$2 --workers 1 $APP" ;;
    granian) granian asgi "$2" "$APP" "${NEXUS_SOCKET_WORKERS:-2}" ;;
    *) echo "unknown ASGI server: $1" >&2; return 2 ;;
  esac
}
SERVER="${NEXUS_SERVER:-daphne}"
case "$SERVER" in
  daphne|uvicorn|hypercorn) commands=("$(asgi "$SERVER" "$PORT")") ;;
  granian) commands=("$(granian asgi "$PORT" "$APP" "$WORKERS")") ;;
  granian-wsgi) commands=("$(granian wsgi "$PORT" nexus.wsgi:application "$WORKERS")") ;;
  split) commands=("$(granian wsgi "$PORT" nexus.wsgi:application "$WORKERS") ${NEXUS_WSGI_ARGS:-}"
                   "$(asgi "${NEXUS_SOCKET_SERVER:-granian}" $((PORT + 1)))")
         NEXUS_WS_URL="http://127.0.0.1:$((PORT + 1))" ;;
  *) echo "NEXUS_SERVER must be daphne, uvicorn, hypercorn, granian, granian-wsgi or split" >&2
     exit 2 ;;
esac
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null || true' EXIT
for i in "${!commands[@]}"; do
  log="${TMPDIR:-/tmp}/nexus-server-$PORT-$i.log"
  ${commands[$i]} >"$log" 2>&1 &
  pids+=($!)
done
export NEXUS_SERVER_PIDS="${pids[*]}" NEXUS_SERVER_PID="${pids[0]}"
for url in "$NEXUS_URL" "$NEXUS_WS_URL"; do
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "$url/healthz" && break
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null || { cat "${TMPDIR:-/tmp}"/nexus-server-"$PORT"-*.log; exit 1; }
    done
    sleep 0.2
  done
done
"$@"
