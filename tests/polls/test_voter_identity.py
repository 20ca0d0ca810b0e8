"""Voter ids are issued and signed by the server; forged ones change nothing."""

import time

import pytest
from django.core import signing
from rest_framework.test import APIClient

from polls.models import Ballot
from polls.throttles import MyBallotThrottle
from polls.voters import Voter
from tests.helpers import choice_ids, vote, voter_id

pytestmark = pytest.mark.django_db

INVALID_VOTER_ID = {
    "code": "invalid_voter_id",
    "detail": "This voter id was not issued here: get one from POST /api/voters/.",
}


def test_a_new_voter_id_is_issued_signed_and_set_as_a_cookie(api):
    response = api.post("/api/voters/")
    assert response.status_code == 201
    issued = response.json()["voter_id"]
    value, signature = issued.split(".")
    assert len(signature) == 43  # HMAC-SHA256
    nonce, stamp = value[:22], value[22:]  # 128 random bits, then when (base62 seconds)
    assert len(nonce) == 22 and abs(signing.b62_decode(stamp) - time.time()) < 60
    assert Voter.for_anon(issued).age(time.time()) < 60
    cookie = response.cookies["nexus_voter"]
    assert cookie.value == issued
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert api.post("/api/voters/").json()["voter_id"] != issued


def test_an_issued_voter_id_votes_and_is_the_same_voter_next_time(poll):
    issued = APIClient().post("/api/voters/").json()["voter_id"]
    url = f"/api/polls/{poll.id}/votes/"
    red = choice_ids(poll)[:1]
    first = APIClient().post(url, {"choices": red}, format="json", HTTP_X_VOTER_ID=issued)
    again = APIClient().post(url, {"choices": red}, format="json", HTTP_X_VOTER_ID=issued)
    assert (first.status_code, again.status_code) == (201, 409)
    assert first.json()["voter_id"] == issued


def test_a_rotated_secret_key_keeps_voters_while_it_is_a_fallback(settings, poll):
    issued = voter_id("before-rotation")  # signed with the current key
    url, red = f"/api/polls/{poll.id}/votes/", choice_ids(poll)[:1]

    def cast():
        return APIClient().post(url, {"choices": red}, format="json", HTTP_X_VOTER_ID=issued)

    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "the-new-key-" + "x" * 40
    assert cast().status_code == 201
    settings.SECRET_KEY_FALLBACKS = []
    assert (cast().status_code, cast().json()) == (400, INVALID_VOTER_ID)


@pytest.mark.parametrize("method", ["get", "delete"])
def test_forged_ids_are_refused_on_my_ballot_and_results(api, poll, method):
    mine = f"/api/polls/{poll.id}/votes/mine/"
    response = getattr(api, method)(mine, HTTP_X_VOTER_ID="phone-0001-abc")
    assert (response.status_code, response.json()) == (400, INVALID_VOTER_ID)
    api.cookies["nexus_voter"] = "phone-0001-abc"
    results = api.get(f"/api/polls/{poll.id}/results/")
    assert (results.status_code, results.json()) == (400, INVALID_VOTER_ID)


def test_an_anonymous_voter_id_cannot_be_passed_off_as_an_invite(api, poll):
    nonce_and_signature = voter_id("someone")
    forged = f"{poll.id}.{nonce_and_signature}"  # the shape of an invite token
    response = vote(api, poll.id, choice_ids(poll)[:1], voter=None, **{"X-Voter-Id": forged})
    assert (response.status_code, response.json()) == (400, INVALID_VOTER_ID)


def test_forged_ids_from_one_address_are_throttled(api, poll, settings):
    settings.NEXUS_FAILURE_RATES = settings.NEXUS_FAILURE_RATES | {"voter_id": "3/min"}
    url = f"/api/polls/{poll.id}/votes/mine/"
    statuses = [
        api.get(url, HTTP_X_VOTER_ID=f"guess-{n:04}-abcdefgh").status_code for n in range(5)
    ]
    assert statuses == [400, 400, 429, 429, 429]
    assert api.get(url, HTTP_X_VOTER_ID=voter_id("real")).status_code == 404  # real ids pass


def test_reading_ballots_by_id_is_throttled_per_address(api, poll, monkeypatch):
    monkeypatch.setattr(MyBallotThrottle, "rate", "3/min", raising=False)
    url = f"/api/polls/{poll.id}/votes/mine/"
    statuses = [api.get(url, HTTP_X_VOTER_ID=voter_id(f"v{n}")).status_code for n in range(4)]
    assert statuses == [404, 404, 404, 429]


def test_the_voter_id_is_not_the_ballot_key_so_nothing_leaks_the_signature(api, poll):
    vote(api, poll.id, choice_ids(poll)[:1], voter="leak-check")
    key = Ballot.objects.get().voter_key
    assert key.startswith("anon:") and voter_id("leak-check") not in key
    assert key == "anon:" + voter_id("leak-check").split(".")[0][:22]  # the nonce, not the time


def test_voter_ids_from_before_they_carried_a_time_still_vote(poll):
    old = signing.Signer(salt="nexus.voter-id", sep=".").sign("A" * 22)  # nonce only
    assert Voter.for_anon(old).issued_at is None
    assert (
        vote(APIClient(), poll.id, choice_ids(poll)[:1], voter=None, x_voter_id=old).status_code
        == 201
    )
    forged_time = signing.Signer(salt="nexus.voter-id", sep=".").sign("A" * 22 + "!!")
    assert (
        vote(
            APIClient(), poll.id, choice_ids(poll)[:1], voter=None, x_voter_id=forged_time
        ).status_code
        == 400
    )
