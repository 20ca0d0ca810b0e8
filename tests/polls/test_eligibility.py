"""Who may vote: signed-in, passcode, invite and integration voters, and the
cap on anonymous ballots from one address."""

import csv
import io

import pytest
from rest_framework.test import APIClient

from polls.models import Ballot, Invite, Poll
from tests.conftest import client_for
from tests.factories import UserFactory, make_poll
from tests.helpers import choice_ids, vote

pytestmark = pytest.mark.django_db


def create(client, **fields):
    body = {"question": "Who?", "choices": ["Ada", "Grace"], **fields}
    return client.post("/api/polls/", body, format="json")


def error(response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


# --- poll fields ---------------------------------------------------------------


def test_a_passcode_is_write_only_and_shown_as_has_passcode(owner_api):
    response = create(owner_api, eligibility="passcode", passcode="blue-owl")
    body = response.json()
    assert response.status_code == 201
    assert (body["eligibility"], body["has_passcode"]) == ("passcode", True)
    assert "blue-owl" not in response.content.decode()
    assert "blue-owl" not in owner_api.get(f"/api/polls/{body['id']}/").content.decode()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"eligibility": "passcode"}, "passcode"),
        ({"eligibility": "passcode", "passcode": "abc"}, "passcode"),
        ({"eligibility": "passcode", "passcode": "x" * 65}, "passcode"),
        ({"eligibility": "passcode", "passcode": "with\x00nul"}, "passcode"),
        ({"eligibility": "anyone", "passcode": "blue-owl"}, "passcode"),
        ({"eligibility": "everyone"}, "eligibility"),
        ({"anonymous": False, "eligibility": "anyone"}, "anonymous"),
        ({"max_ballots_per_address": -1}, "max_ballots_per_address"),
        ({"max_ballots_per_address": "5"}, "max_ballots_per_address"),
    ],
)
def test_bad_eligibility_fields_are_refused_and_create_nothing(owner_api, fields, field):
    response = create(owner_api, **fields)
    assert error(response) == (400, "invalid")
    assert field in response.json()["fields"]
    assert not Poll.objects.exists()


def test_anonymous_false_is_the_signed_in_mode(owner_api):
    assert create(owner_api, anonymous=False).json()["eligibility"] == "signed_in"


def test_eligibility_is_frozen_once_ballots_exist(owner_api, poll, api):
    vote(api, poll.id, choice_ids(poll)[:1])
    response = owner_api.patch(
        f"/api/polls/{poll.id}/", {"eligibility": "signed_in"}, format="json"
    )
    assert error(response) == (409, "poll_has_votes")
    assert Poll.objects.get().eligibility == "anyone"


# --- signed_in -----------------------------------------------------------------------


def test_a_signed_in_poll_takes_accounts_only(user, api, other_api):
    poll = make_poll(owner=user, eligibility="signed_in")
    assert error(vote(api, poll.id, choice_ids(poll)[:1])) == (401, "not_authenticated")
    assert vote(other_api, poll.id, choice_ids(poll)[:1], voter=None).status_code == 201
    assert Ballot.objects.get().voter_key.startswith("user:")


# --- passcode --------------------------------------------------------------------


@pytest.fixture
def passcode_poll(user):
    return make_poll(owner=user, eligibility="passcode", passcode="blue-owl")


def test_a_passcode_poll_needs_the_right_passcode(api, passcode_poll):
    ids = choice_ids(passcode_poll)[:1]
    assert error(vote(api, passcode_poll.id, ids)) == (403, "passcode_required")
    wrong = vote(api, passcode_poll.id, ids, **{"X-Poll-Passcode": "blue-owk"})
    assert wrong.json() == {"code": "wrong_passcode", "detail": "The passcode is not right."}
    assert not Ballot.objects.exists()
    assert vote(api, passcode_poll.id, ids, **{"X-Poll-Passcode": "blue-owl"}).status_code == 201


def test_wrong_passcodes_are_throttled_per_address_even_the_right_one(api, passcode_poll, settings):
    settings.NEXUS_FAILURE_RATES = settings.NEXUS_FAILURE_RATES | {"passcode": "3/min"}
    ids = choice_ids(passcode_poll)[:1]
    tries = [
        vote(api, passcode_poll.id, ids, voter=f"v{n}", **{"X-Poll-Passcode": f"guess{n}"})
        for n in range(4)
    ]
    assert [t.status_code for t in tries] == [403, 403, 403, 429]
    right = vote(api, passcode_poll.id, ids, **{"X-Poll-Passcode": "blue-owl"})
    assert error(right) == (429, "throttled") and int(right["Retry-After"]) > 0
    assert not Ballot.objects.exists()


