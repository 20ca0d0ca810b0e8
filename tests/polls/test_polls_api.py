from datetime import timedelta

import pytest
from django.utils import timezone

from polls.models import JOIN_CODE_ALPHABET, Ballot, Poll
from tests.factories import UserFactory, make_poll
from tests.helpers import choice_ids, is_timestamp, vote

pytestmark = pytest.mark.django_db


def poll_body(poll_id, owner, choices, **overrides):
    body = {
        "id": poll_id,
        "question": "Which colour?",
        "description": "",
        "kind": "single",
        "max_choices": 1,
        "scale": None,
        "moderation": "none",
        "answers_per_voter": 1,
        "anonymous": True,
        "allow_vote_change": False,
        "results": "live",
        "status": "open",
        "eligibility": "anyone",
        "has_passcode": False,
        "max_ballots_per_address": 200,
        "challenge": "none",
        "expected_audience": None,
        "opens_at": None,
        "closes_at": None,
        "owner": owner,
        "total_votes": 0,
        "choices": [
            {"id": cid, "text": text, "position": i} for i, (cid, text) in enumerate(choices)
        ],
        "urls": {
            "vote": f"/api/polls/{poll_id}/votes/",
            "results": f"/api/polls/{poll_id}/results/",
            "websocket": f"/ws/polls/{poll_id}/",
            "page": f"/p/{poll_id}/",
            "present": f"/p/{poll_id}/present/",
            "embed": f"/p/{poll_id}/embed/",
        },
        "integrity": None,  # the owner's only
        "embed_origins": [],
    }
    return body | overrides


def test_creating_a_poll_applies_the_defaults(owner_api, user):
    response = owner_api.post(
        "/api/polls/", {"question": "Which colour?", "choices": ["Red", "Green"]}, format="json"
    )
    body = response.json()
    assert response.status_code == 201
    assert is_timestamp(body.pop("created_at"))
    poll = Poll.objects.get()
    choices = zip(choice_ids(poll), ["Red", "Green"], strict=True)
    integrity = {"integrity": {"flagged": 0, "quarantined": 0}}  # the owner's only
    assert body == poll_body(poll.id, user.username, choices, **integrity)


def test_join_codes_are_short_and_unambiguous(owner_api):
    ids = {
        owner_api.post(
            "/api/polls/", {"question": "Q", "choices": ["a", "b"]}, format="json"
        ).json()["id"]
        for _ in range(20)
    }
    assert len(ids) == 20
    assert all(6 <= len(i) <= 10 and set(i) <= set(JOIN_CODE_ALPHABET) for i in ids)
    assert not set("".join(ids)) & set("0O1IL")


def test_multiple_choice_poll_defaults_max_choices_to_the_number_of_choices(owner_api):
    body = {"question": "Q", "choices": ["a", "b", "c"], "kind": "multiple"}
    assert owner_api.post("/api/polls/", body, format="json").json()["max_choices"] == 3


def test_every_offending_field_is_named(owner_api):
    body = {
        "question": "",
        "kind": "ranked",
        "choices": ["Same", "same", ""],
        "results": "never",
        "status": "closed",
        "anonymous": "perhaps",
    }
    response = owner_api.post("/api/polls/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "Some fields are invalid.",
        "fields": {
            "question": "Write the question.",
            "kind": '"ranked" is not a valid choice.',
            "choices": "Item 3: A choice cannot be empty.",
            "results": '"never" is not a valid choice.',
            "status": '"closed" is not a valid choice.',
            "anonymous": "Must be a valid boolean.",
        },
    }
    assert not Poll.objects.exists()


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"choices": ["only one"]}, {"choices": "Give at least 2 choices, one per line."}),
        (
            {"choices": [f"c{i}" for i in range(51)]},
            {"choices": "Give at most 50 choices."},
        ),
        ({"choices": ["Red", " red"]}, {"choices": "Choices must be unique: 'red' repeats."}),
        (
            {"choices": ["a", "b" * 201]},
            {"choices": "Item 2: Keep each choice under 200 characters."},
        ),
        (
            {"question": "q" * 501},
            {"question": "Keep the question under 500 characters."},
        ),
        ({"max_choices": 2}, {"max_choices": "A single-choice poll takes exactly 1 choice."}),
        (
            {"kind": "multiple", "max_choices": 3},
            {"max_choices": "At most 2, the number of choices."},
        ),
        ({"closes_at": "2020-01-01T00:00:00Z"}, {"closes_at": "Must be in the future."}),
        (
            {"opens_at": "2099-01-02T00:00:00Z", "closes_at": "2099-01-01T00:00:00Z"},
            {"closes_at": "Must be later than opens_at."},
        ),
    ],
    ids=[
        "one choice",
        "51 choices",
        "duplicate",
        "long choice",
        "long question",
        "single max 2",
        "max over choices",
        "closes in past",
        "closes before opens",
    ],
)
def test_poll_rules_are_enforced(owner_api, changes, fields):
    body = {"question": "Q", "choices": ["Red", "Green"]} | changes
    response = owner_api.post("/api/polls/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "Some fields are invalid.",
        "fields": fields,
    }


