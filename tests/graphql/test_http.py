"""GraphQL over HTTP: the REST rules, codes and permissions, through the same services."""

import json

import pytest

from polls.models import Ballot
from tests.conftest import client_for
from tests.factories import UserFactory, make_poll
from tests.helpers import choice_ids, voter_id

pytestmark = pytest.mark.django_db


def gql(client, query: str, **variables):
    response = client.post("/graphql/", {"query": query, "variables": variables}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


VOTE = """mutation($poll: ID!, $choices: [ID!]!, $voter: String, $key: String) {
  vote(pollId: $poll, choices: $choices, voterId: $voter, idempotencyKey: $key) {
    poll choices voterId createdAt } }"""


def codes(body) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


def test_create_poll_then_read_it_back(owner_api, user):
    body = gql(
        owner_api,
        """mutation { createPoll(input: {question: "Lunch?",
        choices: ["Pizza", "Sushi"], kind: "multiple", allowVoteChange: true}) {
        id question kind maxChoices allowVoteChange results status owner
        choices { text position } } }""",
    )
    poll = body["data"]["createPoll"]
    assert poll | {"id": "X"} == {
        "id": "X",
        "question": "Lunch?",
        "kind": "multiple",
        "maxChoices": 2,
        "allowVoteChange": True,
        "results": "live",
        "status": "open",
        "owner": user.username,
        "choices": [{"text": "Pizza", "position": 0}, {"text": "Sushi", "position": 1}],
    }
    again = gql(owner_api, "query($id: ID!) { poll(id: $id) { question } }", id=poll["id"])
    assert again["data"]["poll"] == {"question": "Lunch?"}


def test_invalid_input_names_each_field_like_rest(owner_api):
    body = gql(
        owner_api,
        """mutation { createPoll(input: {question: "",
        choices: ["Same", "same"]}) { id } }""",
    )
    assert body["errors"][0]["extensions"] == {
        "code": "invalid",
        "fields": {
            "question": "Write the question.",
            "choices": "Choices must be unique: 'same' repeats.",
        },
    }


def test_creating_needs_an_account_and_a_bad_token_is_refused(api, db):
    body = gql(api, 'mutation { createPoll(input: {question: "Q", choices: ["a", "b"]}) { id } }')
    assert codes(body) == ["not_authenticated"]
    api.credentials(HTTP_AUTHORIZATION="Token nope")
    assert codes(gql(api, "{ polls { id } }")) == ["authentication_failed"]


def test_vote_follows_the_rest_rules(api, poll):
    red, green, _ = (str(i) for i in choice_ids(poll))
    first = gql(api, VOTE, poll=poll.id, choices=[red], voter=voter_id("gql-voter-1"))["data"][
        "vote"
    ]
    assert (first["poll"], first["choices"], first["voterId"]) == (
        poll.id,
        [red],
        voter_id("gql-voter-1"),
    )
    assert codes(gql(api, VOTE, poll=poll.id, choices=[green], voter=voter_id("gql-voter-1"))) == [
        "already_voted"
    ]
    assert codes(
        gql(api, VOTE, poll=poll.id, choices=[red, green], voter=voter_id("v2-voter"))
    ) == ["invalid_choice"]
    assert codes(gql(api, VOTE, poll="NOPE42", choices=[red], voter=voter_id("v2-voter"))) == [
        "not_found"
    ]
    assert codes(gql(api, VOTE, poll=poll.id, choices=["x"], voter=voter_id("v2-voter"))) == [
        "invalid"
    ]
    assert Ballot.objects.count() == 1


def test_same_idempotency_key_replays_across_rest_and_graphql(api, poll):
    red = choice_ids(poll)[0]
    rest = api.post(
        f"/api/polls/{poll.id}/votes/",
        {"choices": [red]},
        format="json",
        HTTP_X_VOTER_ID=voter_id("both-apis-1"),
        HTTP_IDEMPOTENCY_KEY="k-1",
    ).json()
    body = gql(
        api, VOTE, poll=poll.id, choices=[str(red)], voter=voter_id("both-apis-1"), key="k-1"
    )
    assert body["data"]["vote"]["createdAt"].startswith(rest["created_at"][:19])
    assert codes(
        gql(
            api,
            VOTE,
            poll=poll.id,
            choices=[str(choice_ids(poll)[1])],
            voter=voter_id("both-apis-1"),
            key="k-1",
        )
    ) == ["idempotency_mismatch"]
    assert Ballot.objects.count() == 1


def test_results_respect_visibility(api, user):
    poll = make_poll(owner=user, results_visibility="after_close")
    query = "query($id: ID!) { results(pollId: $id) { totalVotes choices { text votes share } } }"
    assert codes(gql(api, query, id=poll.id)) == ["results_hidden"]
    owner = gql(client_for(user), query, id=poll.id)["data"]["results"]
    assert owner == {
        "totalVotes": 0,
        "choices": [{"text": t, "votes": 0, "share": 0.0} for t in ("Red", "Green", "Blue")],
    }


def test_open_and_close_are_for_the_owner(api, user, poll):
    other = client_for(UserFactory())
    mutation = "mutation($id: ID!) { closePoll(id: $id) { status } }"
    assert codes(gql(other, mutation, id=poll.id)) == ["forbidden"]
    assert codes(gql(api, mutation, id=poll.id)) == ["not_authenticated"]
    assert gql(client_for(user), mutation, id=poll.id)["data"] == {
        "closePoll": {"status": "closed"}
    }
    reopen = "mutation($id: ID!) { openPoll(id: $id) { status } }"
    assert gql(client_for(user), reopen, id=poll.id)["data"] == {"openPoll": {"status": "open"}}


def test_polls_with_choices_take_two_queries_for_fifty_polls(api, user, django_assert_num_queries):
    for n in range(50):
        make_poll(owner=user, question=f"Poll {n}")
    with django_assert_num_queries(2):  # polls with owners, then all their choices
        body = gql(api, "{ polls(limit: 50) { id owner choices { id text } } }")
    assert len(body["data"]["polls"]) == 50
    assert all(len(p["choices"]) == 3 for p in body["data"]["polls"])


def test_drafts_and_filters_match_rest(api, user):
    make_poll(owner=user, status="draft")
    visible = make_poll(owner=user, question="Lunch today?")
    assert gql(api, "{ polls { id } }")["data"]["polls"] == [{"id": visible.id}]
    mine = gql(client_for(user), '{ polls(mine: true, search: "lunch") { id } }')
    assert mine["data"]["polls"] == [{"id": visible.id}]
    assert codes(gql(api, "{ polls(mine: true) { id } }")) == ["not_authenticated"]


def test_queries_with_too_many_aliases_are_refused(api, db):
    deep = (
        "{ polls { choices { id } " + "".join(f"a{i}: polls {{ id }} " for i in range(25)) + "} }"
    )
    body = gql(api, deep)
    assert body["data"] is None and "aliases" in body["errors"][0]["message"]


def test_introspection_is_off_in_production_unless_asked_for(api, db, settings):
    import strawberry

    from nexus.graphql import _extensions
    from polls.graphql import Query

    body = api.post("/graphql/", {"query": "{ __schema { queryType { name } } }"}, format="json")
    assert "introspection has been disabled" in body.json()["errors"][0]["message"]
    settings.NEXUS_GRAPHQL_INTROSPECTION = True  # as NEXUS_GRAPHQL_INTROSPECTION=true does
    opened = strawberry.Schema(query=Query, extensions=_extensions())
    result = opened.execute_sync("{ __schema { queryType { name } } }")
    assert result.errors is None and result.data["__schema"]["queryType"]["name"] == "Query"


def test_graphiql_is_off_in_production_and_served_when_asked_for(client, db):
    from django.test import RequestFactory

    from nexus.graphql import NexusGraphQLView, schema

    response = client.get("/graphql/", HTTP_ACCEPT="text/html")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    view = NexusGraphQLView.as_view(schema=schema, graphql_ide="graphiql")  # NEXUS_GRAPHIQL=1
    page = view(RequestFactory().get("/graphql/", HTTP_ACCEPT="text/html"))
    assert page.status_code == 200 and b"graphiql" in page.content.lower()


def test_browser_sessions_work_and_need_csrf_for_writes(user, poll):
    from rest_framework.test import APIClient

    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)
    mine = browser.get("/graphql/", {"query": "{ polls(mine: true) { id } }"})
    assert mine.json()["data"] == {"polls": [{"id": poll.id}]}
    body = gql(browser, "mutation($id: ID!) { closePoll(id: $id) { status } }", id=poll.id)
    assert codes(body) == ["forbidden"] and "CSRF" in body["errors"][0]["message"]


