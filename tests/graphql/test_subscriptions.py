"""pollResults over graphql-transport-ws, end to end against a real server."""

import json
import uuid

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.helpers import voter_id
from tests.servers import Server, migrate, server_env

SUBSCRIBE = """subscription($id: ID!) { pollResults(pollId: $id) {
  poll version status totalVotes choices { text votes share } } }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("graphql")
    env = server_env(f"sqlite:///{tmp / 'db.sqlite3'}", None, NEXUS_RESYNC_MS="60000")
    migrate(env)
    server = Server(env)
    yield server
    server.stop()


def create_poll(server: Server, **options) -> tuple[dict, str]:
    token = httpx.post(
        f"{server.url}/api/auth/register/",
        json={
            "username": f"gql-{uuid.uuid4().hex[:12]}",
            "password": "correct-horse-battery",
        },
    ).json()["token"]
    poll = httpx.post(
        f"{server.url}/api/polls/",
        headers={"Authorization": f"Token {token}"},
        json={"question": "GraphQL?", "choices": ["Yes", "No"], **options},
    ).json()
    return poll, token


async def subscribe(server: Server, poll_id: str, token: str | None = None):
    query = f"?token={token}" if token else ""
    ws = await connect(f"{server.ws}/graphql/{query}", subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await ws.recv()) == {"type": "connection_ack"}
    await ws.send(
        json.dumps(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": {"id": poll_id}},
            }
        )
    )
    return ws


async def next_payload(ws) -> dict:
    message = json.loads(await ws.recv())
    assert message["type"] == "next", message
    return message["payload"]


async def test_subscription_yields_the_current_state_then_each_vote(server):
    poll, _ = create_poll(server)
    ws = await subscribe(server, poll["id"])
    first = await next_payload(ws)
    assert first == {
        "data": {
            "pollResults": {
                "poll": poll["id"],
                "version": 1,
                "status": "open",
                "totalVotes": 0,
                "choices": [
                    {"text": "Yes", "votes": 0, "share": 0.0},
                    {"text": "No", "votes": 0, "share": 0.0},
                ],
            }
        }
    }
    response = httpx.post(
        f"{server.url}{poll['urls']['vote']}",
        json={"choices": [poll["choices"][1]["id"]]},
        headers={"X-Voter-Id": voter_id("gql-sub-0001")},
    )
    assert response.status_code == 201
    update = (await next_payload(ws))["data"]["pollResults"]
    assert (update["version"], update["totalVotes"]) == (2, 1)
    assert update["choices"][1] == {"text": "No", "votes": 1, "share": 1.0}
    await ws.close()


async def test_hidden_results_are_refused_but_not_to_the_owner(server):
    poll, token = create_poll(server, results="after_close")
    ws = await subscribe(server, poll["id"])
    refused = await next_payload(ws)
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"] == {"code": "results_hidden"}
    await ws.close()
    owner = await subscribe(server, poll["id"], token=token)
    assert (await next_payload(owner))["data"]["pollResults"]["version"] == 1
    await owner.close()


async def test_unknown_polls_are_not_found(server):
    ws = await subscribe(server, "NOPE42")
    payload = await next_payload(ws)
    assert payload["errors"][0]["extensions"] == {"code": "not_found"}
    await ws.close()


@pytest.mark.parametrize(
    ("operation", "refused"),
    [("{ polls { id } }", "queries"), ("mutation { createVoter { voterId } }", "mutations")],
)
async def test_queries_and_mutations_over_the_socket_are_refused_cleanly(
    server, operation, refused
):
    ws = await connect(f"{server.ws}/graphql/", subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await ws.recv()) == {"type": "connection_ack"}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": operation}}))
    message = json.loads(await ws.recv())
    assert message["type"] in {"error", "next"}, message
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["message"] == f"{refused} are not allowed"
    poll, _ = create_poll(server)  # the socket still serves subscriptions
    await ws.send(
        json.dumps(
            {
                "id": "2",
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": {"id": poll["id"]}},
            }
        )
    )
    while (message := json.loads(await ws.recv()))["id"] != "2":
        pass
    assert message["payload"]["data"]["pollResults"]["poll"] == poll["id"]
    await ws.close()


EVENT_STATE = """subscription($id: ID!) { eventState(eventId: $id) {
  event version current title } }"""


async def subscribe_event(server: Server, event_id: str):
    ws = await connect(f"{server.ws}/graphql/", subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await ws.recv()) == {"type": "connection_ack"}
    payload = {"query": EVENT_STATE, "variables": {"id": event_id}}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    return ws


async def test_event_state_follows_the_presenter(server):
    poll, token = create_poll(server)
    auth = {"Authorization": f"Token {token}"}
    event = httpx.post(f"{server.url}/api/events/", json={"title": "Talk"}, headers=auth).json()
    second = httpx.post(
        f"{server.url}/api/polls/",
        headers=auth,
        json={"question": "Next?", "choices": ["a", "b"], "event": event["id"]},
    ).json()
    ws = await subscribe_event(server, event["id"].lower())
    first = (await next_payload(ws))["data"]["eventState"]
    assert first == {"event": event["id"], "version": 2, "current": None, "title": "Talk"}
    switched = httpx.post(
        f"{server.url}/api/events/{event['id']}/current/", json={"poll": second["id"]}, headers=auth
    )
    assert switched.status_code == 200
    update = (await next_payload(ws))["data"]["eventState"]
    assert (update["version"], update["current"]) == (3, second["id"])
    assert httpx.delete(f"{server.url}/api/events/{event['id']}/", headers=auth).status_code == 204
    gone = await next_payload(ws)
    assert gone["errors"][0]["extensions"] == {"code": "not_found"}
    await ws.close()
    unknown = await subscribe_event(server, "NOPE42")
    assert (await next_payload(unknown))["errors"][0]["extensions"] == {"code": "not_found"}
    await unknown.close()
