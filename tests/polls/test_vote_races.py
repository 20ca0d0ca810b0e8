"""A first ballot racing an edit of its poll, on real Postgres.

A second connection holds the poll row (as an owner's edit does), the vote
pipeline parks the ballot (it never waits long for a held row), the edit commits,
and the ballot goes on. It must end as a clear 4xx with nothing
written, never a 500 and never a ballot that breaks the poll's new rules.
"""

import threading

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, connections
from rest_framework.test import APIClient

from polls.models import Ballot, BallotChoice
from polls.services import pipeline
from tests.conftest import client_for
from tests.factories import UserFactory, make_poll
from tests.helpers import choice_ids, vote
from tests.servers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres")]


def holder() -> psycopg.Connection:
    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"], port=s["PORT"] or 5432, user=s["USER"], dbname=s["NAME"], autocommit=False
    )


def wait_until_votes_wait_for_the_poll(count: int = 1, deadline: float = 10.0) -> None:
    """The pipeline's committer does not wait long for a held poll row: it
    parks the poll's writes and waits for the lock in bounded tries
    (polls.services.pipeline)."""
    committer = pipeline._committer()
    wait_for(lambda: committer.waiting >= count, deadline, "votes to wait for the poll")


def vote_in_background(poll_id: str, choices: list[int]) -> tuple[threading.Thread, list]:
    """One vote from a thread of its own (its own connection, closed after);
    the response lands in the list once it is answered."""
    answers: list = []

    def cast():
        try:
            answers.append(vote(APIClient(), poll_id, choices))
        finally:
            connections.close_all()

    thread = threading.Thread(target=cast)
    thread.start()
    return thread, answers


def vote_while_an_edit_holds_the_poll(poll, choices: list[int], edit_sql: list[tuple]):
    with holder() as edit:
        edit.execute("SELECT 1 FROM polls_poll WHERE id = %s FOR UPDATE", [poll.id])
        thread, answers = vote_in_background(poll.id, choices)
        wait_until_votes_wait_for_the_poll()
        for sql, params in edit_sql:
            edit.execute(sql, params)
        edit.commit()
    thread.join(timeout=30)
    return answers[0]


def test_choices_replaced_during_a_first_ballot_refuse_it_cleanly(capsys):
    poll = make_poll(owner=UserFactory())
    red = choice_ids(poll)[0]
    response = vote_while_an_edit_holds_the_poll(
        poll,
        [red],
        [
            ("DELETE FROM polls_choice WHERE poll_id = %s", [poll.id]),
            (
                "INSERT INTO polls_choice (poll_id, text, position, votes)"
                " VALUES (%s, 'Cyan', 0, 0), (%s, 'Magenta', 1, 0)",
                [poll.id, poll.id],
            ),
        ],
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_choice"
    assert not Ballot.objects.exists() and not BallotChoice.objects.exists()
    call_command("recount", poll.id)
    assert "fixed 0 drifted" in capsys.readouterr().out


def test_a_poll_made_single_choice_during_a_three_mark_ballot_refuses_it(capsys):
    poll = make_poll(owner=UserFactory(), kind="multiple", max_choices=3)
    response = vote_while_an_edit_holds_the_poll(
        poll,
        choice_ids(poll),
        [("UPDATE polls_poll SET kind = 'single', max_choices = 1 WHERE id = %s", [poll.id])],
    )
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_choice", "detail": "Pick at most 1 choice."}
    assert not Ballot.objects.exists()
    call_command("recount", poll.id)
    assert "fixed 0 drifted" in capsys.readouterr().out


def test_a_poll_made_invite_only_during_a_ballot_refuses_the_anonymous_voter():
    poll = make_poll(owner=UserFactory())
    response = vote_while_an_edit_holds_the_poll(
        poll,
        choice_ids(poll)[:1],
        [("UPDATE polls_poll SET eligibility = 'invite' WHERE id = %s", [poll.id])],
    )
    assert (response.status_code, response.json()["code"]) == (403, "not_invited")
    assert not Ballot.objects.exists()


def test_fifty_new_voters_from_one_address_at_once_fill_the_cap_exactly(capsys):
    from tests.polls.test_concurrency import run_together

    poll = make_poll(owner=UserFactory(), max_ballots_per_address=10)
    ids = choice_ids(poll)
    statuses = run_together(
        50, lambda i: vote(APIClient(), poll.id, [ids[i % 3]], voter=f"crowd-{i}").status_code
    )
    assert sorted(statuses) == [201] * 10 + [429] * 40
    assert Ballot.objects.filter(poll=poll).count() == 10
    call_command("recount", poll.id)
    assert "fixed 0 drifted" in capsys.readouterr().out


def test_a_burst_of_passcode_guesses_gets_only_the_limit_judged(settings):
    from tests.polls.test_concurrency import run_together

    settings.NEXUS_FAILURE_RATES = settings.NEXUS_FAILURE_RATES | {"passcode": "5/min"}
    poll = make_poll(owner=UserFactory(), eligibility="passcode", passcode="blue-owl")
    red = choice_ids(poll)[:1]

    def guess(i):
        guessed = "blue-owl" if i == 19 else f"guess-{i}"
        return vote(APIClient(), poll.id, red, voter=f"g{i}", **{"X-Poll-Passcode": guessed})

    statuses = sorted(r.status_code for r in run_together(20, guess))
    judged = [s for s in statuses if s != 429]
    assert len(judged) <= 5 and statuses.count(429) >= 15
    assert Ballot.objects.count() == statuses.count(201)


def test_revoking_an_invite_while_it_votes_never_deadlocks():
    from polls.services import invites
    from tests.polls.test_concurrency import run_together

    owner = UserFactory()
    poll = make_poll(owner=owner, eligibility="invite")
    tokens = invites.invites_mint(poll_id=poll.id, user=owner, count=10)
    red = choice_ids(poll)[0]
    url = f"/api/polls/{poll.id}/votes/"
    revoker = client_for(owner)

    def act(i):
        token = tokens[i // 2]
        if i % 2:
            return revoker.delete(f"/api/polls/{poll.id}/invites/{token}/").status_code
        body = {"choices": [red]}
        return APIClient().post(url, body, format="json", HTTP_X_VOTER_ID=token).status_code

    statuses = run_together(20, act)
    votes, revokes = statuses[0::2], statuses[1::2]
    assert set(votes) <= {201, 403} and set(revokes) <= {204, 409}
    for voted, revoked in zip(votes, revokes, strict=True):
        assert (voted, revoked) in {(201, 409), (403, 204)}
    assert Ballot.objects.count() == votes.count(201)