# --- invites ------------------------------------------------------------------------


@pytest.fixture
def invite_poll(user):
    return make_poll(owner=user, eligibility="invite")


def mint(client, poll, count=3, **headers):
    return client.post(f"/api/polls/{poll.id}/invites/", {"count": count}, format="json", **headers)


def cast(poll, token, choice=0):
    url = f"/api/polls/{poll.id}/votes/"
    body = {"choices": [choice_ids(poll)[choice]]}
    return APIClient().post(url, body, format="json", HTTP_X_VOTER_ID=token)


def test_the_owner_mints_invites_with_voter_page_links(owner_api, invite_poll):
    response = mint(owner_api, invite_poll)
    assert response.status_code == 201
    invites = response.json()["invites"]
    assert len({i["token"] for i in invites}) == 3
    for invite in invites:
        assert invite["url"] == f"http://testserver/p/{invite_poll.id}/?invite={invite['token']}"
    counts = owner_api.get(f"/api/polls/{invite_poll.id}/invites/").json()
    assert counts == {"issued": 3, "used": 0}


def test_invites_come_as_csv_too(owner_api, invite_poll):
    response = mint(owner_api, invite_poll, count=2, HTTP_ACCEPT="text/csv")
    assert (response.status_code, response["Content-Type"]) == (201, "text/csv; charset=utf-8")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["token", "url"] and len(rows) == 3
    cast(invite_poll, rows[1][0])
    listed = owner_api.get(f"/api/polls/{invite_poll.id}/invites/", HTTP_ACCEPT="text/csv")
    assert list(csv.reader(io.StringIO(listed.content.decode()))) == [rows[0], rows[2]]


def test_one_ballot_per_invite_and_nobody_else(owner_api, invite_poll, user, api):
    token = mint(owner_api, invite_poll).json()["invites"][0]["token"]
    assert cast(invite_poll, token).status_code == 201
    assert error(cast(invite_poll, token, 1)) == (409, "already_voted")
    assert error(vote(api, invite_poll.id, choice_ids(invite_poll)[:1])) == (403, "not_invited")
    assert error(vote(APIClient(), invite_poll.id, [choice_ids(invite_poll)[0]], voter=None)) == (
        403,
        "not_invited",
    )
    other = make_poll(owner=user, eligibility="invite")
    foreign = mint(owner_api, other, count=1).json()["invites"][0]["token"]
    assert error(cast(invite_poll, foreign)) == (403, "not_invited")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert error(cast(invite_poll, forged)) == (400, "invalid_voter_id")
    assert Ballot.objects.filter(poll=invite_poll).count() == 1
    counts = owner_api.get(f"/api/polls/{invite_poll.id}/invites/").json()
    assert counts == {"issued": 3, "used": 1}


def test_an_unused_invite_can_be_revoked_a_used_one_cannot(owner_api, invite_poll):
    used, unused, _ = (i["token"] for i in mint(owner_api, invite_poll).json()["invites"])
    cast(invite_poll, used)
    url = f"/api/polls/{invite_poll.id}/invites/"
    assert error(owner_api.delete(f"{url}{used}/")) == (409, "invite_used")
    assert owner_api.delete(f"{url}{unused}/").status_code == 204
    assert error(owner_api.delete(f"{url}{unused}/")) == (404, "not_found")
    assert error(cast(invite_poll, unused)) == (403, "not_invited")
    assert Invite.objects.count() == 2


@pytest.mark.parametrize("count", [0, 10_001, "5", None, True])
def test_minting_needs_a_count_from_1_to_10000(owner_api, invite_poll, count):
    assert error(mint(owner_api, invite_poll, count=count)) == (400, "invalid")
    assert not Invite.objects.exists()


def test_only_the_owner_mints_reads_or_revokes_invites(other_api, api, owner_api, invite_poll):
    token = mint(owner_api, invite_poll, count=1).json()["invites"][0]["token"]
    url = f"/api/polls/{invite_poll.id}/invites/"
    assert error(mint(other_api, invite_poll)) == (403, "forbidden")
    assert error(other_api.get(url)) == (403, "forbidden")
    assert error(other_api.delete(f"{url}{token}/")) == (403, "forbidden")
    assert error(mint(api, invite_poll)) == (401, "not_authenticated")
    assert Invite.objects.count() == 1


