"""Every row of the contract's Votes table: status and whole body."""

from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from polls.models import Ballot, Poll
from tests.conftest import client_for
from tests.factories import UserFactory, make_poll
from tests.helpers import anon, choice_ids, is_timestamp, vote, voter_id

pytestmark = pytest.mark.django_db


def test_first_ballot_answers_201_with_the_ballot(api, poll):
    red, green, _ = choice_ids(poll)
    response = vote(api, poll.id, [red])
    body = response.json()
    assert response.status_code == 201
    assert is_timestamp(body.pop("created_at"))
    assert body == {"poll": poll.id, "choices": [red], "voter_id": voter_id("voter-0001")}
    assert "nexus_voter" not in response.cookies  # the client named itself


def test_anonymous_vote_without_voter_id_gets_one_and_a_cookie(api, poll):
    red = choice_ids(poll)[0]
    response = api.post(f"/api/polls/{poll.id}/votes/", {"choices": [red]}, format="json")
    body = response.json()
    assert response.status_code == 201
    assert set(body) == {"poll", "choices", "voter_id", "created_at"}
    cookie = response.cookies["nexus_voter"]
    assert cookie.value == body["voter_id"]
    assert cookie["httponly"] is True and cookie["samesite"] == "Lax"
    # The cookie is the voter: the same client voting again is the same voter.
    again = api.post(f"/api/polls/{poll.id}/votes/", {"choices": [red]}, format="json")
    assert again.status_code == 409
    assert again.json() == {
        "code": "already_voted",
        "detail": "You have already voted in this poll.",
    }


def test_account_voter_ballot_has_no_voter_id(poll):
    voter = client_for(UserFactory())
    red = choice_ids(poll)[0]
    response = vote(voter, poll.id, [red], voter=None)
    body = response.json()
    assert response.status_code == 201
    assert is_timestamp(body.pop("created_at"))
    assert body == {"poll": poll.id, "choices": [red]}


def test_second_vote_by_same_voter_is_rejected(api, poll):
    red, green, _ = choice_ids(poll)
    vote(api, poll.id, [red])
    response = vote(api, poll.id, [green])
    assert response.status_code == 409
    assert response.json() == {
        "code": "already_voted",
        "detail": "You have already voted in this poll.",
    }
    assert Ballot.objects.filter(poll=poll).count() == 1


def test_changing_a_ballot_where_allowed_answers_200_and_moves_the_count(api, user):
    poll = make_poll(owner=user, allow_vote_change=True)
    red, green, _ = choice_ids(poll)
    first = vote(api, poll.id, [red]).json()
    response = vote(api, poll.id, [green])
    assert response.status_code == 200
    assert response.json() == {**first, "choices": [green]}
    results = api.get(f"/api/polls/{poll.id}/results/").json()
    assert [c["votes"] for c in results["choices"]] == [0, 1, 0]
    assert results["total_votes"] == 1


def test_vote_in_a_closed_poll_is_rejected(api, user):
    poll = make_poll(owner=user, status=Poll.Status.OPEN)
    Poll.objects.filter(pk=poll.pk).update(status=Poll.Status.CLOSED)
    response = vote(api, poll.id, choice_ids(poll)[:1])
    assert response.status_code == 409
    assert response.json() == {"code": "poll_closed", "detail": "This poll is not open for voting."}
    assert not Ballot.objects.exists()


@pytest.mark.parametrize(
    "window",
    [
        {"opens_at": timedelta(hours=1)},
        {"closes_at": timedelta(seconds=-1)},
    ],
    ids=["not yet open", "past closes_at"],
)
def test_vote_outside_the_poll_window_is_rejected(api, user, window):
    poll = make_poll(owner=user)
    now = timezone.now()
    Poll.objects.filter(pk=poll.pk).update(**{k: now + v for k, v in window.items()})
    version = Poll.objects.get(pk=poll.pk).version
    # The fast path reads an open poll, writes its ballot, then finds the
    # window shut when it counts: all of it rolls back.
    response = vote(api, poll.id, choice_ids(poll)[:1])
    assert response.status_code == 409
    assert response.json()["code"] == "poll_closed"
    assert not Ballot.objects.exists()
    assert Poll.objects.get(pk=poll.pk).version == version


