"""Events over GraphQL: the same writes, rules and error codes as REST."""

import pytest

from polls.models import Event
from tests.graphql.test_http import codes, gql

pytestmark = pytest.mark.django_db

EVENT = "id title owner polls current version createdAt"


def create_event(client, title="All-hands") -> dict:
    body = gql(client, f"mutation($t: String!) {{ createEvent(title: $t) {{ {EVENT} }} }}", t=title)
    assert "errors" not in body, body
    return body["data"]["createEvent"]


def add_poll(client, event_id: str, status="open") -> str:
    body = gql(
        client,
        """mutation($e: ID!, $s: String!) { createPoll(input: {question: "Q?",
        choices: ["a", "b"], event: $e, status: $s}) { id } }""",
        e=event_id,
        s=status,
    )
    assert "errors" not in body, body
    return body["data"]["createPoll"]["id"]


SWITCH = f"mutation($id: ID!, $p: ID) {{ setEventCurrent(id: $id, poll: $p) {{ {EVENT} }} }}"


def test_the_owner_builds_and_drives_an_event(owner_api, user, api):
    event = create_event(owner_api)
    assert (event["title"], event["owner"], event["polls"], event["current"]) == (
        "All-hands",
        user.username,
        [],
        None,
    )
    first, second = add_poll(owner_api, event["id"]), add_poll(owner_api, event["id"])
    switched = gql(owner_api, SWITCH, id=event["id"], p=second)["data"]["setEventCurrent"]
    assert (switched["current"], switched["polls"]) == (second, [first, second])
    read = gql(api, f"query($id: ID!) {{ event(id: $id) {{ {EVENT} }} }}", id=event["id"])
    assert read["data"]["event"] == switched  # anyone reads it, the same as its owner
    assert gql(api, '{ event(id: "NOPE42") { id } }')["data"]["event"] is None
    mine = gql(owner_api, f"{{ events(mine: true) {{ {EVENT} }} }}")["data"]["events"]
    assert [e["id"] for e in mine] == [event["id"]]
    gone = gql(owner_api, "mutation($id: ID!) { deleteEvent(id: $id) }", id=event["id"])
    assert gone["data"]["deleteEvent"] is True
    assert not Event.objects.exists()


def test_only_the_owner_drives_it_with_rest_s_codes(owner_api, other_api, api):
    event = create_event(owner_api)
    poll = add_poll(owner_api, event["id"])
    assert codes(gql(other_api, SWITCH, id=event["id"], p=poll)) == ["forbidden"]
    assert codes(gql(api, SWITCH, id=event["id"], p=poll)) == ["not_authenticated"]
    assert codes(gql(owner_api, SWITCH, id="NOPE42", p=poll)) == ["not_found"]
    elsewhere = gql(other_api, "{ polls { id } }")  # another owner's poll is not in the event
    assert "errors" not in elsewhere
    stranger = gql(
        other_api,
        """mutation($e: ID!) { createPoll(input: {question: "Q?", choices: ["a", "b"],
        event: $e}) { id } }""",
        e=event["id"],
    )
    assert codes(stranger) == ["forbidden"]
    assert codes(gql(api, "{ events(mine: true) { id } }")) == ["not_authenticated"]
    assert Event.objects.get().current_id is None


@pytest.mark.parametrize(("poll", "field"), [("OTHER1", "poll"), ("x", "poll"), ("A" * 17, "poll")])
def test_a_poll_outside_the_event_is_invalid_and_changes_nothing(owner_api, poll, field):
    event = create_event(owner_api)
    add_poll(owner_api, event["id"])
    body = gql(owner_api, SWITCH, id=event["id"], p=poll)
    assert codes(body) == ["invalid"]
    assert field in body["errors"][0]["extensions"]["fields"]
    assert Event.objects.get().version == 2


@pytest.mark.parametrize("title", ["", "x" * 201, "   "])
def test_a_bad_title_is_invalid(owner_api, title):
    body = gql(owner_api, "mutation($t: String!) { createEvent(title: $t) { id } }", t=title)
    assert codes(body) == ["invalid"]
    assert not Event.objects.exists()


def test_nul_in_an_event_s_variables_is_refused_at_the_edge(owner_api):
    query = "mutation($t: String!) { createEvent(title: $t) { id } }"
    response = owner_api.post(
        "/graphql/", {"query": query, "variables": {"t": "a\x00b"}}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert not Event.objects.exists()


def test_the_owner_reorders_over_graphql(owner_api, other_api):
    event = create_event(owner_api)
    first, second = add_poll(owner_api, event["id"]), add_poll(owner_api, event["id"])
    query = "mutation($id: ID!, $p: [ID!]!) { setEventPolls(id: $id, polls: $p) { polls version } }"
    body = gql(owner_api, query, id=event["id"], p=[second, first])
    assert body["data"]["setEventPolls"] == {"polls": [second, first], "version": 4}
    assert codes(gql(other_api, query, id=event["id"], p=[first])) == ["forbidden"]
    assert codes(gql(owner_api, query, id=event["id"], p=[first, first])) == ["invalid"]