def test_a_vote_without_voter_id_never_replays_another_clients_answer(poll):
    from rest_framework.test import APIClient

    red, green = (str(i) for i in choice_ids(poll)[:2])
    first = gql(APIClient(), VOTE, poll=poll.id, choices=[red], key="retry-1")["data"]["vote"]
    probe = gql(APIClient(), VOTE, poll=poll.id, choices=[green], key="retry-1")
    same = gql(APIClient(), VOTE, poll=poll.id, choices=[red], key="retry-1")["data"]["vote"]
    assert codes(probe) == [] and probe["data"]["vote"]["voterId"] != first["voterId"]
    assert same["voterId"] not in {first["voterId"], probe["data"]["vote"]["voterId"]}
    assert Ballot.objects.count() == 3


def test_a_forged_voter_id_is_refused(api, poll):
    body = gql(api, VOTE, poll=poll.id, choices=[str(choice_ids(poll)[0])], voter="gql-voter-1")
    assert codes(body) == ["invalid_voter_id"]
    assert not Ballot.objects.exists()


def test_create_voter_issues_an_id_that_votes(api, poll):
    issued = gql(api, "mutation { createVoter }")["data"]["createVoter"]
    body = gql(api, VOTE, poll=poll.id, choices=[str(choice_ids(poll)[0])], voter=issued)
    assert body["data"]["vote"]["voterId"] == issued


