"""Sockets from foreign origins are anonymous; floods and error storms are
closed with 4429 (realtime/auth.py, realtime/budget.py)."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from nexus.asgi import application
from realtime import budget
from tests.factories import make_poll

from .conftest import connect

pytestmark = pytest.mark.django_db(transaction=True)

OWN = [(b"host", b"localhost:8000")]


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def owner_socket(poll, owner, *headers):
    cookie = await database_sync_to_async(session_cookie)(owner)
    comm = connect(f"/ws/polls/{poll.id}/", headers=[(b"cookie", cookie), *headers])
    assert (await comm.connect())[0]
    return comm


async def sees_hidden_results(comm) -> bool:
    """The owner's session sees after_close results; an anonymous socket is closed 4403."""
    first = await comm.receive_output(timeout=3)
    await comm.disconnect()
    if first["type"] == "websocket.close":
        assert first["code"] == 4403
        return False
    return json.loads(first["text"])["type"] == "results"


@pytest.mark.parametrize(
    ("headers", "own"),
    [
        ([], True),  # no Origin: not a browser, nobody else's cookies
        ([*OWN, (b"origin", b"http://localhost:8000")], True),
        ([*OWN, (b"origin", b"http://evil.example")], False),
        ([*OWN, (b"origin", b"http://localhost:9999")], False),  # another port
        ([*OWN, (b"origin", b"https://localhost:8000")], False),  # another scheme
        ([*OWN, (b"origin", b"http://localhost:8000.evil.example")], False),
        ([*OWN, (b"origin", b"null")], False),  # sandboxed frames, file: pages
        ([(b"origin", b"http://localhost:8000")], False),  # no Host to be the same as
    ],
)
async def test_only_the_servers_own_origin_keeps_its_cookies(owner, headers, own):
    poll = await database_sync_to_async(make_poll)(owner=owner, results_visibility="after_close")
    comm = await owner_socket(poll, owner, *headers)
    assert await sees_hidden_results(comm) is own


async def test_trusted_origins_keep_their_cookies_wildcards_included(owner, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com", "https://*.example.org"]
    poll = await database_sync_to_async(make_poll)(owner=owner, results_visibility="after_close")
    for origin, own in [
        (b"https://app.example.com", True),
        (b"https://live.example.org", True),
        (b"http://live.example.org", False),  # the scheme counts
        (b"https://example.org.evil.example", False),
    ]:
        comm = await owner_socket(poll, owner, *OWN, (b"origin", origin))
        assert await sees_hidden_results(comm) is own, origin


async def test_https_behind_a_trusted_proxy_is_the_own_origin(owner, settings):
    poll = await database_sync_to_async(make_poll)(owner=owner, results_visibility="after_close")
    proxied = [(b"host", b"polls.example"), (b"x-forwarded-proto", b"https")]
    origin = (b"origin", b"https://polls.example")
    settings.ALLOWED_HOSTS = ["polls.example"]
    # no trusted proxy: the header is the client's word, and ignored
    assert await sees_hidden_results(await owner_socket(poll, owner, *proxied, origin)) is False
    settings.NEXUS_NUM_PROXIES = 1
    assert await sees_hidden_results(await owner_socket(poll, owner, *proxied, origin)) is True


async def test_a_host_outside_allowed_hosts_is_refused(poll):
    comm = connect(f"/ws/polls/{poll.id}/", headers=[(b"host", b"rebound.evil.example")])
    assert (await comm.connect())[0] is False


async def test_a_socket_that_floods_is_closed_4429(poll, monkeypatch):
    monkeypatch.setattr(budget, "RATE", 0.001)  # none earned back during the test
    comm = connect(f"/ws/polls/{poll.id}/")
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=3))["type"] == "results"
    for _ in range(budget.BURST + 5):
        await comm.send_json_to({"type": "ping"})
    pongs = 0
    while (message := await comm.receive_output(timeout=3))["type"] == "websocket.send":
        assert json.loads(message["text"]) == {"type": "pong"}
        pongs += 1
    assert message == {"type": "websocket.close", "code": 4429}
    assert pongs == budget.BURST


async def test_a_socket_that_keeps_erring_is_closed_4429(transactional_db, monkeypatch):
    """Subscribes to unknown polls, however slowly sent: the hundredth error closes it."""
    monkeypatch.setattr(budget, "BURST", 10_000)  # only the errors count here
    comm = connect("/ws/")
    assert (await comm.connect())[0]
    for n in range(budget.ERRORS - 1):
        await comm.send_json_to({"type": "subscribe", "poll": f"NOPE{n:02d}"})
    for n in range(budget.ERRORS - 1):
        assert await comm.receive_json_from(timeout=3) == {
            "type": "error",
            "code": "not_found",
            "poll": f"NOPE{n:02d}",
        }
    await comm.send_to(text_data="not json")
    assert await comm.receive_json_from(timeout=3) == {"type": "error", "code": "invalid"}
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4429}


async def graphql_socket():
    comm = WebsocketCommunicator(application, "/graphql/", subprotocols=["graphql-transport-ws"])
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "connection_init"})
    assert await comm.receive_json_from(timeout=3) == {"type": "connection_ack"}
    return comm


async def test_a_graphql_socket_that_floods_is_closed_4429(transactional_db, monkeypatch):
    monkeypatch.setattr(budget, "RATE", 0.001)
    comm = await graphql_socket()
    for _ in range(budget.BURST + 5):
        await comm.send_json_to({"type": "ping"})
    for _ in range(budget.BURST - 1):  # connection_init was one
        assert await comm.receive_json_from(timeout=3) == {"type": "pong"}
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4429}


async def test_a_graphql_socket_that_keeps_erring_is_closed_4429(transactional_db, monkeypatch):
    monkeypatch.setattr(budget, "BURST", 10_000)
    comm = await graphql_socket()
    for n in range(budget.ERRORS):
        bad = {"query": "subscription { nothingHere }"}
        await comm.send_json_to({"id": str(n), "type": "subscribe", "payload": bad})
        error = await comm.receive_json_from(timeout=3)
        assert (error["type"], error["id"]) == ("error", str(n))
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4429}
