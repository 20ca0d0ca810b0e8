#!/usr/bin/env bash
# Compare channels-redis' RedisPubSubChannelLayer and RedisChannelLayer: one
# server process on Postgres, S subscribers on one poll, votes at R/s. The
# channel layer gets a redis-server of its own (port 6390) so that its
# command count is not mixed with the cache's.
#   DATABASE_URL=postgres://... REDIS_URL=redis://... benchmarks/channel_layers.sh [S] [V] [R] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:-2000} V=${2:-1500} R=${3:-100} RUNS=${4:-3}
LAYER_PORT=${LAYER_PORT:-6390}
LABEL=${LABEL:-run}
redis-cli -p "$LAYER_PORT" shutdown nosave >/dev/null 2>&1 || true
redis-server --port "$LAYER_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
  --pidfile "/tmp/nexus-layer-redis.pid" >/dev/null
trap 'redis-cli -p "$LAYER_PORT" shutdown nosave >/dev/null 2>&1 || true' EXIT
export NEXUS_CHANNEL_REDIS_URL="redis://127.0.0.1:$LAYER_PORT/0"
for run in $(seq 1 "$RUNS"); do
  for layer in pubsub classic; do
    NEXUS_CHANNEL_LAYER=$layer scripts/with-server.sh bash -c "
      .venv/bin/nexus-loadtest --url \$NEXUS_URL --subscribers $S --votes $V \
        --rate $R --pid \$NEXUS_SERVER_PID --redis-url $NEXUS_CHANNEL_REDIS_URL \
        --json /tmp/nexus-$LABEL-$layer-$run.json >/dev/null 2>&1 || true"
    echo "$LABEL $layer run $run: $(tr -d '\n ' < /tmp/nexus-$LABEL-$layer-$run.json)"
  done
done
