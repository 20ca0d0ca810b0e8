"""`/ws/polls/{id}/` on the in-memory layer and on real Redis."""

import time

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from rest_framework.authtoken.models import Token

from polls import services
from polls.models import Poll
from polls.services import invites
from polls.voters import Voter
from tests.factories import make_poll
from tests.helpers import choice_ids, voter_id

from .conftest import collector_off, connect, live_consumers, receive_until, vote

pytestmark = pytest.mark.django_db(transaction=True)


def state(poll, version, total, votes, status="open"):
    return {
        "type": "results",
        "poll": poll.id,
        "version": version,
        "status": status,
        "total_votes": total,
        "choices": [
            {"id": c.id, "votes": v, "share": round(v / total, 4) if total else 0.0}
            for c, v in zip(poll.choices.order_by("position"), votes, strict=True)
        ],
    }


async def test_subscriber_gets_the_current_state_then_each_new_one(layer, poll):
    comm = connect(f"/ws/polls/{poll.id}/")
    assert (await comm.connect())[0]
    choices = await database_sync_to_async(lambda: list(poll.choices.order_by("position")))()
    expected = await database_sync_to_async(state)(poll, 1, 0, [0, 0, 0])
    assert await comm.receive_json_from(timeout=3) == expected
    await vote(poll, 1)
    message = await comm.receive_json_from(timeout=3)
    assert message == await database_sync_to_async(state)(poll, 2, 1, [0, 1, 0])
    assert message["choices"][1]["id"] == choices[1].id
    await comm.disconnect()


async def test_join_code_is_case_insensitive_on_sockets(layer, poll):
    comm = connect(f"/ws/polls/{poll.id.lower()}/")
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=3))["poll"] == poll.id
    await comm.disconnect()


async def test_unknown_poll_is_accepted_then_closed_4404(layer, transactional_db):
    comm = connect("/ws/polls/NOPE42/")
    assert (await comm.connect())[0]
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4404}


async def test_someone_elses_draft_closes_4404_but_its_owner_sees_it(layer, owner):
    draft = await database_sync_to_async(make_poll)(owner=owner, status="draft")
    comm = connect(f"/ws/polls/{draft.id}/")
    assert (await comm.connect())[0]
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4404}
    token = await database_sync_to_async(lambda: Token.objects.create(user=owner).key)()
    comm = connect(f"/ws/polls/{draft.id}/?token={token}")
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=3))["status"] == "draft"
    await comm.disconnect()


async def test_hidden_results_close_4403(layer, owner):
    poll = await database_sync_to_async(make_poll)(owner=owner, results_visibility="after_close")
    comm = connect(f"/ws/polls/{poll.id}/")
    assert (await comm.connect())[0]
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


async def test_a_signed_in_owner_sees_hidden_results_through_the_session_cookie(layer, owner):
    poll = await database_sync_to_async(make_poll)(owner=owner, results_visibility="after_close")

    def session_cookie() -> bytes:
        client = Client()
        client.force_login(owner)
        return f"sessionid={client.cookies['sessionid'].value}".encode()

    cookie = await database_sync_to_async(session_cookie)()
    comm = connect(f"/ws/polls/{poll.id}/", headers=[(b"cookie", cookie)])
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=3))["total_votes"] == 0
    await vote(poll, 0)
    assert (await comm.receive_json_from(timeout=3))["total_votes"] == 1
    await comm.disconnect()
    comm = connect(f"/ws/polls/{poll.id}/", headers=[(b"cookie", b"sessionid=forged")])
    assert (await comm.connect())[0]
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


async def test_after_vote_results_open_to_a_voter_who_voted(layer, owner):
    poll = await database_sync_to_async(make_poll)(owner=owner, results_visibility="after_vote")
    await vote(poll, 0, voter="voter-0007")
    comm = connect(
        f"/ws/polls/{poll.id}/", headers=[(b"x-voter-id", voter_id("voter-0007").encode())]
    )
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=3))["total_votes"] == 1
    await comm.disconnect()
    other = f"nexus_voter={voter_id('voter-0008')}".encode()
    comm = connect(f"/ws/polls/{poll.id}/", headers=[(b"cookie", other)])
    assert (await comm.connect())[0]
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


