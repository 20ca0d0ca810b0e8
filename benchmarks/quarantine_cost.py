"""What the owner's integrity report, a quarantine and a release cost on a
big poll, and how long the quarantine holds the poll's row lock (votes on
that poll wait that long).

    DATABASE_URL=postgres://... SECRET_KEY=x python benchmarks/quarantine_cost.py --ballots 20000

Fills a single-choice poll through the vote service: `--ballots` people on
networks of their own, then a tenth as many stuffed ballots from one
network with new voter ids. Then times the report (the detector over every
ballot), the quarantine of the stuffer's signal and its release, checks
that the counts are exact after each, and prints one JSON line. Deletes the
poll.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexus.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from polls import selectors, services  # noqa: E402
from polls.integrity import Signals  # noqa: E402
from polls.models import Poll  # noqa: E402
from polls.services import integrity  # noqa: E402
from polls.voters import Voter, voter_id_issue  # noqa: E402

HOUR = 3600


def fill(owner, people: int, stuffed: int) -> Poll:
    poll = services.poll_create(
        owner=owner,
        question="Quarantine bench",
        choices=["Honest", "Stuffed"],
        max_ballots_per_address=0,
    )
    honest, bad = (c.id for c in poll.choices.order_by("position"))
    for n in range(people):
        services.vote_cast(
            poll_id=poll.id,
            voter=Voter.for_anon(voter_id_issue()),
            choice_ids=[honest],
            signals=Signals(net=f"n{n:014}", agent=f"a{n % 40}", voter_age=HOUR + n),
        )
    for _ in range(stuffed):
        services.vote_cast(
            poll_id=poll.id,
            voter=Voter.for_anon(voter_id_issue()),
            choice_ids=[bad],
            signals=Signals(net="attacker", agent="curl", voter_age=0),
        )
    return poll


def timed(call):
    started = time.perf_counter()
    value = call()
    return value, time.perf_counter() - started


def main(people: int) -> dict:
    owner = get_user_model().objects.create_user(f"bench-q-{time.time_ns()}")
    stuffed = max(60, people // 10)
    poll = fill(owner, people, stuffed)
    try:
        report, report_s = timed(lambda: selectors.poll_integrity(poll=poll))
        (signal,) = [s["id"] for s in report["signals"] if s["kind"] == "prefix_burst"]
        assert report["flagged"] >= stuffed, report["flagged"]
        found, detect_s = timed(lambda: selectors.poll_clusters(poll=poll))
        held, quarantine_s = timed(
            lambda: integrity.ballots_quarantine(poll_id=poll.id, user=owner, signal=signal)
        )
        after = Poll.objects.get(pk=poll.pk)
        assert (held.ballots, after.total_votes, after.quarantined) == (stuffed, people, stuffed)
        assert services.poll_recount(poll_id=poll.id) == []
        released, release_s = timed(
            lambda: integrity.ballots_release(poll_id=poll.id, user=owner, signal=signal)
        )
        after = Poll.objects.get(pk=poll.pk)
        assert (released.ballots, after.total_votes, after.quarantined) == (
            stuffed,
            people + stuffed,
            0,
        )
        # The lock is held for the move and the counters' rebuild only: the
        # quarantine's time less its detection before the lock.
        return {
            "ballots": people + stuffed,
            "stuffed": stuffed,
            "report_s": round(report_s, 3),
            "detect_s": round(detect_s, 3),
            "quarantine_s": round(quarantine_s, 3),
            "quarantine_lock_s": round(max(0.0, quarantine_s - detect_s), 3),
            "release_s": round(release_s, 3),
            "exact": True,
        }
    finally:
        services.poll_delete(poll_id=poll.id, user=owner)
        owner.delete()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=20000, help="honest ballots")
    print(json.dumps(main(parser.parse_args().ballots)))