def test_creating_a_poll_needs_an_account(api, db):
    response = api.post("/api/polls/", {"question": "Q", "choices": ["a", "b"]}, format="json")
    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "detail": "Authentication credentials were not provided.",
    }
    assert response["WWW-Authenticate"] == "Token"


def test_a_bad_token_is_rejected(api, db):
    api.credentials(HTTP_AUTHORIZATION="Token nope")
    response = api.get("/api/polls/")
    assert response.status_code == 401
    assert response.json() == {"code": "authentication_failed", "detail": "Invalid token."}


def test_poll_detail_is_public_and_takes_two_queries(api, poll, django_assert_num_queries):
    with django_assert_num_queries(2):  # poll with owner, then its choices
        response = api.get(f"/api/polls/{poll.id}/")
    assert response.status_code == 200
    assert response.json()["id"] == poll.id


def test_unknown_poll_is_not_found(api, db):
    response = api.get("/api/polls/NOPE42/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "No poll with this id."}


def test_drafts_are_visible_to_their_owner_only(api, owner_api, other_api, user):
    draft = make_poll(owner=user, status="draft")
    assert owner_api.get(f"/api/polls/{draft.id}/").json()["status"] == "draft"
    assert other_api.get(f"/api/polls/{draft.id}/").status_code == 404
    assert api.get(f"/api/polls/{draft.id}/").status_code == 404
    assert api.get("/api/polls/").json()["count"] == 0
    assert owner_api.get("/api/polls/").json()["count"] == 1


def test_poll_list_takes_three_queries_whatever_its_length(api, user, django_assert_num_queries):
    for _ in range(5):
        make_poll(owner=user)
    with django_assert_num_queries(3):  # count, polls with owners, choices
        response = api.get("/api/polls/?limit=3")
    body = response.json()
    assert (body["count"], len(body["results"]), body["previous"]) == (5, 3, None)
    assert body["next"] == "http://testserver/api/polls/?limit=3&offset=3"


def test_poll_list_filters_by_status_owner_and_search(owner_api, user):
    mine_open = make_poll(owner=user, question="Lunch: pizza or sushi?")
    mine_closed = make_poll(owner=user, question="Best editor?")
    Poll.objects.filter(pk=mine_closed.pk).update(status="closed")
    past = make_poll(owner=user, question="Expired")
    Poll.objects.filter(pk=past.pk).update(closes_at=timezone.now() - timedelta(minutes=1))
    theirs = make_poll(owner=UserFactory(), question="Their lunch")

    def ids(query):
        return {p["id"] for p in owner_api.get(f"/api/polls/{query}").json()["results"]}

    assert ids("?status=open") == {mine_open.id, theirs.id}
    assert ids("?status=closed") == {mine_closed.id, past.id}
    assert ids("?mine=true&search=LUNCH") == {mine_open.id}
    assert ids("?search=lunch") == {mine_open.id, theirs.id}


def test_poll_list_rejects_an_unknown_status(api, db):
    response = api.get("/api/polls/?status=maybe")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "The request is invalid.",
        "fields": {"status": "One of draft, open, closed."},
    }


def test_mine_needs_an_account(api, db):
    response = api.get("/api/polls/?mine=true")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_owner_edits_a_poll(owner_api, poll):
    response = owner_api.patch(
        f"/api/polls/{poll.id}/",
        {"question": "Which hue?", "choices": ["Cyan", "Magenta"], "kind": "multiple"},
        format="json",
    )
    body = response.json()
    assert response.status_code == 200
    assert (body["question"], body["kind"], body["max_choices"]) == ("Which hue?", "multiple", 2)
    assert [c["text"] for c in body["choices"]] == ["Cyan", "Magenta"]


