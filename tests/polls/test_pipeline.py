"""The vote pipeline: one batch decides each write in order, batches form
while a poll is busy, the lock order holds, a failing batch fails nobody, and
random mixed writes at once leave the tally equal to the ballots."""

import random
import threading

import pytest
from django.core.management import call_command
from django.db import connections
from rest_framework.test import APIClient

from polls.models import Ballot, Poll
from polls.services import pipeline
from polls.services.batch_decide import BallotWrite
from tests.factories import UserFactory, make_poll
from tests.helpers import anon, choice_ids, vote, voter_id
from tests.polls.test_concurrency import run_together
from tests.polls.test_vote_races import (
    holder,
    vote_in_background,
    wait_until_votes_wait_for_the_poll,
)
from tests.servers import wait_for


def no_drift(capsys, poll_id: str) -> bool:
    capsys.readouterr()
    call_command("recount", poll_id)
    return "fixed 0 drifted" in capsys.readouterr().out


def code(result) -> int | str:
    return result.code if isinstance(result, Exception) else result.status


@pytest.mark.django_db
def test_one_batch_decides_each_write_in_arrival_order(user, capsys):
    poll = make_poll(owner=user, allow_vote_change=True, max_ballots_per_address=2)
    red, green, blue = choice_ids(poll)
    a, b, here = anon("a"), anon("b"), "203.0.113.1"
    results = pipeline.commit_batch(
        [
            BallotWrite(poll.id, a, (red,), address=here),
            BallotWrite(poll.id, a, (green,), address=here),  # a change
            BallotWrite(poll.id, b, (blue,), address=here),
            BallotWrite(poll.id, anon("c"), (blue,), address=here),  # the cap is 2
            BallotWrite(poll.id, b, None),  # withdrawn
            BallotWrite(poll.id, b, (red, green)),  # single choice
            BallotWrite(poll.id, a, (red,), key="k", fingerprint="f"),
            BallotWrite(poll.id, a, (red,), key="k", fingerprint="f"),  # a retry
            BallotWrite(poll.id, a, (blue,), key="k", fingerprint="g"),
            BallotWrite("NOPE42", a, (red,)),
        ]
    )
    assert [code(r) for r in results] == [
        *(201, 200, 201, "address_limit", 204, "invalid_choice"),
        *(200, 200, "idempotency_mismatch", "not_found"),
    ]
    assert results[7].body == results[6].body
    poll.refresh_from_db()
    assert (poll.version, poll.total_votes) == (2, 1)  # one step for the whole batch
    assert [c.votes for c in poll.choices.order_by("position")] == [1, 0, 0]
    assert no_drift(capsys, poll.id)


@pytest.mark.django_db
def test_a_batch_that_fails_as_a_whole_is_committed_one_write_at_a_time(poll, monkeypatch):
    real_apply, sizes = pipeline.batch_sql.apply, []

    def fails_for_batches(batch):
        sizes.append(len(batch.writes))
        if len(batch.writes) > 1:
            raise RuntimeError("a statement of the batch failed")
        real_apply(batch)

    monkeypatch.setattr(pipeline.batch_sql, "apply", fails_for_batches)
    red = choice_ids(poll)[0]
    writes = [BallotWrite(poll.id, anon(f"v{n}"), (red,)) for n in range(3)]
    assert [code(r) for r in pipeline.commit_batch(writes)] == [201, 201, 201]
    assert sizes == [3, 1, 1, 1]
    assert Ballot.objects.count() == 3


VOTES = 30


@pytest.mark.django_db(transaction=True)
def test_votes_that_arrive_while_the_poll_is_busy_commit_in_one_batch(postgres, capsys):
    poll = make_poll(owner=UserFactory(), max_ballots_per_address=0)
    red = choice_ids(poll)[0]
    statuses: list[int] = []

    def cast(n: int) -> None:
        try:
            statuses.append(vote(APIClient(), poll.id, [red], voter=f"q{n}").status_code)
        finally:
            connections.close_all()

    with holder() as edit:
        edit.execute("SELECT 1 FROM polls_poll WHERE id = %s FOR UPDATE", [poll.id])
        threads = [threading.Thread(target=cast, args=(n,)) for n in range(VOTES)]
        for thread in threads:
            thread.start()
        wait_until_votes_wait_for_the_poll(VOTES, deadline=30)
        # The one lock order: waiting for the poll, the batch has written nothing.
        written = edit.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            " WHERE c.relname IN ('polls_ballot', 'polls_ballotchoice', 'polls_choice')"
            " AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()"
        ).fetchone()
        assert written == (0,)
        edit.rollback()
    for thread in threads:
        thread.join(30)
    assert statuses == [201] * VOTES
    poll.refresh_from_db()
    assert (poll.total_votes, poll.version) == (VOTES, 2)  # one batch, one version step
    assert no_drift(capsys, poll.id)


