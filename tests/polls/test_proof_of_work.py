"""Proof of work (`challenge: pow`): an anonymous first ballot carries a
solved ALTCHA challenge of its poll, once. Solved at a tiny difficulty here;
docs/SECURITY.md measures the real one."""

import base64
import json
from datetime import timedelta

import altcha
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from polls import challenges
from polls.models import Ballot, Poll, Question, SpentChallenge
from polls.services.idempotency import spent_challenges_purge
from polls.throttles import ChallengeThrottle
from tests.factories import make_poll
from tests.helpers import choice_ids, solve, vote, voter_id

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def easy(settings):
    settings.NEXUS_CHALLENGE_COST = 1
    settings.NEXUS_CHALLENGE_MAX_NUMBER = 8


@pytest.fixture
def pow_poll(user):
    return make_poll(owner=user, challenge="pow", allow_vote_change=True)


def solved(client, poll_id) -> str:
    response = client.get(f"/api/polls/{poll_id}/challenge/")
    assert response.status_code == 200, response.content
    return solve(response.json())


def error(response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


def payload(header: str) -> dict:
    return json.loads(base64.b64decode(header))


def encoded(data) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


# --- the poll's setting and the challenge ------------------------------------------------


def test_challenge_is_a_poll_setting_default_none(owner_api):
    body = {"question": "Who?", "choices": ["Ada", "Grace"]}
    assert owner_api.post("/api/polls/", body, format="json").json()["challenge"] == "none"
    made = owner_api.post("/api/polls/", {**body, "challenge": "pow"}, format="json")
    assert made.json()["challenge"] == "pow"
    refused = owner_api.post("/api/polls/", {**body, "challenge": "captcha"}, format="json")
    assert error(refused) == (400, "invalid") and "challenge" in refused.json()["fields"]
    assert Poll.objects.count() == 2


def test_a_challenge_is_altcha_v2_bound_to_its_poll_and_not_cached(pow_poll, api):
    response = api.get(f"/api/polls/{pow_poll.id}/challenge/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    challenge = response.json()
    parameters = challenge["parameters"]
    assert parameters["algorithm"] == "PBKDF2/SHA-256"
    assert parameters["data"] == {"poll": pow_poll.id}
    assert parameters["keySignature"] and len(challenge["signature"]) == 64
    assert 0 < parameters["expiresAt"] - timezone.now().timestamp() <= 1800
    again = api.get(f"/api/polls/{pow_poll.id}/challenge/").json()
    assert again["parameters"]["nonce"] != parameters["nonce"]


def test_no_challenge_for_a_poll_without_proof_of_work_or_no_poll(poll, api, user):
    assert error(api.get(f"/api/polls/{poll.id}/challenge/")) == (404, "not_found")
    assert error(api.get("/api/polls/NOPE42/challenge/")) == (404, "not_found")
    draft = make_poll(owner=user, challenge="pow", status="draft")
    assert error(api.get(f"/api/polls/{draft.id}/challenge/")) == (404, "not_found")


def test_a_flood_of_challenge_requests_is_throttled_per_address(pow_poll, monkeypatch):
    monkeypatch.setattr(ChallengeThrottle, "rate", "3/min", raising=False)
    client = APIClient(REMOTE_ADDR="198.51.100.9")
    statuses = [client.get(f"/api/polls/{pow_poll.id}/challenge/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    other = APIClient(REMOTE_ADDR="198.51.100.10")
    assert other.get(f"/api/polls/{pow_poll.id}/challenge/").status_code == 200


# --- votes ---------------------------------------------------------------------------------


def test_an_anonymous_first_ballot_needs_a_solved_challenge(pow_poll, api):
    red = choice_ids(pow_poll)[:1]
    assert error(vote(api, pow_poll.id, red)) == (403, "challenge_required")
    assert not Ballot.objects.exists()
    response = vote(api, pow_poll.id, red, x_challenge=solved(api, pow_poll.id))
    assert response.status_code == 201
    assert Ballot.objects.count() == SpentChallenge.objects.count() == 1


def test_a_challenge_buys_one_ballot_only(pow_poll, api):
    header = solved(api, pow_poll.id)
    red = choice_ids(pow_poll)[:1]
    assert vote(api, pow_poll.id, red, voter="first", x_challenge=header).status_code == 201
    replayed = vote(api, pow_poll.id, red, voter="second", x_challenge=header)
    assert error(replayed) == (403, "challenge_failed")
    assert Ballot.objects.count() == 1


def test_changing_a_ballot_needs_no_new_challenge(pow_poll, api):
    ids = choice_ids(pow_poll)
    assert vote(api, pow_poll.id, ids[:1], x_challenge=solved(api, pow_poll.id)).status_code == 201
    assert vote(api, pow_poll.id, ids[1:2]).status_code == 200


def test_accounts_pay_too_invites_and_integrations_do_not(pow_poll, other_api, owner_api):
    # Sign-up is open, so an account is as cheap to make as a voter id.
    red = choice_ids(pow_poll)[:1]
    assert error(vote(other_api, pow_poll.id, red, voter=None)) == (403, "challenge_required")
    header = solved(other_api, pow_poll.id)
    assert vote(other_api, pow_poll.id, red, voter=None, x_challenge=header).status_code == 201
    bot = vote(owner_api, pow_poll.id, red, voter=None, x_external_voter="slack:U1")
    assert bot.status_code == 201


def test_an_invited_voter_needs_no_challenge(user, owner_api, api):
    poll = make_poll(owner=user, challenge="pow", eligibility="invite")
    minted = owner_api.post(f"/api/polls/{poll.id}/invites/", {"count": 1}, format="json")
    token = minted.json()["invites"][0]["token"]
    red = choice_ids(poll)[:1]
    assert vote(api, poll.id, red, voter=None, x_voter_id=token).status_code == 201


def test_the_secret_counter_is_uniform_from_zero_so_no_client_skips_work(pow_poll, settings):
    settings.NEXUS_CHALLENGE_MAX_NUMBER = 3
    counters = set()
    for _ in range(60):
        challenge = altcha.Challenge.from_dict(challenges.challenge_issue(pow_poll.id))
        counters.add(altcha.solve_challenge(challenge, timeout=0).counter)
    assert counters == {0, 1, 2, 3}


def test_a_retry_with_its_idempotency_key_replays_the_first_answer(pow_poll, api):
    header, red = solved(api, pow_poll.id), choice_ids(pow_poll)[:1]
    first = vote(api, pow_poll.id, red, x_challenge=header, idempotency_key="k-1")
    again = vote(api, pow_poll.id, red, x_challenge=header, idempotency_key="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content


def test_an_expired_challenge_fails(pow_poll, api, settings):
    settings.NEXUS_CHALLENGE_TTL = -1
    header = solved(api, pow_poll.id)
    assert error(vote(api, pow_poll.id, choice_ids(pow_poll)[:1], x_challenge=header)) == (
        403,
        "challenge_failed",
    )


def test_another_polls_challenge_fails(pow_poll, api, user):
    other = make_poll(owner=user, challenge="pow")
    header = solved(api, other.id)
    response = vote(api, pow_poll.id, choice_ids(pow_poll)[:1], x_challenge=header)
    assert error(response) == (403, "challenge_failed")
    assert not Ballot.objects.exists()


def forged(header: str) -> list[str]:
    """The hostile versions of a solved challenge."""
    data = payload(header)
    wrong_key = json.loads(json.dumps(data))
    wrong_key["solution"]["derivedKey"] = "00" * 32
    cheaper = json.loads(json.dumps(data))
    cheaper["challenge"]["parameters"]["cost"] = 1
    cheaper["challenge"]["parameters"]["expiresAt"] += 10**6
    unsigned = json.loads(json.dumps(data))
    del unsigned["challenge"]["signature"]
    return [
        encoded(wrong_key),
        encoded(cheaper),
        encoded(unsigned),
        encoded([1, 2]),
        encoded({"challenge": "x", "solution": None}),
        base64.b64encode(b"[" * 3000).decode(),
        "not base64 at all!",
        header[:-8],
        "A" * 5000,
        "",
        " ",
    ]


def test_forged_or_malformed_challenges_fail_and_change_nothing(pow_poll, api):
    header = solved(api, pow_poll.id)
    red = choice_ids(pow_poll)[:1]
    for n, bad in enumerate(forged(header)):
        response = vote(api, pow_poll.id, red, voter=f"forger-{n}", x_challenge=bad)
        assert error(response) == (403, "challenge_failed"), (n, response.content)
    assert not Ballot.objects.exists() and not SpentChallenge.objects.exists()
    assert vote(api, pow_poll.id, red, x_challenge=header).status_code == 201


def test_a_ballot_refused_for_its_address_does_not_spend_its_challenge(user, owner_api):
    poll = make_poll(owner=user, challenge="pow", max_ballots_per_address=1)
    client = APIClient(REMOTE_ADDR="203.0.113.5")
    red = choice_ids(poll)[:1]
    assert (
        vote(client, poll.id, red, voter="a", x_challenge=solved(client, poll.id)).status_code
        == 201
    )
    header = solved(client, poll.id)
    assert error(vote(client, poll.id, red, voter="b", x_challenge=header)) == (
        429,
        "address_limit",
    )
    owner_api.patch(f"/api/polls/{poll.id}/", {"max_ballots_per_address": 2}, format="json")
    assert vote(client, poll.id, red, voter="b", x_challenge=header).status_code == 201


def test_graphql_votes_carry_the_challenge_too(pow_poll, api):
    mutation = """mutation($p: ID!, $c: [ID!], $x: String) {
        vote(pollId: $p, choices: $c, challenge: $x) { poll } }"""
    red = [str(i) for i in choice_ids(pow_poll)[:1]]

    def run(query, variables):
        return api.post("/graphql/", {"query": query, "variables": variables}, format="json")

    refused = run(mutation, {"p": pow_poll.id, "c": red}).json()
    assert refused["errors"][0]["extensions"]["code"] == "challenge_required"
    got = run("query($p: ID!) { challenge(pollId: $p) }", {"p": pow_poll.id}).json()
    header = solve(got["data"]["challenge"])
    assert run(mutation, {"p": pow_poll.id, "c": red, "x": header}).json()["data"] == {
        "vote": {"poll": pow_poll.id}
    }
    assert Ballot.objects.count() == 1


def test_spent_challenges_are_purged_after_they_expire(pow_poll):
    now = timezone.now()
    long_ago, just = now - timedelta(hours=2), now - timedelta(minutes=5)  # an hour's margin
    SpentChallenge.objects.create(poll=pow_poll, signature="a" * 64, expires_at=long_ago)
    SpentChallenge.objects.create(poll=pow_poll, signature="b" * 64, expires_at=just)
    assert spent_challenges_purge() == 1
    assert list(SpentChallenge.objects.values_list("signature", flat=True)) == ["b" * 64]


# --- Q&A: a voter's first question or upvote is admitted as a first ballot -----------------


def test_a_first_question_or_upvote_in_a_qa_poll_spends_a_challenge(user, api):
    poll = make_poll(owner=user, kind="qa", choices=(), challenge="pow")
    ask = f"/api/polls/{poll.id}/questions/"
    asker = {"HTTP_X_VOTER_ID": voter_id("asker")}
    refused = api.post(ask, {"text": "Why?"}, format="json", **asker)
    assert error(refused) == (403, "challenge_required")
    header = solved(api, poll.id)
    asked = api.post(ask, {"text": "Why?"}, format="json", HTTP_X_CHALLENGE=header, **asker)
    assert asked.status_code == 201
    again = api.post(ask, {"text": "And how?"}, format="json", **asker)  # not a first any more
    assert again.status_code == 201
    upvote = f"{ask}{asked.json()['id']}/upvote/"
    other = {"HTTP_X_VOTER_ID": voter_id("upvoter")}
    assert error(api.post(upvote, HTTP_X_CHALLENGE=header, **other)) == (403, "challenge_failed")
    assert error(api.post(upvote, HTTP_X_CHALLENGE="junk", **other)) == (403, "challenge_failed")
    assert api.post(upvote, HTTP_X_CHALLENGE=solved(api, poll.id), **other).status_code == 200
    assert Question.objects.get(pk=asked.json()["id"]).upvotes == 1
    assert SpentChallenge.objects.count() == 2
