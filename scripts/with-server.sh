#!/usr/bin/env bash
# Run a command against a production-like Nexus: daphne, DEBUG off, rate
# limits lifted, on whatever DATABASE_URL / REDIS_URL say. The server's URL
# is exported as NEXUS_URL and its process id as NEXUS_SERVER_PID; the server
# stops when the command ends.
#   scripts/with-server.sh .venv/bin/python benchmarks/votes.py --votes 2000
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${NEXUS_PORT:-8011}"
export NEXUS_URL="http://127.0.0.1:$PORT"
export SECRET_KEY="${SECRET_KEY:-with-server-only}" DEBUG=0
export NEXUS_THROTTLE_ANON=1000000/min NEXUS_THROTTLE_ANON_IP=1000000/min \
       NEXUS_THROTTLE_USER=1000000/min
log="${TMPDIR:-/tmp}/nexus-server-$PORT.log"
ulimit -n "$(ulimit -Hn)"  # thousands of sockets
.venv/bin/python manage.py migrate -v0
WORKERS="${NEXUS_WORKERS:-1}"  # server processes (granian only)
case "${NEXUS_SERVER:-daphne}" in  # which server (docs/BENCHMARKS.md)
  daphne) server_cmd=(.venv/bin/daphne -b 127.0.0.1 -p "$PORT" nexus.asgi:application) ;;
  uvicorn) server_cmd=(.venv/bin/uvicorn nexus.asgi:application --host 127.0.0.1 --port "$PORT"
                       --loop uvloop --http httptools --ws websockets --lifespan off
                       --no-access-log) ;;
  granian) server_cmd=(.venv/bin/granian --interface asgi --host 127.0.0.1 --port "$PORT"
                       --workers "$WORKERS" --no-access-log nexus.asgi:application) ;;
  granian-wsgi) server_cmd=(.venv/bin/granian --interface wsgi --host 127.0.0.1 --port "$PORT"
                            --workers "$WORKERS" --no-access-log nexus.wsgi:application) ;;
  *) echo "NEXUS_SERVER must be daphne, uvicorn, granian or granian-wsgi" >&2; exit 2 ;;
esac
"${server_cmd[@]}" >"$log" 2>&1 &
server=$!
export NEXUS_SERVER_PID=$server
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf -o /dev/null "$NEXUS_URL/api/polls/" && break
  kill -0 $server 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.2
done
"$@"
