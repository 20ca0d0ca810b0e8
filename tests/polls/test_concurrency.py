"""Real threads against real Postgres: the unique constraint and the poll
lock decide, whatever the interleaving."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import call_command
from django.db import connections
from rest_framework.test import APIClient

from polls import challenges, selectors, services
from polls.models import Ballot, BallotChoice, SpentChallenge
from polls.services import integrity
from polls.voters import voter_id_issue
from tests.factories import UserFactory, make_poll
from tests.helpers import cast, choice_ids, solve, vote

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres")]


@pytest.fixture(autouse=True)
def _fresh_pool():
    """A connection pool of the test's own. One that an earlier test left
    growing or reconnecting (the outage tests break connections on purpose)
    can make a thread here wait out the pool's 1.5 s: a 503, not the race
    under test."""
    from django.db import connection

    connection.close()
    connection.close_pool()


def run_together(n: int, task) -> list:
    """Run task(i) in n threads released at the same instant."""
    barrier = threading.Barrier(n, timeout=30)

    def worker(i):
        try:
            barrier.wait()
            return task(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(worker, range(n)))


def assert_recount_finds_no_drift(capsys, poll_id):
    capsys.readouterr()
    call_command("recount", poll_id)
    assert capsys.readouterr().out == "Recounted 1 poll(s); fixed 0 drifted counter(s).\n"


def test_fifty_simultaneous_votes_from_one_voter_leave_one_ballot(capsys):
    poll = make_poll(owner=UserFactory())
    ids = choice_ids(poll)
    statuses = run_together(50, lambda i: vote(APIClient(), poll.id, [ids[i % 3]]).status_code)
    assert sorted(statuses) == [201] + [409] * 49
    assert Ballot.objects.filter(poll=poll).count() == 1
    assert BallotChoice.objects.filter(poll=poll).count() == 1
    results = APIClient().get(f"/api/polls/{poll.id}/results/").json()
    assert results["total_votes"] == 1 and sum(c["votes"] for c in results["choices"]) == 1
    assert_recount_finds_no_drift(capsys, poll.id)


def test_fifty_simultaneous_changes_from_one_voter_keep_one_ballot(capsys):
    poll = make_poll(owner=UserFactory(), allow_vote_change=True)
    ids = choice_ids(poll)
    statuses = run_together(50, lambda i: vote(APIClient(), poll.id, [ids[i % 3]]).status_code)
    assert sorted(statuses) == [200] * 49 + [201]
    results = APIClient().get(f"/api/polls/{poll.id}/results/").json()
    assert results["total_votes"] == 1 and sum(c["votes"] for c in results["choices"]) == 1
    assert_recount_finds_no_drift(capsys, poll.id)


def test_two_hundred_simultaneous_voters_are_all_counted(capsys):
    poll = make_poll(owner=UserFactory())
    ids = choice_ids(poll)
    statuses = run_together(
        200, lambda i: vote(APIClient(), poll.id, [ids[i % 3]], voter=f"voter-{i:05}").status_code
    )
    assert statuses.count(201) == 200
    results = APIClient().get(f"/api/polls/{poll.id}/results/").json()
    assert results["total_votes"] == statuses.count(201)
    assert [c["votes"] for c in results["choices"]] == [67, 67, 66]
    # group commit: one version step per batch, at least one, at most one per vote
    assert 1 < results["version"] <= 1 + 200
    assert_recount_finds_no_drift(capsys, poll.id)


def test_simultaneous_retries_with_one_idempotency_key_count_once():
    poll = make_poll(owner=UserFactory())
    red = choice_ids(poll)[0]
    responses = run_together(
        20, lambda i: vote(APIClient(), poll.id, [red], **{"Idempotency-Key": "same"})
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert Ballot.objects.filter(poll=poll).count() == 1


def test_polls_added_to_one_event_at_once_get_distinct_places_in_order():
    from polls.models import EventPoll
    from polls.services import events
    from tests.conftest import client_for

    owner = UserFactory()
    event = events.event_create(owner=owner, title="All-hands")

    def add(i):
        body = {"question": f"Q{i}?", "choices": ["a", "b"], "event": event.id}
        return client_for(owner).post("/api/polls/", body, format="json").status_code

    # Well under the pool's 10 connections: each request holds one while it
    # waits for the event's row, the test's own thread holds one, and so may
    # the process's background threads (the vote committer, the live
    # coalescer); a request waiting for the pool past its 1.5 s would be a
    # 503, not the race this test is about.
    assert run_together(6, add) == [201] * 6
    positions = list(EventPoll.objects.filter(event=event).values_list("position", flat=True))
    assert sorted(positions) == list(range(6))
    event.refresh_from_db()
    assert event.version == 7


def test_deleting_the_current_poll_while_the_owner_switches_never_deadlocks():
    from polls.models import Event
    from polls.services import events
    from tests.conftest import client_for

    owner = UserFactory()
    event = events.event_create(owner=owner, title="All-hands")
    polls = [make_poll(owner=owner, event=event.id) for _ in range(6)]

    def act(i):
        client = client_for(owner)
        if i % 2:
            return client.delete(f"/api/polls/{polls[i].id}/").status_code
        url = f"/api/events/{event.id}/current/"
        return client.post(url, {"poll": polls[i + 1].id}, format="json").status_code

    statuses = run_together(6, act)
    assert all(s in (200, 204, 400) for s in statuses), statuses  # 400: switched to a deleted poll
    assert [s for i, s in enumerate(statuses) if i % 2] == [204, 204, 204]
    current = Event.objects.get(pk=event.id).current_id
    assert current is None or current in {p.id for p in polls[::2]}


def test_reordering_adding_and_deleting_at_once_keep_one_place_per_poll():
    from polls.models import EventPoll
    from polls.services import events
    from tests.conftest import client_for

    owner = UserFactory()
    event = events.event_create(owner=owner, title="All-hands")
    polls = [make_poll(owner=owner, event=event.id).id for _ in range(6)]

    def act(i):
        client = client_for(owner)
        if i % 3 == 0:
            url = f"/api/events/{event.id}/polls/"
            return client.put(url, {"polls": polls[::-1]}, format="json").status_code
        if i % 3 == 1:
            body = {"question": f"Q{i}?", "choices": ["a", "b"], "event": event.id}
            return client.post("/api/polls/", body, format="json").status_code
        return client.delete(f"/api/polls/{polls[i]}/").status_code

    statuses = run_together(6, act)
    # a reorder naming a poll deleted just before it is refused, never a 500
    assert all(s in (200, 201, 204, 400) for s in statuses), statuses
    positions = list(EventPoll.objects.filter(event=event).values_list("position", flat=True))
    assert len(positions) == len(set(positions))


def test_simultaneous_rankings_and_changes_keep_every_count_exact(capsys):
    """Forty voters rank at once, then twenty of them change their order at
    once: the places, the whole orders and the tally agree with the ballots."""
    poll = make_poll(
        owner=UserFactory(),
        kind="ranking",
        choices=["A", "B", "C", "D"],
        allow_vote_change=True,
        max_ballots_per_address=0,
    )
    ids = choice_ids(poll)

    def rank(i, rotation):
        order = ids[rotation % 4 :] + ids[: rotation % 4]
        body = {"ranking": order[: 1 + i % 4]}
        return cast(APIClient(), poll.id, body, voter=f"ranker-{i}").status_code

    assert run_together(40, lambda i: rank(i, i)) == [201] * 40
    assert run_together(20, lambda i: rank(i, i + 1)) == [200] * 20
    results = APIClient().get(f"/api/polls/{poll.id}/results/").json()
    assert results["total_votes"] == 40
    assert sum(results["irv"]["rounds"][0]["counts"].values()) == 40
    assert sum(c["first"] for c in results["choices"]) == 40
    assert BallotChoice.objects.filter(poll=poll).count() == sum(1 + i % 4 for i in range(40))
    assert_recount_finds_no_drift(capsys, poll.id)


def test_simultaneous_answers_keep_the_word_counts_exact(capsys):
    """Twenty voters send their two answers each, all forty at once: every
    answer is kept once, and the words add up to the answers."""
    from polls.models import Answer

    poll = make_poll(
        owner=UserFactory(),
        kind="text",
        choices=[],
        answers_per_voter=2,
        max_ballots_per_address=0,
    )

    def send(i):
        body = {"text": f"demo {['pizza', 'sushi'][i % 2]}"}
        return cast(APIClient(), poll.id, body, voter=f"writer-{i // 2}").status_code

    assert sorted(run_together(40, send)) == [200] * 20 + [201] * 20
    results = APIClient().get(f"/api/polls/{poll.id}/results/").json()
    assert results["total_votes"] == 20 and results["shown"] == 40
    assert {w["word"]: w["count"] for w in results["words"]} == {
        "demo": 40,
        "pizza": 20,
        "sushi": 20,
    }
    assert Answer.objects.filter(poll=poll).count() == 40
    assert_recount_finds_no_drift(capsys, poll.id)


def test_simultaneous_upvotes_are_one_per_voter_and_exact(capsys):
    """Forty upvotes at once, two from each of twenty voters, while two of
    them take theirs back: every voter's first counts once, the second is
    409, and the cached count equals the rows."""
    from polls.models import Question, Upvote
    from tests.helpers import voter_id

    poll = make_poll(owner=UserFactory(), kind="qa", choices=[])
    question = APIClient().post(
        f"/api/polls/{poll.id}/questions/",
        {"text": "Exact?"},
        format="json",
        HTTP_X_VOTER_ID=voter_id("asker"),
    )
    url = f"/api/polls/{poll.id}/questions/{question.json()['id']}/upvote/"

    def up(i):
        # As a client does: a 503 (forty requests queueing for the pool on a
        # slow machine) is tried again after its Retry-After, never counted.
        deadline = time.monotonic() + 60
        while True:
            answer = APIClient().post(url, HTTP_X_VOTER_ID=voter_id(f"fan-{i // 2}"))
            if answer.status_code != 503 or time.monotonic() > deadline:
                return answer.status_code
            time.sleep(float(answer["Retry-After"]))

    assert sorted(run_together(40, up)) == [200] * 20 + [409] * 20
    takes_back = run_together(
        4, lambda i: APIClient().delete(url, HTTP_X_VOTER_ID=voter_id(f"fan-{i // 2}")).status_code
    )
    assert sorted(takes_back) == [200, 200, 404, 404]
    assert Question.objects.get().upvotes == Upvote.objects.count() == 18
    results = APIClient().get(f"/api/polls/{poll.id}/results/").json()
    assert results["questions"][0]["upvotes"] == 18
    assert results["version"] == 1 + 1 + 20 + 2  # asked, 20 upvotes, 2 taken back
    assert_recount_finds_no_drift(capsys, poll.id)


def test_one_solved_challenge_sent_by_ten_voters_at_once_buys_one_ballot(settings):
    settings.NEXUS_CHALLENGE_COST, settings.NEXUS_CHALLENGE_MAX_NUMBER = 1, 8
    poll = make_poll(owner=UserFactory(), challenge="pow")
    red = choice_ids(poll)[:1]
    shared = solve(challenges.challenge_issue(poll.id))
    own = [solve(challenges.challenge_issue(poll.id)) for _ in range(10)]

    def cast(name: str, header: str):
        return vote(APIClient(), poll.id, red, voter=name, x_challenge=header)

    answers = run_together(10, lambda i: cast(f"sharer-{i}", shared))
    assert sorted(a.status_code for a in answers) == [201] + [403] * 9
    assert {a.json()["code"] for a in answers if a.status_code == 403} == {"challenge_failed"}
    statuses = run_together(10, lambda i: cast(f"owner-{i}", own[i]).status_code)
    assert statuses == [201] * 10
    assert Ballot.objects.filter(poll=poll).count() == SpentChallenge.objects.count() == 11


def test_a_quarantine_while_ballots_arrive_and_change_counts_each_exactly_once():
    """The owner quarantines a stuffer's 60 ballots while 8 of them change
    their vote and 11 people vote: no ballot is lost, counted twice, or let
    out of the quarantine by its change."""
    owner = UserFactory()
    poll = make_poll(owner=owner, max_ballots_per_address=0, allow_vote_change=True)
    red, green, blue = choice_ids(poll)
    script = APIClient(REMOTE_ADDR="198.51.100.77", HTTP_USER_AGENT="curl/8.5")
    stuffers = [voter_id_issue() for _ in range(60)]
    for stuffer in stuffers:
        assert vote(script, poll.id, [red], voter=None, x_voter_id=stuffer).status_code == 201
    found, _ = selectors.poll_clusters(poll=poll)
    (signal,) = [c.id for c in found if c.kind == "prefix_burst"]

    def task(i):
        if i == 0:
            return integrity.ballots_quarantine(poll_id=poll.id, user=owner, signal=signal).ballots
        if i <= 8:
            return vote(script, poll.id, [blue], voter=None, x_voter_id=stuffers[i]).status_code
        person = APIClient(REMOTE_ADDR=f"203.0.113.{i}", HTTP_USER_AGENT=f"phone {i}")
        return vote(person, poll.id, [green], voter=f"person-{i}").status_code

    assert run_together(20, task) == [60] + [200] * 8 + [201] * 11
    results = APIClient().get(f"/api/polls/{poll.id}/results/").json()
    assert (results["total_votes"], results["quarantined"]) == (11, 60)
    assert [c["votes"] for c in results["choices"]] == [0, 11, 0]
    assert Ballot.objects.filter(poll=poll).count() == 71
    assert Ballot.objects.filter(poll=poll, quarantine__isnull=False).count() == 60
    assert services.poll_recount(poll_id=poll.id) == []  # the cached counts are the rows'
