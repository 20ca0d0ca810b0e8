"""What the results history costs per vote (rows, bytes) next to the ballot
itself, and how long reading it back takes.

    DATABASE_URL=postgres://... SECRET_KEY=x python benchmarks/history_cost.py --votes 5000

For each `--rates` (votes per second, on a clock moved by hand), casts
`--votes` ballots through the vote service into a poll of four choices,
then counts the poll's ResultSnapshot rows and their bytes as the database
stores them (`pg_column_size` of each row, plus the 24-byte tuple header
and 4-byte item pointer, plus the primary key's entries), beside its
ballots' and marks'. Checks the newest point equals the results, reads the
history at 1s and 1m, prints one JSON line per rate, deletes the polls.
"""

import argparse
import json
import os
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexus.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import AnonymousUser  # noqa: E402
from django.db import connection  # noqa: E402

from polls import selectors, services  # noqa: E402
from polls.integrity import Signals  # noqa: E402
from polls.models import Ballot, BallotChoice, ResultSnapshot  # noqa: E402
from polls.services import batch_sql  # noqa: E402
from polls.voters import Voter, voter_id_issue  # noqa: E402

ROW_OVERHEAD = 24 + 4  # heap tuple header and line pointer
INDEX_ENTRY = 8 + 4  # an index tuple's header and line pointer, before its key


def stored_bytes(model, poll_id: str, key_bytes: int) -> int:
    """The rows' bytes in the heap plus one primary-key entry each (Postgres)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(SUM(pg_column_size(t.*)), 0), COUNT(*) FROM {table} t"
            " WHERE poll_id = %s",
            [poll_id],
        )
        data, rows = cursor.fetchone()
    return int(data) + rows * (ROW_OVERHEAD + INDEX_ENTRY + key_bytes)


def run(owner, votes: int, rate: float) -> dict:
    poll = services.poll_create(
        owner=owner,
        question="History bench",
        choices=["A", "B", "C", "D"],
        max_ballots_per_address=0,
    )
    ids = list(poll.choices.order_by("position").values_list("id", flat=True))
    clock = types.SimpleNamespace(now=1_795_000_000.0)
    real_time = batch_sql.time
    batch_sql.time = types.SimpleNamespace(time=lambda: clock.now)
    try:
        started = time.perf_counter()
        for n in range(votes):
            clock.now = 1_795_000_000 + n / rate
            services.vote_cast(
                poll_id=poll.id,
                voter=Voter.for_anon(voter_id_issue()),
                choice_ids=[ids[(n * 7 + n // 5) % 4]],
                signals=Signals(net=f"n{n:014}", agent="a", voter_age=3600),
            )
        cast_s = time.perf_counter() - started
    finally:
        batch_sql.time = real_time
    try:
        rows = ResultSnapshot.objects.filter(poll=poll).count()
        snapshot_bytes = stored_bytes(ResultSnapshot, poll.id, key_bytes=8 + 8)
        ballot_bytes = stored_bytes(Ballot, poll.id, key_bytes=8) + stored_bytes(
            BallotChoice, poll.id, key_bytes=8
        )
        results = selectors.results_get(poll_id=poll.id, user=owner, voter=None)
        reads = {}
        for name, every in (("1s", 1), ("1m", 60)):
            started, points, after = time.perf_counter(), [], None
            while True:  # every page, as a client follows `next`
                body = selectors.results_history(
                    poll_id=poll.id, user=AnonymousUser(), voter=None, every=every, after=after
                )
                points += body["points"]
                if (after := body["after"]) is None:
                    break
            reads[f"read_{name}_ms"] = round((time.perf_counter() - started) * 1000, 1)
            reads[f"points_{name}"] = len(points)
            last = points[-1]
            assert (last["version"], last["total_votes"]) == (results["version"], votes), (
                last,
                results,
            )
            assert [c["votes"] for c in last["choices"]] == [c["votes"] for c in results["choices"]]
        return {
            "votes": votes,
            "votes_per_s": rate,
            "snapshot_rows": rows,
            "rows_per_vote": round(rows / votes, 4),
            "history_bytes_per_vote": round(snapshot_bytes / votes, 1),
            "ballot_bytes_per_vote": round(ballot_bytes / votes, 1),
            "history_share": round(snapshot_bytes / (snapshot_bytes + ballot_bytes), 3),
            "cast_s": round(cast_s, 2),
            **reads,
            "exact": True,
        }
    finally:
        services.poll_delete(poll_id=poll.id, user=owner)


def main(votes: int, rates: list[float]) -> None:
    if connection.vendor != "postgresql":
        sys.exit("history_cost: point DATABASE_URL at Postgres (bytes are Postgres')")
    owner = get_user_model().objects.create_user(f"bench-h-{time.time_ns()}")
    try:
        for rate in rates:
            print(json.dumps(run(owner, votes, rate)), flush=True)
    finally:
        owner.delete()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=5000)
    parser.add_argument("--rates", default="1,10,100", help="votes per second, comma-separated")
    args = parser.parse_args()
    main(args.votes, [float(r) for r in args.rates.split(",")])
