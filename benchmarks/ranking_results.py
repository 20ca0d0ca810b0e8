"""Time a ranking poll's results: the vote, and the read every live update makes.

    DATABASE_URL=postgres://... SECRET_KEY=x python benchmarks/ranking_results.py \
        --ballots 10000 --candidates 50

Casts B ballots from distinct voters through the vote service, each ranking
a random number of the C candidates in a random order (so nearly every
ballot is a distinct ranking: instant runoff's worst case), then times
`selectors.live_state`: the read (counts, places and whole rankings, in one
repeatable-read transaction) and the count (Borda points, first preferences,
every runoff round). Prints one JSON line; deletes the poll.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexus.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from polls import selectors, services  # noqa: E402
from polls.models import TallyLine  # noqa: E402
from polls.voters import Voter, voter_id_issue  # noqa: E402
from realtime import publish  # noqa: E402


def main(ballots: int, candidates: int, reads: int) -> dict:
    publish.poll_changed = lambda poll_id: None  # the broadcast is not the cost measured
    owner, _ = get_user_model().objects.get_or_create(username="bench-owner")
    poll = services.poll_create(
        owner=owner,
        question="Bench ranking",
        kind="ranking",
        choices=[f"Candidate {n}" for n in range(candidates)],
        max_ballots_per_address=0,
    )
    ids = list(poll.choices.values_list("id", flat=True))
    rng = random.Random(1)
    vote_s = []
    for _ in range(ballots):
        order = rng.sample(ids, rng.randint(1, candidates))
        started = time.perf_counter()
        services.vote_cast(
            poll_id=poll.id,
            voter=Voter.for_anon(voter_id_issue()),
            choice_ids=order,
            shape="ranking",
        )
        vote_s.append(time.perf_counter() - started)
    read_s = []
    for _ in range(reads):
        started = time.perf_counter()
        state = selectors.live_state(poll_id=poll.id)
        read_s.append(time.perf_counter() - started)
    assert state is not None and state.message["total_votes"] == ballots
    first_round = state.message["irv"]["rounds"][0]["counts"]
    assert sum(first_round.values()) == ballots  # every ballot counted in round one
    distinct = TallyLine.objects.filter(poll=poll, key__startswith="r:").count()
    services.poll_delete(poll_id=poll.id, user=owner)
    return {
        "ballots": ballots,
        "candidates": candidates,
        "distinct_rankings": distinct,
        "rounds": len(state.message["irv"]["rounds"]),
        "vote_p50_us": round(statistics.median(vote_s) * 1e6),
        "live_state_p50_ms": round(statistics.median(read_s) * 1e3, 1),
        "live_state_max_ms": round(max(read_s) * 1e3, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--ballots", type=int, default=10000)
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--reads", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(main(args.ballots, args.candidates, args.reads)))
