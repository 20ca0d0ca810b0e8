"""Slow sockets and long-lived group membership."""

import asyncio

import pytest
from channels.layers import get_channel_layer

from realtime import states

from .conftest import LAYERS, connect, use_layer, vote, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


class BlockingSend:
    """Stands in for a server whose socket buffer is full (send blocks)."""

    def __init__(self):
        self.sent: list[str] = []
        self.gate = asyncio.Event()

    async def __call__(self, message):
        if message["type"] == "websocket.send":
            await self.gate.wait()
            self.sent.append(message["text"])


def capture_consumers(monkeypatch) -> list:
    """The PollConsumer instances the test's sockets get, as they open."""
    from realtime.consumers import PollConsumer

    consumers = []
    original = PollConsumer.opened

    async def opened(self):
        consumers.append(self)
        await original(self)

    monkeypatch.setattr(PollConsumer, "opened", opened)
    return consumers


async def open_socket(poll, monkeypatch):
    """A connected /ws/polls/ socket (past its first state) and its consumer."""
    consumers = capture_consumers(monkeypatch)
    comm = connect(f"/ws/polls/{poll.id}/")
    await comm.connect()
    await comm.receive_json_from(timeout=3)
    return comm, consumers[0]


async def test_a_slow_socket_gets_the_newest_state_not_a_backlog(poll, monkeypatch):
    comm, consumer = await open_socket(poll, monkeypatch)
    blocked = BlockingSend()
    consumer.base_send = blocked

    def state(version):
        return {
            "type": "poll.results",
            "poll": poll.id,
            "version": version,
            "text": f'{{"version":{version}}}',
            "owner": -1,
            "results": "live",
            "draft": False,
            "closed": False,
            "public": True,
        }

    def deliver(version):
        event = state(version)
        consumer.deliver(event, states.text_frame(event["text"]))

    deliver(2)
    await wait_until(lambda: not consumer.outbox)  # taken by the sender, now stuck
    for version in range(3, 50):  # 47 more states arrive while the socket is stuck
        deliver(version)
    await wait_until(lambda: consumer.outbox == {poll.id: states.text_frame('{"version":49}')})
    blocked.gate.set()
    await wait_until(lambda: blocked.sent and blocked.sent[-1] == '{"version":49}')
    assert blocked.sent == ['{"version":2}', '{"version":49}']  # in flight, then newest
    await comm.disconnect()


async def test_a_socket_stuck_past_the_deadline_is_closed(poll, settings, monkeypatch):
    settings.NEXUS_WS_SEND_TIMEOUT = 0.3
    comm, consumer = await open_socket(poll, monkeypatch)
    blocked = BlockingSend()
    real_send = consumer.base_send

    async def stuck_then_real(message):
        if message["type"] == "websocket.close":
            return await real_send(message)
        return await blocked(message)

    consumer.base_send = stuck_then_real
    await vote(poll, 0)
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4408}
    await wait_until(consumer.sender.done)


async def test_group_expiry_never_drops_a_live_subscriber(poll, settings):
    """The layer forgets group members after group_expiry; watchers are re-added."""
    use_layer(settings, {**LAYERS["memory"], "CONFIG": {"group_expiry": 1}})
    settings.NEXUS_RESYNC_SECONDS = 0.1
    comm = connect(f"/ws/polls/{poll.id}/")
    await comm.connect()
    await comm.receive_json_from(timeout=3)
    layer = get_channel_layer()
    group = states.group_name(poll.id)
    ((channel, joined),) = layer.groups[group].items()
    await wait_until(lambda: layer.groups[group].get(channel, 0) > joined + 1, timeout=5)
    await vote(poll, 0)  # past the original expiry: still delivered
    assert (await comm.receive_json_from(timeout=3))["total_votes"] == 1
    await comm.disconnect()
