"""Time `services.vote_cast` in-process: the vote path without HTTP noise.

    DATABASE_URL=postgres://... SECRET_KEY=x python benchmarks/vote_service.py --votes 3000

Creates a poll, casts V first ballots one after another from distinct voters,
prints statements and microseconds per vote, then deletes the poll.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexus.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from polls import services  # noqa: E402
from polls.voters import Voter  # noqa: E402
from realtime import broadcast  # noqa: E402


def main(votes: int) -> dict:
    broadcast.poll_changed = lambda poll_id: None  # the broadcast is not the vote's cost
    owner, _ = get_user_model().objects.get_or_create(username="bench-owner")
    poll = services.poll_create(owner=owner, question="Bench", choices=["A", "B", "C"])
    choices = list(poll.choices.values_list("id", flat=True))
    timings = []
    with CaptureQueriesContext(connection) as queries:
        services.vote_cast(
            poll_id=poll.id, voter=Voter(key="anon:warm", anon_id="warm"), choice_ids=[choices[0]]
        )
    for n in range(votes):
        voter = Voter(key=f"anon:bench-{n:08}", anon_id=f"bench-{n:08}")
        started = time.perf_counter()
        services.vote_cast(poll_id=poll.id, voter=voter, choice_ids=[choices[n % 3]])
        timings.append(time.perf_counter() - started)
    services.poll_delete(poll_id=poll.id, user=owner)
    return {
        "votes": votes,
        "statements_per_vote": len(queries.captured_queries),
        "mean_us": round(statistics.mean(timings) * 1e6),
        "p50_us": round(statistics.median(timings) * 1e6),
        "p99_us": round(statistics.quantiles(timings, n=100)[98] * 1e6),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--votes", type=int, default=3000)
    print(json.dumps(main(parser.parse_args().votes)))