def test_a_session_vote_without_csrf_is_refused_not_made_anonymous(user, poll):
    from rest_framework.test import APIClient

    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)
    body = gql(browser, VOTE, poll=poll.id, choices=[str(choice_ids(poll)[0])])
    assert codes(body) == ["forbidden"] and "CSRF" in body["errors"][0]["message"]
    assert not Ballot.objects.exists()


PASSCODE_VOTE = """mutation($poll: ID!, $choices: [ID!]!, $passcode: String) {
  vote(pollId: $poll, choices: $choices, passcode: $passcode) { poll } }"""


def test_passcode_polls_over_graphql(api, owner_api):
    created = gql(
        owner_api,
        """mutation { createPoll(input: {question: "Q", choices: ["a", "b"],
        eligibility: "passcode", passcode: "blue-owl", maxBallotsPerAddress: 50}) {
        id eligibility hasPasscode maxBallotsPerAddress choices { id } } }""",
    )["data"]["createPoll"]
    assert (created["eligibility"], created["hasPasscode"]) == ("passcode", True)
    assert created["maxBallotsPerAddress"] == 50
    ids = [created["choices"][0]["id"]]
    assert codes(gql(api, PASSCODE_VOTE, poll=created["id"], choices=ids)) == ["passcode_required"]
    wrong = gql(api, PASSCODE_VOTE, poll=created["id"], choices=ids, passcode="nope")
    assert codes(wrong) == ["wrong_passcode"]
    right = gql(api, PASSCODE_VOTE, poll=created["id"], choices=ids, passcode="blue-owl")
    assert right["data"]["vote"]["poll"] == created["id"]


def test_invites_over_graphql(owner_api, other_api, user):
    poll = make_poll(owner=user, eligibility="invite")
    minted = gql(
        owner_api,
        "mutation($p: ID!) { createInvites(pollId: $p, count: 2) { token url } }",
        p=poll.id,
    )["data"]["createInvites"]
    assert len(minted) == 2 and minted[0]["url"].endswith(f"?invite={minted[0]['token']}")
    red = str(choice_ids(poll)[0])
    body = gql(other_api, VOTE, poll=poll.id, choices=[red], voter=minted[0]["token"])
    assert body["data"]["vote"]["poll"] == poll.id
    assert codes(gql(other_api, VOTE, poll=poll.id, choices=[red])) == ["not_invited"]
    revoked = gql(
        owner_api,
        "mutation($p: ID!, $t: String!) { revokeInvite(pollId: $p, token: $t) }",
        p=poll.id,
        t=minted[1]["token"],
    )
    assert revoked["data"] == {"revokeInvite": True}
    counts = gql(owner_api, "query($p: ID!) { invites(pollId: $p) { issued used } }", p=poll.id)
    assert counts["data"]["invites"] == {"issued": 1, "used": 1}
    stranger = gql(other_api, "query($p: ID!) { invites(pollId: $p) { issued } }", p=poll.id)
    assert codes(stranger) == ["forbidden"]


EXTERNAL_VOTE = """mutation($poll: ID!, $choices: [ID!]!, $ext: String) {
  vote(pollId: $poll, choices: $choices, externalVoter: $ext) { poll voterId } }"""


def test_integrations_vote_for_external_ids_over_graphql(owner_api, other_api, poll):
    red = [str(choice_ids(poll)[0])]
    body = gql(owner_api, EXTERNAL_VOTE, poll=poll.id, choices=red, ext="discord:42")
    assert body["data"]["vote"] == {"poll": poll.id, "voterId": None}
    again = gql(owner_api, EXTERNAL_VOTE, poll=poll.id, choices=red, ext="discord:42")
    assert codes(again) == ["already_voted"]
    stranger = gql(other_api, EXTERNAL_VOTE, poll=poll.id, choices=red, ext="discord:43")
    assert codes(stranger) == ["forbidden"]
    assert Ballot.objects.count() == 1


