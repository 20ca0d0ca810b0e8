#!/usr/bin/env bash
# A text poll's word cloud against a single-choice poll: production's layout,
# the same run, alternating, ROUNDS times; one line per run (docs/BENCHMARKS.md).
#   ROUNDS=2 SUBSCRIBERS=1000 VOTES=2000 benchmarks/text_vs_single.sh
# DATABASE_URL and REDIS_URL as for scripts/with-server.sh. Fails on a run
# that is not exact or whose screens never converged.
set -euo pipefail
cd "$(dirname "$0")/.."
export ROUNDS="${ROUNDS:-2}" SUBSCRIBERS="${SUBSCRIBERS:-1000}" VOTES="${VOTES:-2000}"
out=$(mktemp -d)
export out
NEXUS_SERVER=split NEXUS_WORKERS=2 scripts/with-server.sh bash -ec '
for round in $(seq 1 "$ROUNDS"); do
  for kind in single text; do
    .venv/bin/nexus-loadtest --url "$NEXUS_URL" --ws-url "$NEXUS_WS_URL" \
      --subscribers "$SUBSCRIBERS" --processes 2 --votes "$VOTES" --rate 100 --kind "$kind" \
      --pid "${NEXUS_SERVER_PIDS##* }" --json "$out/$round-$kind.json" > /dev/null
    .venv/bin/python -c "
import json, sys
r = json.load(open(sys.argv[1]))
keys = (\"post_p99_ms\", \"vote_to_screen_p50_ms\", \"vote_to_screen_p99_ms\",
        \"messages_per_subscriber\", \"largest_state_bytes\", \"convergence_s\", \"exact\")
print(json.dumps({\"run\": sys.argv[2], **{k: r[k] for k in keys}}))
sys.exit(0 if r[\"exact\"] and r[\"convergence_s\"] is not None else 1)
" "$out/$round-$kind.json" "r$round-$kind"
  done
done'
# Each round's text / single ratios, and their medians (the figure compared
# with the target: one round's p99 is its few slowest probes).
.venv/bin/python - "$out" "$ROUNDS" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
ratios = {"p50": [], "p99": []}
for n in range(1, rounds + 1):
    single, text = (json.load(open(f"{out}/{n}-{kind}.json")) for kind in ("single", "text"))
    for q in ratios:
        ratios[q].append(text[f"vote_to_screen_{q}_ms"] / single[f"vote_to_screen_{q}_ms"])
print(json.dumps({
    **{f"text_over_single_{q}": [round(r, 2) for r in rs] for q, rs in ratios.items()},
    **{f"median_{q}": round(statistics.median(rs), 2) for q, rs in ratios.items()},
}))
PY