async def test_an_invite_holder_sees_after_vote_results_with_the_voter_query(layer, owner):
    poll = await database_sync_to_async(make_poll)(
        owner=owner, results_visibility="after_vote", eligibility="invite"
    )

    def mint_two_and_vote_with_one():
        token, unused = invites.invites_mint(poll_id=poll.id, user=owner, count=2)
        voter = Voter.for_invite(token)
        services.vote_cast(poll_id=poll.id, voter=voter, choice_ids=choice_ids(poll)[:1])
        return token, unused

    token, unused = await database_sync_to_async(mint_two_and_vote_with_one)()
    comm = connect(f"/ws/polls/{poll.id}/?voter={token}")
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=3))["total_votes"] == 1
    await comm.disconnect()
    comm = connect(f"/ws/polls/{poll.id}/?voter={unused}")
    assert (await comm.connect())[0]
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


@pytest.mark.parametrize("sent", ["header", "cookie", "query"])
async def test_a_forged_voter_id_on_a_socket_is_refused_4400(layer, poll, sent):
    forged = b"phone-0001-abc"
    headers = {
        "header": [(b"x-voter-id", forged)],
        "cookie": [(b"cookie", b"nexus_voter=" + forged)],
    }
    query = "?voter=phone-0001-abc" if sent == "query" else ""
    comm = connect(f"/ws/polls/{poll.id}/{query}", headers=headers.get(sent, []))
    assert (await comm.connect())[0]
    assert await comm.receive_json_from(timeout=3) == {"type": "error", "code": "invalid_voter_id"}
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4400}


async def test_results_that_become_hidden_close_the_socket_4403(layer, owner):
    poll = await database_sync_to_async(make_poll)(owner=owner, results_visibility="after_close")
    await database_sync_to_async(services.poll_close)(poll_id=poll.id, user=owner)
    comm = connect(f"/ws/polls/{poll.id}/")
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=3))["status"] == "closed"
    await database_sync_to_async(services.poll_open)(poll_id=poll.id, user=owner)
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


async def test_a_bad_token_closes_4401(layer, poll):
    comm = connect(f"/ws/polls/{poll.id}/?token=nope")
    assert (await comm.connect())[0]
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}


async def test_ping_gets_pong_and_bad_messages_get_invalid_without_closing(layer, poll):
    comm = connect(f"/ws/polls/{poll.id}/")
    await comm.connect()
    await comm.receive_json_from(timeout=3)
    for bad in ["not json", "[1]", '{"type": 3}', '{"type": "dance"}', "x" * 5000]:
        await comm.send_to(text_data=bad)
        assert await comm.receive_json_from(timeout=3) == {"type": "error", "code": "invalid"}
    await comm.send_to(bytes_data=b"\x00\x01")
    assert await comm.receive_json_from(timeout=3) == {"type": "error", "code": "invalid"}
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from(timeout=3) == {"type": "pong"}
    await comm.disconnect()


async def test_status_changes_are_broadcast(layer, owner, poll):
    comm = connect(f"/ws/polls/{poll.id}/")
    await comm.connect()
    await comm.receive_json_from(timeout=3)
    await database_sync_to_async(services.poll_close)(poll_id=poll.id, user=owner)
    closed = await comm.receive_json_from(timeout=3)
    assert (closed["status"], closed["version"]) == ("closed", 2)
    await database_sync_to_async(services.poll_reset)(poll_id=poll.id, user=owner)
    assert (await comm.receive_json_from(timeout=3))["version"] == 3
    await comm.disconnect()


async def test_deleted_poll_says_so_then_closes_4404(layer, owner, poll):
    comm = connect(f"/ws/polls/{poll.id}/")
    await comm.connect()
    await comm.receive_json_from(timeout=3)
    await database_sync_to_async(services.poll_delete)(poll_id=poll.id, user=owner)
    assert await comm.receive_json_from(timeout=3) == {"type": "deleted", "poll": poll.id}
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4404}


