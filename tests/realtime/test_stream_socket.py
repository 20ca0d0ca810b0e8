"""The multiplexed `/ws/` stream for dashboards."""

import pytest
from channels.db import database_sync_to_async

from polls import services
from realtime import snapshots
from realtime.hub import Hub
from tests.factories import make_poll

from .conftest import connect, vote

pytestmark = pytest.mark.django_db(transaction=True)


async def test_dashboard_follows_several_polls_on_one_socket(layer, owner, poll):
    other = await database_sync_to_async(make_poll)(owner=owner)
    comm = connect("/ws/")
    assert (await comm.connect())[0]
    for p in (poll, other):
        await comm.send_json_to({"type": "subscribe", "poll": p.id.lower()})
        answer = await comm.receive_json_from(timeout=3)
        assert (answer["type"], answer["poll"], answer["version"]) == ("results", p.id, 1)
    await vote(other, 0)
    update = await comm.receive_json_from(timeout=3)
    assert (update["poll"], update["total_votes"]) == (other.id, 1)
    await comm.send_json_to({"type": "unsubscribe", "poll": other.id})
    await vote(other, 0, voter="voter-0002")
    await vote(poll, 0)
    assert (await comm.receive_json_from(timeout=3))["poll"] == poll.id
    await comm.disconnect()


async def test_resubscribing_answers_with_the_current_state_again(layer, poll):
    comm = connect("/ws/")
    await comm.connect()
    for _ in range(2):
        await comm.send_json_to({"type": "subscribe", "poll": poll.id})
        assert (await comm.receive_json_from(timeout=3))["version"] == 1
    await comm.disconnect()


async def test_a_resubscription_whose_read_lost_a_race_sends_no_older_state(
    layer, poll, monkeypatch
):
    comm = connect("/ws/")
    await comm.connect()
    await comm.send_json_to({"type": "subscribe", "poll": poll.id})
    assert (await comm.receive_json_from(timeout=3))["version"] == 1
    stale = await database_sync_to_async(snapshots.read_event)(poll.id)
    await vote(poll, 0)
    assert (await comm.receive_json_from(timeout=3))["version"] == 2

    async def read_before_the_vote(self, key, joined):
        return stale

    monkeypatch.setattr(Hub, "snapshot", read_before_the_vote)
    await comm.send_json_to({"type": "subscribe", "poll": poll.id})  # answered by version 2
    await vote(poll, 0, voter="voter-0002")
    assert (await comm.receive_json_from(timeout=3))["version"] == 3  # never 1
    await comm.disconnect()


@pytest.mark.parametrize(
    ("message", "answer"),
    [
        (
            {"type": "subscribe", "poll": "NOPE42"},
            {"type": "error", "code": "not_found", "poll": "NOPE42"},
        ),
        (
            {"type": "subscribe", "poll": "../../x"},
            {"type": "error", "code": "not_found", "poll": "../../x"},
        ),
        ({"type": "subscribe"}, {"type": "error", "code": "invalid"}),
        ({"type": "subscribe", "poll": 7}, {"type": "error", "code": "invalid"}),
        ({"type": "dance", "poll": "NOPE42"}, {"type": "error", "code": "invalid"}),
    ],
)
async def test_problems_are_errors_and_the_socket_stays_open(
    layer, transactional_db, message, answer
):
    comm = connect("/ws/")
    await comm.connect()
    await comm.send_json_to(message)
    assert await comm.receive_json_from(timeout=3) == answer
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from(timeout=3) == {"type": "pong"}
    await comm.disconnect()


async def test_hidden_and_draft_polls_are_refused_on_the_stream(layer, owner):
    hidden = await database_sync_to_async(make_poll)(owner=owner, results_visibility="after_close")
    draft = await database_sync_to_async(make_poll)(owner=owner, status="draft")
    comm = connect("/ws/")
    await comm.connect()
    await comm.send_json_to({"type": "subscribe", "poll": hidden.id})
    assert await comm.receive_json_from(timeout=3) == {
        "type": "error",
        "code": "results_hidden",
        "poll": hidden.id,
    }
    await comm.send_json_to({"type": "subscribe", "poll": draft.id})
    assert await comm.receive_json_from(timeout=3) == {
        "type": "error",
        "code": "not_found",
        "poll": draft.id,
    }
    await comm.disconnect()


async def test_deleted_poll_is_announced_and_the_stream_stays_open(layer, owner, poll):
    comm = connect("/ws/")
    await comm.connect()
    await comm.send_json_to({"type": "subscribe", "poll": poll.id})
    await comm.receive_json_from(timeout=3)
    await database_sync_to_async(services.poll_delete)(poll_id=poll.id, user=owner)
    assert await comm.receive_json_from(timeout=3) == {"type": "deleted", "poll": poll.id}
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from(timeout=3) == {"type": "pong"}
    await comm.disconnect()


async def test_a_stream_holds_at_most_200_subscriptions(layer, owner, monkeypatch):
    from realtime import consumers

    monkeypatch.setattr(consumers, "MAX_SUBSCRIPTIONS", 1)
    first = await database_sync_to_async(make_poll)(owner=owner)
    second = await database_sync_to_async(make_poll)(owner=owner)
    comm = connect("/ws/")
    await comm.connect()
    await comm.send_json_to({"type": "subscribe", "poll": first.id})
    await comm.receive_json_from(timeout=3)
    await comm.send_json_to({"type": "subscribe", "poll": second.id})
    assert await comm.receive_json_from(timeout=3) == {
        "type": "error",
        "code": "too_many_subscriptions",
        "poll": second.id,
    }
    await comm.disconnect()