def test_ten_thousand_invites_in_one_request(owner_api, invite_poll):
    response = mint(owner_api, invite_poll, count=10_000)
    assert response.status_code == 201
    assert len({i["token"] for i in response.json()["invites"]}) == 10_000


# --- integrations -------------------------------------------------------------


def test_the_owners_integration_votes_for_its_own_users(owner_api, other_api, api, poll):
    ids = choice_ids(poll)[:1]
    first = vote(owner_api, poll.id, ids, voter=None, **{"X-External-Voter": "slack:U024BE7LH"})
    assert (first.status_code, set(first.json())) == (201, {"poll", "choices", "created_at"})
    again = vote(owner_api, poll.id, ids, voter=None, **{"X-External-Voter": "slack:U024BE7LH"})
    assert error(again) == (409, "already_voted")
    other = vote(owner_api, poll.id, ids, voter=None, **{"X-External-Voter": "slack:U0G9QF9C6"})
    assert other.status_code == 201
    assert error(vote(other_api, poll.id, ids, voter=None, **{"X-External-Voter": "x"})) == (
        403,
        "forbidden",
    )
    assert error(vote(api, poll.id, ids, **{"X-External-Voter": "x"})) == (403, "forbidden")
    assert sorted(Ballot.objects.values_list("voter_key", "user")) == [
        (f"ext:{poll.owner_id}:slack:U024BE7LH", None),  # the bot's users, not the owner
        (f"ext:{poll.owner_id}:slack:U0G9QF9C6", None),
    ]


@pytest.mark.parametrize("external", ["", "x" * 129, "tab\there"])
def test_a_malformed_external_id_is_invalid(owner_api, poll, external):
    response = vote(owner_api, poll.id, choice_ids(poll)[:1], **{"X-External-Voter": external})
    assert error(response) == (400, "invalid")
    assert not Ballot.objects.exists()


def test_integrations_cannot_vote_in_signed_in_or_invite_polls(owner_api, user):
    for eligibility in ("signed_in", "invite"):
        poll = make_poll(owner=user, eligibility=eligibility)
        response = vote(owner_api, poll.id, choice_ids(poll)[:1], **{"X-External-Voter": "bot:1"})
        assert error(response) == (
            403,
            "forbidden" if eligibility == "signed_in" else "not_invited",
        )


# --- the address cap ----------------------------------------------------------------


def from_address(poll, n: int, address: str, **extra):
    client = APIClient(REMOTE_ADDR=address)
    return vote(client, poll.id, choice_ids(poll)[:1], voter=f"{address}-{n}", **extra)


def test_one_address_casts_at_most_the_cap_of_anonymous_first_ballots(user):
    poll = make_poll(owner=user, max_ballots_per_address=3)
    statuses = [from_address(poll, n, "203.0.113.7").status_code for n in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    refused = from_address(poll, 9, "203.0.113.7")
    assert refused.json() == {
        "code": "address_limit",
        "detail": "This poll has taken as many ballots from your network as it allows.",
    }
    assert from_address(poll, 0, "203.0.113.8").status_code == 201  # another address
    results = APIClient().get(f"/api/polls/{poll.id}/results/").json()
    assert results["total_votes"] == 4


def test_an_ipv6_64_is_one_address(user):
    poll = make_poll(owner=user, max_ballots_per_address=2)
    statuses = [
        from_address(poll, 0, "2001:db8:1:2::a").status_code,
        from_address(poll, 1, "2001:db8:1:2:ffff::b").status_code,
        from_address(poll, 2, "2001:db8:1:2::c").status_code,
        from_address(poll, 3, "2001:db8:1:3::a").status_code,
    ]
    assert statuses == [201, 201, 429, 201]


def test_the_address_behind_a_trusted_proxy_is_the_forwarded_one(user, settings):
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"NUM_PROXIES": 1}
    from rest_framework.settings import api_settings

    api_settings.reload()
    try:
        poll = make_poll(owner=user, max_ballots_per_address=1)
        fwd = {"X-Forwarded-For": "198.51.100.1"}
        assert from_address(poll, 0, "10.0.0.1", **fwd).status_code == 201
        assert from_address(poll, 1, "10.0.0.1", **fwd).status_code == 429
        other = {"X-Forwarded-For": "198.51.100.2"}
        assert from_address(poll, 2, "10.0.0.1", **other).status_code == 201
    finally:
        settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"NUM_PROXIES": 0}
        api_settings.reload()


