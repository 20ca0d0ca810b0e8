import pytest

from polls.models import Poll
from tests.conftest import client_for
from tests.factories import UserFactory, make_poll
from tests.helpers import choice_ids, is_timestamp, vote, voter_id

pytestmark = pytest.mark.django_db


def test_results_count_ballots_and_shares(api, poll):
    red, green, blue = choice_ids(poll)
    for n, choice in enumerate([red, red, green]):
        vote(api, poll.id, [choice], voter=f"voter-{n:04}")
    body = api.get(f"/api/polls/{poll.id}/results/").json()
    assert is_timestamp(body.pop("updated_at"))
    assert body == {
        "poll": poll.id,
        "version": 4,  # created at 1, one step per ballot
        "status": "open",
        "total_votes": 3,
        "choices": [
            {"id": red, "text": "Red", "votes": 2, "share": 0.6667},
            {"id": green, "text": "Green", "votes": 1, "share": 0.3333},
            {"id": blue, "text": "Blue", "votes": 0, "share": 0.0},
        ],
    }


def test_shares_of_a_multiple_choice_poll_may_sum_past_one(api, user):
    poll = make_poll(owner=user, kind="multiple", max_choices=3)
    vote(api, poll.id, choice_ids(poll)[:2])
    shares = [c["share"] for c in api.get(f"/api/polls/{poll.id}/results/").json()["choices"]]
    assert shares == [1.0, 1.0, 0.0]


def test_results_are_one_query(api, poll, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = api.get(f"/api/polls/{poll.id}/results/")
    assert response.status_code == 200


def test_version_only_grows(api, owner_api, user):
    poll = make_poll(owner=user, allow_vote_change=True)
    red, green, _ = choice_ids(poll)
    versions = []
    for step in [
        lambda: vote(api, poll.id, [red]),
        lambda: vote(api, poll.id, [green]),
        lambda: owner_api.post(f"/api/polls/{poll.id}/close/"),
        lambda: owner_api.post(f"/api/polls/{poll.id}/open/"),
        lambda: owner_api.post(f"/api/polls/{poll.id}/reset/"),
    ]:
        step()
        versions.append(api.get(f"/api/polls/{poll.id}/results/").json()["version"])
    assert versions == sorted(set(versions)) and len(versions) == 5


def test_unchanged_ballot_keeps_the_version(api, user):
    poll = make_poll(owner=user, allow_vote_change=True)
    vote(api, poll.id, choice_ids(poll)[:1])
    before = api.get(f"/api/polls/{poll.id}/results/").json()["version"]
    assert vote(api, poll.id, choice_ids(poll)[:1]).status_code == 200
    assert api.get(f"/api/polls/{poll.id}/results/").json()["version"] == before


def test_after_vote_results_are_hidden_until_the_caller_votes(api, user):
    poll = make_poll(owner=user, results_visibility="after_vote")
    url = f"/api/polls/{poll.id}/results/"
    hidden = api.get(url, HTTP_X_VOTER_ID=voter_id("voter-0001"))
    assert hidden.status_code == 403
    assert hidden.json() == {
        "code": "results_hidden",
        "detail": "Results are shown after you vote.",
    }
    vote(api, poll.id, choice_ids(poll)[:1])
    assert api.get(url, HTTP_X_VOTER_ID=voter_id("voter-0001")).json()["total_votes"] == 1
    assert api.get(url, HTTP_X_VOTER_ID=voter_id("voter-0002")).status_code == 403


def test_after_close_results_are_hidden_until_close_except_for_the_owner(api, owner_api, user):
    poll = make_poll(owner=user, results_visibility="after_close")
    url = f"/api/polls/{poll.id}/results/"
    vote(api, poll.id, choice_ids(poll)[:1])
    response = api.get(url, HTTP_X_VOTER_ID=voter_id("voter-0001"))
    assert (response.status_code, response.json()) == (
        403,
        {"code": "results_hidden", "detail": "Results are shown when the poll closes."},
    )
    assert owner_api.get(url).json()["total_votes"] == 1
    owner_api.post(f"/api/polls/{poll.id}/close/")
    assert api.get(url).json()["status"] == "closed"


def test_results_of_unknown_poll_or_someone_elses_draft_are_not_found(api, user):
    draft = make_poll(owner=user, status="draft")
    for poll_id in ["NOPE42", draft.id]:
        response = api.get(f"/api/polls/{poll_id}/results/")
        assert (response.status_code, response.json()) == (
            404,
            {"code": "not_found", "detail": "No poll with this id."},
        )
    assert client_for(user).get(f"/api/polls/{draft.id}/results/").status_code == 200
    assert client_for(UserFactory()).get(f"/api/polls/{draft.id}/results/").status_code == 404


def test_open_poll_past_closes_at_reports_closed(api, poll):
    from datetime import timedelta

    from django.utils import timezone

    Poll.objects.filter(pk=poll.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    assert api.get(f"/api/polls/{poll.id}/results/").json()["status"] == "closed"