@pytest.mark.django_db(transaction=True)
def test_a_poll_held_by_another_transaction_does_not_hold_up_other_polls(postgres):
    owner = UserFactory()
    held, free = make_poll(owner=owner), make_poll(owner=owner)

    with holder() as edit:  # as a reset of a big poll, or a slow owner transaction, would
        edit.execute("SELECT 1 FROM polls_poll WHERE id = %s FOR UPDATE", [held.id])
        thread, answers = vote_in_background(held.id, choice_ids(held)[:1])
        wait_until_votes_wait_for_the_poll()
        assert vote(APIClient(), free.id, choice_ids(free)[:1]).status_code == 201
        assert answers == [] and thread.is_alive()  # still waiting for its poll
        edit.rollback()
    thread.join(30)
    assert [a.status_code for a in answers] == [201]
    assert Ballot.objects.filter(poll__in=[held, free]).count() == 2


@pytest.mark.django_db(transaction=True)
def test_writes_behind_a_long_hold_wait_in_bounded_tries_and_then_commit(
    postgres, monkeypatch, caplog
):
    poll = make_poll(owner=UserFactory())
    tries: list[str] = []
    real = pipeline.commit_batch

    def commit_batch(writes, **options):
        results = real(writes, **options)
        if options.get("lock_wait") is not None:
            tries.append(type(results[0]).__name__)
        return results

    monkeypatch.setattr(pipeline, "LOCK_WAIT", 0.01)
    monkeypatch.setattr(pipeline, "commit_batch", commit_batch)

    with holder() as edit:
        edit.execute("SELECT 1 FROM polls_poll WHERE id = %s FOR UPDATE", [poll.id])
        thread, answers = vote_in_background(poll.id, choice_ids(poll)[:1])
        wait_for(lambda: tries.count("PollBusy") >= 3, 10, "three timed-out waits for the lock")
        assert answers == []
        edit.rollback()
    thread.join(30)
    assert [a.status_code for a in answers] == [201]
    assert tries[-1] == "VoteOutcome"  # the last wait got the lock and committed
    assert "failed" not in caplog.text  # a timed-out wait is not a failed batch
    assert Ballot.objects.filter(poll=poll).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_mixed_writes_at_once_leave_the_tally_equal_to_the_ballots(postgres, seed, capsys):
    rng = random.Random(seed)
    poll = make_poll(owner=UserFactory(), kind="multiple", max_choices=2, allow_vote_change=True)
    ids = choice_ids(poll)
    voters = [f"mixed-{seed}-{n}" for n in range(12)]
    ops = [
        (
            rng.choice(voters),
            rng.choice(["vote", "vote", "withdraw"]),
            rng.sample(ids, 2)[: rng.randint(1, 2)],
        )
        for _ in range(60)
    ]

    def act(i: int) -> int:
        name, kind, choices = ops[i]
        if kind == "withdraw":
            mine = f"/api/polls/{poll.id}/votes/mine/"
            return APIClient().delete(mine, HTTP_X_VOTER_ID=voter_id(name)).status_code
        return vote(APIClient(), poll.id, choices, voter=name).status_code

    statuses = run_together(60, act)
    assert set(statuses) <= {200, 201, 204, 404}
    ballots = Ballot.objects.filter(poll=poll).count()
    assert ballots == statuses.count(201) - statuses.count(204)
    poll = Poll.objects.get(pk=poll.pk)
    assert poll.total_votes == ballots
    assert no_drift(capsys, poll.id)


@pytest.mark.django_db(transaction=True)
def test_the_committer_survives_a_failure_outside_any_batch(postgres, monkeypatch):
    poll = make_poll(owner=UserFactory())
    red = choice_ids(poll)[0]
    real, calls = pipeline.close_old_connections, []

    def unreachable_once():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database is unreachable")
        real()

    monkeypatch.setattr(pipeline, "close_old_connections", unreachable_once)
    first = vote(APIClient(), poll.id, [red], voter="survivor-1")
    second = vote(APIClient(), poll.id, [red], voter="survivor-2")
    assert (first.status_code, second.status_code) == (500, 201)
    assert first.json()["code"] == "server_error"
    assert Ballot.objects.filter(poll=poll).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_request_hands_its_connection_back_before_it_waits(postgres, monkeypatch):
    from django.db import connection

    poll = make_poll(owner=UserFactory())
    committer, held = pipeline._committer(), []
    real_submit = committer.submit

    def submit(write):
        held.append(connection.connection is not None)
        return real_submit(write)

    monkeypatch.setattr(committer, "submit", submit)
    assert Poll.objects.filter(pk=poll.pk).exists()  # this thread now holds a connection
    outcome = pipeline.commit(BallotWrite(poll.id, anon("pool"), (choice_ids(poll)[0],)))
    assert (outcome.status, held) == (201, [False])


@pytest.mark.django_db(transaction=True)
def test_one_key_on_two_polls_at_once_is_one_ballot_and_one_mismatch(postgres):
    owner = UserFactory()
    for round_ in range(8):
        polls = [make_poll(owner=owner), make_poll(owner=owner)]
        choices = [choice_ids(p)[0] for p in polls]

        def write(i: int, round_=round_, polls=polls, choices=choices):
            return pipeline.commit_batch(
                [
                    BallotWrite(
                        polls[i].id,
                        anon(f"k{round_}"),
                        (choices[i],),
                        key="K",
                        fingerprint=f"poll-{i}",
                    )
                ]
            )[0]

        results = run_together(2, write)
        assert sorted(str(code(r)) for r in results) == ["201", "idempotency_mismatch"]