def test_accounts_and_changes_do_not_count_against_the_cap(user):
    poll = make_poll(owner=user, max_ballots_per_address=1, allow_vote_change=True)
    assert from_address(poll, 0, "203.0.113.7").status_code == 201
    ids = choice_ids(poll)
    changed = vote(APIClient(REMOTE_ADDR="203.0.113.7"), poll.id, ids[1:2], voter="203.0.113.7-0")
    assert changed.status_code == 200
    account = client_for(UserFactory())
    account.defaults["REMOTE_ADDR"] = "203.0.113.7"
    assert vote(account, poll.id, ids[:1], voter=None).status_code == 201


def test_a_cap_of_zero_means_no_cap(user):
    poll = make_poll(owner=user, max_ballots_per_address=0)
    assert [from_address(poll, n, "203.0.113.7").status_code for n in range(5)] == [201] * 5


def test_reset_gives_the_address_its_ballots_back(user, owner_api):
    poll = make_poll(owner=user, max_ballots_per_address=1)
    assert from_address(poll, 0, "203.0.113.7").status_code == 201
    owner_api.post(f"/api/polls/{poll.id}/reset/")
    assert from_address(poll, 1, "203.0.113.7").status_code == 201


def test_a_new_voter_id_per_request_still_hits_the_cap(user):
    """The stuffing from the report: a fresh id per ballot, one address."""
    poll = make_poll(owner=user, max_ballots_per_address=5)
    statuses = [
        vote(APIClient(), poll.id, choice_ids(poll)[:1], voter=None).status_code for _ in range(8)
    ]
    assert statuses == [201] * 5 + [429] * 3
    assert Ballot.objects.count() == 5


def test_another_account_naming_an_external_id_is_another_voter(owner_api, other_api, user):
    poll = make_poll(owner=user, results_visibility="after_vote", allow_vote_change=True)
    ext = {"X-External-Voter": "slack:U123"}
    green = choice_ids(poll)[1:2]
    cast = vote(owner_api, poll.id, green, voter=None, **{**ext, "Idempotency-Key": "k1"})
    assert cast.status_code == 201
    mine = f"/api/polls/{poll.id}/votes/mine/"
    headers = {"HTTP_X_EXTERNAL_VOTER": "slack:U123"}
    assert error(other_api.get(mine, **headers)) == (404, "not_found")
    assert error(other_api.delete(mine, **headers)) == (404, "not_found")
    hidden = other_api.get(f"/api/polls/{poll.id}/results/", **headers)
    assert error(hidden) == (403, "results_hidden")
    replay = vote(other_api, poll.id, green, voter=None, **{**ext, "Idempotency-Key": "k1"})
    assert error(replay) == (403, "forbidden")  # never the owner's stored answer
    assert owner_api.get(mine, **headers).json()["choices"] == green


def test_two_owners_integrations_may_use_the_same_ids_and_keys(owner_api, user):
    mine = make_poll(owner=user)
    other_owner = UserFactory()
    other_client = client_for(other_owner)
    other_poll = make_poll(owner=other_owner)
    headers = {"X-External-Voter": "discord:42", "Idempotency-Key": "k1"}
    first = vote(owner_api, mine.id, choice_ids(mine)[:1], voter=None, **headers)
    second = vote(other_client, other_poll.id, choice_ids(other_poll)[1:2], voter=None, **headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["poll"] == other_poll.id


@pytest.mark.parametrize("passcode", ["a\x00b", "x" * 65, "tab\tbed"])
def test_a_malformed_passcode_is_invalid_and_not_a_guess(api, passcode_poll, passcode):
    response = vote(
        api, passcode_poll.id, choice_ids(passcode_poll)[:1], **{"X-Poll-Passcode": passcode}
    )
    assert response.json() == {
        "code": "invalid",
        "detail": "X-Poll-Passcode must be 1-64 printable characters.",
        "fields": {"X-Poll-Passcode": "1-64 printable characters."},
    }
    assert not Ballot.objects.exists()


@pytest.mark.parametrize(
    ("count", "message"),
    [
        (0, "Create between 1 and 10000 invites at a time."),
        (10_001, "Create between 1 and 10000 invites at a time."),
        ("5", "Enter a whole number of invites."),
        (2.5, "Enter a whole number of invites."),
    ],
)
def test_a_bad_invite_count_is_said_in_plain_words(owner_api, invite_poll, count, message):
    response = mint(owner_api, invite_poll, count=count)
    assert (response.status_code, response.json()["fields"]) == (400, {"count": message})
    assert owner_api.get(f"/api/polls/{invite_poll.id}/invites/").json()["issued"] == 0
