"""`/ws/events/{id}/` on the in-memory layer and on real Redis: the event's
state, then the current poll's results; a switch moves the socket to the
next poll without a reconnect."""

import pytest
from channels.db import database_sync_to_async

from polls.services import events
from tests.factories import make_poll

from .conftest import collector_off, connect, live_consumers, receive_until, vote

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def event(owner):
    def build():
        event = events.event_create(owner=owner, title="All-hands")
        polls = [make_poll(owner=owner, event=event.id) for _ in range(2)]
        return event, polls

    return await database_sync_to_async(build)()


async def switch(event, owner, poll):
    await database_sync_to_async(events.event_current_set)(
        event_id=event.id, user=owner, poll_id=poll.id if poll else None
    )


def is_event(message) -> bool:
    return message["type"] == "event"


async def test_the_socket_follows_the_presenter_from_poll_to_poll(layer, owner, event):
    ev, (first, second) = event
    comm = connect(f"/ws/events/{ev.id.lower()}/")
    assert (await comm.connect())[0]
    assert await comm.receive_json_from(timeout=3) == {
        "type": "event",
        "event": ev.id,
        "version": 3,
        "current": None,
        "title": "All-hands",
    }
    await switch(ev, owner, first)
    seen = await receive_until(comm, lambda m: m["type"] == "results")
    assert [m["type"] for m in seen] == ["event", "results"]  # the event first, then its poll
    assert (seen[0]["current"], seen[0]["version"], seen[1]["poll"]) == (first.id, 4, first.id)
    await vote(first, 1)
    moved = await comm.receive_json_from(timeout=3)
    assert (moved["poll"], moved["total_votes"]) == (first.id, 1)

    await switch(ev, owner, second)
    seen = await receive_until(comm, lambda m: m.get("poll") == second.id)
    assert [m["type"] for m in seen] == ["event", "results"]
    assert seen[0]["current"] == second.id
    await vote(first, 0, voter="voter-0002")  # the room left this poll: nothing arrives
    await vote(second, 2)
    message = await comm.receive_json_from(timeout=3)
    assert (message["poll"], message["total_votes"]) == (second.id, 1)

    await switch(ev, owner, None)
    between = await comm.receive_json_from(timeout=3)
    assert (between["type"], between["current"]) == ("event", None)
    await comm.disconnect()


async def test_a_hidden_current_poll_is_an_error_message_not_a_close(layer, owner, event):
    ev, _ = event
    hidden = await database_sync_to_async(make_poll)(
        owner=owner, event=ev.id, results_visibility="after_close"
    )
    await switch(ev, owner, hidden)
    comm = connect(f"/ws/events/{ev.id}/")
    assert (await comm.connect())[0]
    seen = await receive_until(comm, lambda m: m["type"] == "error")
    assert [m["type"] for m in seen] == ["event", "error"]
    assert seen[1] == {"type": "error", "code": "results_hidden", "poll": hidden.id}
    await switch(ev, owner, None)
    assert is_event(await comm.receive_json_from(timeout=3))  # still open, still following
    await comm.disconnect()


@pytest.mark.parametrize("path", ["NOPE42", "x", "AB%00CD", "A" * 40])
async def test_no_such_event_is_closed_4404(layer, transactional_db, path):
    comm = connect(f"/ws/events/{path}/")
    assert (await comm.connect())[0]
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4404}


async def test_a_deleted_event_says_so_and_closes_4404(layer, owner, event):
    ev, _ = event
    comm = connect(f"/ws/events/{ev.id}/")
    assert (await comm.connect())[0]
    assert is_event(await comm.receive_json_from(timeout=3))
    await database_sync_to_async(events.event_delete)(event_id=ev.id, user=owner)
    assert await comm.receive_json_from(timeout=3) == {"type": "deleted", "event": ev.id}
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4404}


async def test_the_event_socket_ignores_commands_but_answers_ping(layer, owner, event):
    ev, _ = event
    comm = connect(f"/ws/events/{ev.id}/")
    assert (await comm.connect())[0]
    assert is_event(await comm.receive_json_from(timeout=3))
    await comm.send_json_to({"type": "subscribe", "poll": "ABCDEF"})
    assert await comm.receive_json_from(timeout=3) == {"type": "error", "code": "invalid"}
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from(timeout=3) == {"type": "pong"}
    await comm.disconnect()


async def test_a_room_that_moves_on_reads_the_next_poll_once(layer, owner, event, monkeypatch):
    """Every socket of the room joins the new poll at once: one shared read
    of its state, not one query per screen."""
    from realtime import snapshots

    ev, (first, second) = event
    reads = []
    real = snapshots.read_event
    monkeypatch.setattr(snapshots, "read_event", lambda key: reads.append(key) or real(key))
    sockets = [connect(f"/ws/events/{ev.id}/") for _ in range(20)]
    for comm in sockets:
        assert (await comm.connect())[0]
        assert is_event(await comm.receive_json_from(timeout=3))
    await switch(ev, owner, second)
    for comm in sockets:
        seen = await receive_until(comm, lambda m: m.get("poll") == second.id)
        assert [m["type"] for m in seen] == ["event", "results"]
    assert reads.count(second.id) == 1
    for comm in sockets:
        await comm.disconnect()


async def test_a_closed_event_socket_is_freed_without_the_cycle_collector(owner, event):
    """As for a poll's socket (test_poll_socket): its switch task too."""
    ev, (first, second) = event
    with collector_off():
        before = live_consumers()
        for poll in (first, second):
            comm = connect(f"/ws/events/{ev.id}/")
            assert (await comm.connect())[0]
            assert is_event(await comm.receive_json_from(timeout=3))
            await switch(ev, owner, poll)
            shown = poll.id
            await receive_until(comm, lambda m, shown=shown: m.get("poll") == shown)
            await comm.disconnect()
        assert live_consumers() == before