@pytest.mark.parametrize(
    ("pick", "detail"),
    [
        (lambda ids, other: [999999], "Unknown choice for this poll: [999999]."),
        (lambda ids, other: [other], "Unknown choice for this poll: [{other}]."),
        (lambda ids, other: [ids[0], ids[0]], "A choice may be named only once."),
        (lambda ids, other: [], "Pick at least one choice."),
        (lambda ids, other: ids[:2], "Pick at most 1 choice."),
    ],
    ids=["unknown id", "another poll's choice", "duplicates", "none", "two for single"],
)
def test_bad_choices_are_rejected_as_invalid_choice(api, user, pick, detail):
    poll = make_poll(owner=user)
    other = choice_ids(make_poll(owner=user))[0]
    response = vote(api, poll.id, pick(choice_ids(poll), other))
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_choice", "detail": detail.format(other=other)}
    assert not Ballot.objects.exists()


def test_more_than_max_choices_is_rejected_as_invalid_choice(api, user):
    poll = make_poll(owner=user, kind="multiple", max_choices=2)
    response = vote(api, poll.id, choice_ids(poll))
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_choice", "detail": "Pick at most 2 choices."}


def test_multiple_choice_ballot_counts_each_choice_once(api, user):
    poll = make_poll(owner=user, kind="multiple", max_choices=2)
    red, green, blue = choice_ids(poll)
    assert vote(api, poll.id, [blue, red]).json()["choices"] == [red, blue]
    results = api.get(f"/api/polls/{poll.id}/results/").json()
    assert (results["total_votes"], [c["votes"] for c in results["choices"]]) == (1, [1, 0, 1])


def test_malformed_json_is_rejected_as_invalid(api, poll):
    response = api.post(
        f"/api/polls/{poll.id}/votes/",
        "{not json",
        content_type="application/json",
        HTTP_X_VOTER_ID=voter_id("voter-0001"),
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "JSON parse error - Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)",
    }


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"choices": ["1"]}, {"choices": "Item 1: A valid integer is required."}),
        ({"choices": [True]}, {"choices": "Item 1: A valid integer is required."}),
        ({"choices": 3}, {"choices": 'Expected a list of items but got type "int".'}),
        ({}, {"choices": "This field is required."}),
        ([1, 2], {"non_field_errors": "Invalid data. Expected a dictionary, but got list."}),
    ],
    ids=["string id", "boolean id", "not a list", "missing", "not an object"],
)
def test_wrong_types_are_rejected_as_invalid(api, poll, body, fields):
    response = api.post(
        f"/api/polls/{poll.id}/votes/", body, format="json", HTTP_X_VOTER_ID=voter_id("voter-0001")
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "Some fields are invalid.",
        "fields": fields,
    }
    assert not Ballot.objects.exists()


@pytest.mark.parametrize(
    "forged",
    [
        "phone-0001-abc",  # v1: chosen by the client
        "short",
        "a" * 22 + ".forgedsignature" + "x" * 27,
        "sockpuppet\x00-0001",
        "x" * 5000,
    ],
)
def test_a_voter_id_the_server_did_not_issue_is_refused(api, poll, forged):
    url = f"/api/polls/{poll.id}/votes/"
    response = api.post(
        url, {"choices": choice_ids(poll)[:1]}, format="json", HTTP_X_VOTER_ID=forged
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_voter_id",
        "detail": "This voter id was not issued here: get one from POST /api/voters/.",
    }
    assert not Ballot.objects.exists()


def test_named_poll_without_an_account_is_rejected(api, user):
    poll = make_poll(owner=user, anonymous=False)
    response = vote(api, poll.id, choice_ids(poll)[:1])
    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "detail": "This poll is for signed-in users: sign in to vote.",
    }


def test_named_poll_records_the_account(user):
    poll = make_poll(owner=user, anonymous=False)
    voter = UserFactory()
    response = vote(client_for(voter), poll.id, choice_ids(poll)[:1], voter=None)
    assert response.status_code == 201
    assert Ballot.objects.get(poll=poll).user == voter


def test_vote_in_unknown_poll_is_not_found(api, db):
    response = vote(api, "ZZZZZZ", [1])
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "No poll with this id."}


def test_vote_in_someone_elses_draft_is_not_found(api, user):
    poll = make_poll(owner=user, status="draft")
    response = vote(api, poll.id, choice_ids(poll)[:1])
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "No poll with this id."}


