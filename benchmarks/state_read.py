"""Time the read behind every live state, per kind: Postgres's one statement
(selectors._TALLY_SQL) against the ORM's reads before it (a single-choice
poll's one query; the other kinds' reads in one transaction), the same
polls, alternating, in one run.

    DATABASE_URL=postgres://... SECRET_KEY=x python benchmarks/state_read.py --voters 2000

Fills a single-choice, a text and a Q&A poll through the services (V
ballots, V answers of a few words, V/10 questions with V upvotes), checks
that both reads build the same results, then times each READS times,
alternating the two. Prints one JSON line per kind; deletes the polls.
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

from polls import selectors, services  # noqa: E402
from polls.services import questions  # noqa: E402
from polls.voters import Voter, voter_id_issue  # noqa: E402
from realtime import publish  # noqa: E402

WORDS = ["clear", "demo", "slides", "pace", "deep", "useful", "funny", "long", "great", "code"]


def fill(owner, kind: str, voters: int):
    poll = services.poll_create(
        owner=owner,
        question=f"Bench {kind}",
        kind=kind,
        choices=["A", "B"] if kind == "single" else [],
        max_ballots_per_address=0,
    )
    people = [Voter.for_anon(voter_id_issue()) for _ in range(voters)]
    if kind == "qa":
        asked = [
            questions.question_ask(
                poll_id=poll.id,
                voter=people[n],
                user=owner,
                question=f"Question number {n}?",
                passcode=None,
                address="",
            )[0]
            for n in range(max(1, voters // 10))
        ]
        for n, voter in enumerate(people):
            questions.question_upvote(
                poll_id=poll.id,
                question_id=asked[(n * 7) % len(asked)].id,
                voter=voter,
                user=owner,
                up=True,
                passcode=None,
                address="",
            )
        return poll
    ids = list(poll.choices.values_list("id", flat=True))
    for n, voter in enumerate(people):
        if kind == "single":
            services.vote_cast(poll_id=poll.id, voter=voter, choice_ids=[ids[n % 2]])
        else:
            said = [WORDS[n % len(WORDS)], WORDS[(n * 7 + 3) % len(WORDS)]]
            services.vote_cast(
                poll_id=poll.id,
                voter=voter,
                choice_ids=[],
                shape="text",
                text=" ".join(said),
                words=said,
            )
    return poll


def before_single(poll_id: str):
    poll, choices = selectors._poll_with_choices(poll_id)
    return selectors.Tally(poll, choices, {}, [])


def main(voters: int, reads: int) -> list[dict]:
    if connection.vendor != "postgresql":
        sys.exit("state_read.py compares Postgres's one statement: set DATABASE_URL=postgres://…")
    publish.poll_changed = lambda poll_id: None  # the broadcast is not the cost measured
    owner, _ = get_user_model().objects.get_or_create(username="bench-state-read")
    lines = []
    for kind in ("single", "text", "qa"):
        poll = fill(owner, kind, voters)
        one = selectors.results_snapshot(selectors._tally_one_statement(poll.id))
        orm = selectors.results_snapshot(selectors._tally_transaction(poll.id))
        assert one == orm, f"{kind}: the two reads differ"
        timings: dict[str, list[float]] = {"one_statement": [], "orm_transaction": []}
        reads_of = {
            "one_statement": selectors._tally_one_statement,
            # Before, a single-choice poll was read in one ORM query (its
            # choices with the poll joined), the others in a transaction.
            "orm_transaction": before_single if kind == "single" else selectors._tally_transaction,
        }
        for _ in range(reads):
            for name, read in reads_of.items():
                started = time.perf_counter()
                read(poll.id)
                timings[name].append(time.perf_counter() - started)
        message = selectors.live_state(poll_id=poll.id).message
        services.poll_delete(poll_id=poll.id, user=owner)
        one_us = statistics.median(timings["one_statement"]) * 1e6
        orm_us = statistics.median(timings["orm_transaction"]) * 1e6
        lines.append(
            {
                "kind": kind,
                "voters": voters,
                "state_bytes": len(json.dumps(message, separators=(",", ":")).encode()),
                "one_statement_p50_us": round(one_us),
                "orm_transaction_p50_us": round(orm_us),
                "speedup": round(orm_us / one_us, 2),
            }
        )
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--voters", type=int, default=2000)
    parser.add_argument("--reads", type=int, default=500)
    args = parser.parse_args()
    for line in main(args.voters, args.reads):
        print(json.dumps(line))