def test_only_the_owner_may_edit_delete_or_change_status(other_api, poll):
    url = f"/api/polls/{poll.id}/"
    forbidden = {"code": "forbidden", "detail": "Only the poll's owner may do this."}
    for response in [
        other_api.patch(url, {"question": "Mine now"}, format="json"),
        other_api.delete(url),
        other_api.post(url + "open/"),
        other_api.post(url + "close/"),
        other_api.post(url + "reset/"),
    ]:
        assert (response.status_code, response.json()) == (403, forbidden)
    assert Poll.objects.get().question == "Which colour?"


def test_changing_choices_or_kind_after_votes_is_a_conflict(api, owner_api, poll):
    vote(api, poll.id, choice_ids(poll)[:1])
    url = f"/api/polls/{poll.id}/"
    conflict = {
        "code": "poll_has_votes",
        "detail": "Choices and kind cannot change once votes exist.",
    }
    for change in [{"choices": ["A", "B"]}, {"kind": "multiple"}]:
        response = owner_api.patch(url, change, format="json")
        assert (response.status_code, response.json()) == (409, conflict)
    # Wording and unchanged choices are fine.
    response = owner_api.patch(
        url, {"question": "Colour?", "choices": ["Red", "Green", "Blue"]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["question"] == "Colour?"


def test_close_and_open_change_the_status_and_the_version(api, owner_api, poll):
    def state():
        results = api.get(f"/api/polls/{poll.id}/results/").json()
        return results["status"], results["version"]

    _, v0 = state()
    closed = owner_api.post(f"/api/polls/{poll.id}/close/")
    assert (closed.status_code, closed.json()["status"]) == (200, "closed")
    assert state() == ("closed", v0 + 1)
    assert vote(api, poll.id, choice_ids(poll)[:1]).status_code == 409
    reopened = owner_api.post(f"/api/polls/{poll.id}/open/")
    assert (reopened.status_code, reopened.json()["status"]) == (200, "open")
    assert state() == ("open", v0 + 2)
    assert vote(api, poll.id, choice_ids(poll)[:1]).status_code == 201


def test_opening_a_poll_past_its_close_time_clears_it(owner_api, user):
    poll = make_poll(owner=user)
    Poll.objects.filter(pk=poll.pk).update(closes_at=timezone.now() - timedelta(minutes=1))
    body = owner_api.post(f"/api/polls/{poll.id}/open/").json()
    assert (body["status"], body["closes_at"]) == ("open", None)


def test_reset_deletes_every_ballot_and_zeroes_the_tally(api, owner_api, poll):
    for n in range(3):
        vote(api, poll.id, choice_ids(poll)[:1], voter=f"voter-{n:04}")
    before = api.get(f"/api/polls/{poll.id}/results/").json()["version"]
    assert owner_api.post(f"/api/polls/{poll.id}/reset/").status_code == 200
    results = api.get(f"/api/polls/{poll.id}/results/").json()
    assert results["total_votes"] == 0
    assert [c["votes"] for c in results["choices"]] == [0, 0, 0]
    assert results["version"] == before + 1
    assert not Ballot.objects.exists()
    # A reset voter may vote again.
    assert vote(api, poll.id, choice_ids(poll)[:1], voter="voter-0000").status_code == 201


def test_owner_deletes_a_poll_with_its_ballots(api, owner_api, poll):
    vote(api, poll.id, choice_ids(poll)[:1])
    response = owner_api.delete(f"/api/polls/{poll.id}/")
    assert (response.status_code, response.content) == (204, b"")
    assert not Poll.objects.exists() and not Ballot.objects.exists()
    assert api.get(f"/api/polls/{poll.id}/").status_code == 404


def test_json_types_are_taken_literally(owner_api):
    body = {"question": 7, "choices": ["a", 2], "anonymous": 0, "allow_vote_change": "true"}
    response = owner_api.post("/api/polls/", body, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "question": "Must be a string.",
        "choices": "Item 2: Must be a string.",
        "anonymous": "Must be a valid boolean.",
        "allow_vote_change": "Must be a valid boolean.",
    }


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("limit=null", {"limit": "An integer >= 1."}),
        ("limit=0", {"limit": "An integer >= 1."}),
        ("offset=-1", {"offset": "An integer >= 0."}),
        ("status=", {"status": "One of draft, open, closed."}),
    ],
)
def test_bad_list_parameters_are_rejected(api, db, query, fields):
    response = api.get(f"/api/polls/?{query}")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "The request is invalid.",
        "fields": fields,
    }


def test_mine_must_be_true_or_false(owner_api):
    response = owner_api.get("/api/polls/?mine=perhaps")
    assert response.status_code == 400
    assert response.json()["fields"] == {"mine": "true or false."}