def test_join_codes_are_case_insensitive_in_urls(api, poll):
    response = vote(api, poll.id.lower(), choice_ids(poll)[:1])
    assert response.status_code == 201
    assert response.json()["poll"] == poll.id


def test_withdrawing_a_ballot_removes_it_from_the_tally(api, user):
    poll = make_poll(owner=user, allow_vote_change=True)
    vote(api, poll.id, choice_ids(poll)[:1])
    response = api.delete(
        f"/api/polls/{poll.id}/votes/mine/", HTTP_X_VOTER_ID=voter_id("voter-0001")
    )
    assert response.status_code == 204
    results = api.get(f"/api/polls/{poll.id}/results/").json()
    assert (results["total_votes"], results["choices"][0]["votes"]) == (0, 0)
    assert not Ballot.objects.exists()


def test_withdrawing_where_change_is_not_allowed_is_rejected(api, poll):
    vote(api, poll.id, choice_ids(poll)[:1])
    response = api.delete(
        f"/api/polls/{poll.id}/votes/mine/", HTTP_X_VOTER_ID=voter_id("voter-0001")
    )
    assert response.status_code == 409
    assert response.json() == {
        "code": "vote_change_not_allowed",
        "detail": "This poll does not allow changing a vote.",
    }
    assert Ballot.objects.count() == 1


def test_withdrawing_without_a_ballot_is_not_found(api, user):
    poll = make_poll(owner=user, allow_vote_change=True)
    response = api.delete(
        f"/api/polls/{poll.id}/votes/mine/", HTTP_X_VOTER_ID=voter_id("voter-0001")
    )
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "You have no ballot in this poll."}


def test_a_voter_can_read_back_their_ballot(api, poll):
    red = choice_ids(poll)[0]
    cast = vote(api, poll.id, [red]).json()
    mine = api.get(f"/api/polls/{poll.id}/votes/mine/", HTTP_X_VOTER_ID=voter_id("voter-0001"))
    assert (mine.status_code, mine.json()) == (200, cast)
    other = api.get(f"/api/polls/{poll.id}/votes/mine/", HTTP_X_VOTER_ID=voter_id("voter-0002"))
    assert (other.status_code, other.json()) == (
        404,
        {"code": "not_found", "detail": "You have no ballot in this poll."},
    )


def test_a_first_vote_costs_a_pinned_number_of_queries(api, poll, django_assert_num_queries):
    red = choice_ids(poll)[0]
    # the vote pipeline's batch of one: lock the poll, read its choices, the
    # voter's ballot and the address's count; insert the ballot and
    # its mark, move the choice counter and the poll's version and total,
    # count the address, upsert the second's results snapshot (on Postgres in
    # the version's statement) (+ the batch's savepoint/release: the test
    # runs inside a transaction)
    with django_assert_num_queries(11 if connection.vendor == "postgresql" else 12):
        assert vote(api, poll.id, [red]).status_code == 201


KIND_BALLOTS = {  # kind: (marks, what the ballot says beyond `choices`)
    "multiple": ({(3, None), (5, None)}, {}),
    "rating": ({(3, 4), (5, 1)}, {"ratings": {"3": 4, "5": 1}}),
    "ranking": ({(3, 1), (5, 0)}, {"ranking": [5, 3]}),
}


@pytest.mark.parametrize("kind", KIND_BALLOTS)
@pytest.mark.parametrize("anonymous", [True, False], ids=["anonymous", "account"])
def test_the_vote_answer_is_what_the_ballot_serializer_renders(anonymous, kind):
    from datetime import datetime

    from rest_framework.renderers import JSONRenderer

    from polls.serializers import BallotSerializer, ballot_answer
    from polls.voters import Voter

    created_at = datetime(2026, 11, 27, 8, 1, 2, 345678, UTC)
    voter = anon("voter-0001") if anonymous else Voter.for_user(7)
    marks, extra = KIND_BALLOTS[kind]
    data = {"poll": "K7Q2XP", "choices": [3, 5], **extra}
    if anonymous:
        data["voter_id"] = voter_id("voter-0001")
    data["created_at"] = created_at
    rendered = JSONRenderer().render(BallotSerializer(data).data).decode()
    answer = ballot_answer(
        poll_id="K7Q2XP",
        created_at=created_at,
        marks=marks,
        kind=kind,
        voter=voter,
        created=True,
    )
    assert answer == (201, rendered)