def test_graphql_ballots_count_against_the_address_cap(user):
    from rest_framework.test import APIClient

    poll = make_poll(owner=user, max_ballots_per_address=2)
    red = [str(choice_ids(poll)[0])]
    answers = [gql(APIClient(), VOTE, poll=poll.id, choices=red) for _ in range(3)]
    assert [codes(a) for a in answers] == [[], [], ["address_limit"]]
    assert Ballot.objects.count() == 2


@pytest.mark.parametrize("passcode", ["\ud800abc", "x" * 65])
def test_a_malformed_passcode_argument_is_invalid(api, user, passcode):
    poll = make_poll(owner=user, eligibility="passcode", passcode="blue-owl")
    red = [str(choice_ids(poll)[0])]
    variables = {"poll": poll.id, "choices": red, "passcode": passcode}
    raw = json.dumps({"query": PASSCODE_VOTE, "variables": variables})  # \ud800 escaped
    body = api.post("/graphql/", raw, content_type="application/json").json()
    assert codes(body) == ["invalid"]
    assert body["errors"][0]["extensions"]["fields"] == {"passcode": "1-64 printable characters."}
    assert not Ballot.objects.exists()


def test_a_poll_id_no_poll_can_have_is_not_found(api, poll):
    body = gql(api, VOTE, poll="AB CD\u00e9", choices=[str(choice_ids(poll)[0])])
    assert codes(body) == ["not_found"]
    assert not Ballot.objects.exists()


def test_nul_in_any_variable_is_refused_before_execution(api, user):
    poll = make_poll(owner=user, eligibility="passcode", passcode="blue-owl")
    red = [str(choice_ids(poll)[0])]
    for variables in (
        {"poll": "AB\x00CD", "choices": red},
        {"poll": poll.id, "choices": red, "passcode": "nul\x00"},
    ):
        raw = json.dumps({"query": PASSCODE_VOTE, "variables": variables})
        response = api.post("/graphql/", raw, content_type="application/json")
        assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert not Ballot.objects.exists()


HISTORY = """query($id: ID!, $every: String, $after: String) {
  resultsHistory(pollId: $id, every: $every, after: $after) {
    poll every after points { at version totalVotes choices { id votes } } } }"""


def test_the_results_history_is_rest_s_in_camel_case(api, user, monkeypatch):
    """Same points, same visibility, same paging (an `after` cursor), same
    refusals as GET /api/polls/{id}/results/history/."""
    import types

    from polls import selectors
    from polls.services import batch_sql

    clock = types.SimpleNamespace(now=1_795_000_000.0)
    monkeypatch.setattr(batch_sql, "time", types.SimpleNamespace(time=lambda: clock.now))
    poll = make_poll(owner=user)
    red, green, _ = choice_ids(poll)
    for n, choice in enumerate([red, green, green]):
        clock.now += 1
        assert (
            api.post(
                f"/api/polls/{poll.id}/votes/",
                {"choices": [choice]},
                format="json",
                HTTP_X_VOTER_ID=voter_id(f"h{n}"),
                REMOTE_ADDR=f"203.0.113.{n + 1}",
            ).status_code
            == 201
        )
    rest = api.get(f"/api/polls/{poll.id}/results/history/").json()
    body = gql(api, HISTORY, id=poll.id.lower())["data"]["resultsHistory"]
    assert body["poll"] == poll.id and body["every"] == 1 and body["after"] is None
    assert [(p["at"], p["totalVotes"], p["version"]) for p in body["points"]] == [
        (p["at"].replace("Z", "+00:00"), p["total_votes"], p["version"]) for p in rest["points"]
    ]
    assert body["points"][-1]["choices"] == [
        {"id": str(red), "votes": 1},
        {"id": str(green), "votes": 2},
        {"id": str(choice_ids(poll)[2]), "votes": 0},
    ]
    monkeypatch.setattr(selectors, "HISTORY_CELLS", 6)  # three choices: two points a page
    first = gql(api, HISTORY, id=poll.id)["data"]["resultsHistory"]
    second = gql(api, HISTORY, id=poll.id, after=first["after"])["data"]["resultsHistory"]
    assert len(first["points"]) == 2 and second["after"] is None
    assert first["points"] + second["points"] == body["points"]
    assert codes(gql(api, HISTORY, id=poll.id, every="5s")) == ["invalid"]
    assert codes(gql(api, HISTORY, id=poll.id, after="-1")) == ["invalid"]
    hidden = make_poll(owner=user, results_visibility="after_close")
    assert codes(gql(api, HISTORY, id=hidden.id)) == ["results_hidden"]
    assert codes(gql(api, HISTORY, id="NOPE42")) == ["not_found"]
