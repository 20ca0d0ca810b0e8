#!/usr/bin/env bash
# Schema-driven fuzzing of a running Nexus (NEXUS_URL) with schemathesis:
# every generated request must get a documented status, content type and
# body, never a 5xx, and requests that break the schema must be rejected.
# Extra arguments go to `st run` (e.g. --seed 7 --max-examples 200).
set -euo pipefail
cd "$(dirname "$0")/.."
url="${NEXUS_URL:?set NEXUS_URL, or run through scripts/with-server.sh}"
user="fuzz-$RANDOM$RANDOM"
NEXUS_FUZZ_TOKEN=$(curl -sf -XPOST "$url/api/auth/register/" -H 'Content-Type: application/json' \
  -d "{\"username\":\"$user\",\"password\":\"fuzz-$RANDOM-password-$RANDOM\"}" \
  | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["token"])')
# A real poll for the vote operations (see schemathesis.toml).
NEXUS_FUZZ_POLL=$(curl -sf -XPOST "$url/api/polls/" -H "Authorization: Token $NEXUS_FUZZ_TOKEN" \
  -H 'Content-Type: application/json' \
  -d '{"question":"Fuzz","choices":["a","b","c"],"kind":"multiple","allow_vote_change":true}' \
  | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["id"])')
export NEXUS_FUZZ_TOKEN NEXUS_FUZZ_POLL
# positive_data_acceptance is left out: a schema cannot say "choices must be
# unique" or "this username is taken", so valid-looking data may be refused.
.venv/bin/st --config-file scripts/schemathesis.toml run "$url/api/schema/" \
  --checks all --exclude-checks positive_data_acceptance "$@"
