"""Time the vote path in-process, without network noise.

    DATABASE_URL=postgres://... SECRET_KEY=x python benchmarks/vote_service.py --votes 3000
    ... benchmarks/vote_service.py --through view   # the whole Django request

Creates a poll, casts V first ballots one after another from distinct voters,
prints statements and microseconds per vote, then deletes the poll.
`--through service` calls `services.vote_cast`; `--through view` sends each
vote through Django's request handler (middleware, DRF view, serializer,
idempotency, throttles) with the test client, which is what a WSGI worker
runs. Run it under `python -m pyinstrument` to see where the time goes.
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
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from polls import services  # noqa: E402
from polls.voters import Voter, voter_id_issue  # noqa: E402
from realtime import publish  # noqa: E402


def main(votes: int, through: str) -> dict:
    publish.poll_changed = lambda poll_id: None  # the broadcast is not the vote's cost
    owner, _ = get_user_model().objects.get_or_create(username="bench-owner")
    # One client address casts every ballot here: no address cap.
    poll = services.poll_create(
        owner=owner, question="Bench", choices=["A", "B", "C"], max_ballots_per_address=0
    )
    choices = list(poll.choices.values_list("id", flat=True))
    timings = []
    vote = _view_vote(poll.id) if through == "view" else _service_vote(poll.id)
    # Inside a transaction the pipeline commits on this thread's connection
    # (the committer thread has its own), so its statements can be counted.
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        vote(voter_id_issue(), choices[0])
    voter_ids = [voter_id_issue() for _ in range(votes)]
    for n, voter_id in enumerate(voter_ids):
        started = time.perf_counter()
        vote(voter_id, choices[n % 3])
        timings.append(time.perf_counter() - started)
    services.poll_delete(poll_id=poll.id, user=owner)
    return {
        "through": through,
        "votes": votes,
        # Through the view, Django's request_started signal empties the query log.
        "statements_per_vote": (
            sum(not q["sql"].startswith(("SAVEPOINT", "RELEASE")) for q in queries.captured_queries)
            if through == "service"
            else None
        ),
        "mean_us": round(statistics.mean(timings) * 1e6),
        "p50_us": round(statistics.median(timings) * 1e6),
        "p99_us": round(statistics.quantiles(timings, n=100)[98] * 1e6),
    }


def _service_vote(poll_id):
    def vote(voter_id, choice_id):
        voter = Voter.for_anon(voter_id)
        services.vote_cast(poll_id=poll_id, voter=voter, choice_ids=[choice_id])

    return vote


def _view_vote(poll_id):
    from django.test import Client

    client, path = Client(), f"/api/polls/{poll_id}/votes/"

    def vote(voter_id, choice_id):
        body = json.dumps({"choices": [choice_id]})
        response = client.post(
            path, body, content_type="application/json", headers={"X-Voter-Id": voter_id}
        )
        assert response.status_code == 201, response.content

    return vote


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--votes", type=int, default=3000)
    parser.add_argument("--through", choices=["service", "view"], default="service")
    args = parser.parse_args()
    print(json.dumps(main(args.votes, args.through)))