async def test_bursts_are_coalesced_and_the_last_state_arrives(layer, poll):
    comm = connect(f"/ws/polls/{poll.id}/")
    await comm.connect()
    first = await comm.receive_json_from(timeout=3)
    for n in range(40):
        await vote(poll, n % 3, voter=f"voter-{n:04}")
    messages = [first, *await receive_until(comm, lambda m: m["total_votes"] == 40)]
    versions = [m["version"] for m in messages]
    assert versions == sorted(set(versions))  # strictly increasing
    assert versions[-1] == 41
    assert len(messages) < 40  # several votes, one message
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_subscribers_of_one_poll_do_not_hear_another(layer, owner, poll):
    other = await database_sync_to_async(make_poll)(owner=owner)
    comm = connect(f"/ws/polls/{poll.id}/")
    await comm.connect()
    await comm.receive_json_from(timeout=3)
    await vote(other, 0)
    await vote(poll, 0)
    assert (await comm.receive_json_from(timeout=3))["poll"] == poll.id
    await comm.disconnect()


async def test_lost_broadcasts_are_healed_by_the_reconciler(layer, poll, settings, monkeypatch):
    from realtime import publish

    settings.NEXUS_RESYNC_SECONDS = 0.5
    comm = connect(f"/ws/polls/{poll.id}/")
    await comm.connect()
    await comm.receive_json_from(timeout=3)
    monkeypatch.setattr(publish, "poll_changed", lambda poll_id: None)  # the message is lost
    await vote(poll, 2)
    healed = await comm.receive_json_from(timeout=settings.NEXUS_RESYNC_SECONDS + 2)
    assert (healed["version"], healed["total_votes"]) == (2, 1)
    await comm.disconnect()


async def test_votes_made_outside_the_server_are_published_too(redis_layer, poll):
    """A command or worker (no server loop) publishes directly after commit.
    (Only through Redis: an in-memory layer never leaves its process.)"""
    import threading

    from realtime import publish

    comm = connect(f"/ws/polls/{poll.id}/")
    await comm.connect()
    await comm.receive_json_from(timeout=3)
    done = threading.Event()

    def elsewhere():
        publish.bind_loop(None)  # as in `manage.py` or a Celery worker
        Poll.objects.filter(pk=poll.pk).update(version=5, total_votes=0)
        publish.poll_changed(poll.id)
        done.set()

    await database_sync_to_async(elsewhere)()
    assert done.is_set()
    assert (await comm.receive_json_from(timeout=3))["version"] == 5
    await comm.disconnect()


async def test_a_quarantine_and_its_release_reach_every_screen_within_a_second(layer, owner):
    """The owner holds 60 stuffed ballots out of the count: both screens show
    the smaller tally (and `quarantined`) within a second, and the whole
    tally again within a second of the release."""
    from polls.integrity import Signals
    from polls.services import integrity

    poll = await database_sync_to_async(make_poll)(owner=owner, max_ballots_per_address=0)

    def stuff():
        red, green, _ = choice_ids(poll)
        script = Signals(net="attacker", agent="curl", voter_age=0)
        for n in range(60):
            services.vote_cast(
                poll_id=poll.id,
                voter=Voter.for_anon(voter_id(f"s{n}")),
                choice_ids=[red],
                signals=script,
            )
        services.vote_cast(poll_id=poll.id, voter=Voter.for_anon(voter_id("p")), choice_ids=[green])

    await database_sync_to_async(stuff)()
    screens = [connect(f"/ws/polls/{poll.id}/") for _ in range(2)]
    for screen in screens:
        assert (await screen.connect())[0]
        assert (await screen.receive_json_from(timeout=3))["total_votes"] == 61
    for act, total in (("quarantine", 1), ("release", 61)):
        move = integrity.ballots_quarantine if act == "quarantine" else integrity.ballots_release
        started = time.monotonic()
        await database_sync_to_async(move)(poll_id=poll.id, user=owner, signal=None)
        for screen in screens:
            (state,) = await receive_until(screen, lambda m: "type" in m, timeout=1.0)
            assert state["total_votes"] == total
            assert state.get("quarantined", 0) == 61 - total
            assert [c["votes"] for c in state["choices"]][:2] == [total - 1, 1]
        assert time.monotonic() - started <= 1.0
    for screen in screens:
        await screen.disconnect()


async def test_a_closed_sockets_consumer_is_freed_without_the_cycle_collector(poll):
    """Servers collect the oldest garbage rarely (nexus.startup.settle): a
    closed socket must not wait for that, so it holds no reference cycle."""
    with collector_off():
        before = live_consumers()
        for _ in range(20):
            comm = connect(f"/ws/polls/{poll.id}/")
            assert (await comm.connect())[0]
            assert (await comm.receive_json_from())["type"] == "results"
            await comm.disconnect()
        assert live_consumers() == before
