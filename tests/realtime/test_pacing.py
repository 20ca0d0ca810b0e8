"""The hub paces each poll's sends by how many sockets watch it here: the
sockets take turns, and each gets the newest state when its turn comes."""

import asyncio
import time

import pytest

from realtime import hub as hub_module
from realtime.hub import Hub
from tests.servers import POLL_INTERVAL


@pytest.fixture(autouse=True)
def one_at_a_time(monkeypatch):
    """Batches of one socket, so that the turns show (production's: 500)."""
    monkeypatch.setattr(hub_module, "BATCH", 1)


class Watcher:
    sending_since = None

    def __init__(self):
        self.events: list[tuple[float, dict]] = []

    def deliver(self, event, frame):
        self.events.append((time.monotonic(), event))

    def version_of(self, poll_id):
        return max((e.get("version", 2**63) for _, e in self.events), default=0)

    def versions(self):
        return [e.get("version", "deleted") for _, e in self.events]


def results(version: int, text: str = "{}") -> dict:
    return {"type": "poll.results", "poll": "P", "version": version, "text": text}


async def until(condition, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the paced sends never came"
        await asyncio.sleep(POLL_INTERVAL)


async def settled(watchers, version: int):
    await until(lambda: all(w.version_of("P") >= version for w in watchers))


def sends(watchers) -> list[float]:
    return sorted(at for w in watchers for at, _ in w.events)


def watched(count: int) -> tuple[Hub, list[Watcher]]:
    hub, watchers = Hub(), [Watcher() for _ in range(count)]
    hub.watchers["P"] = set(watchers)
    return hub, watchers


async def test_sockets_take_turns_at_the_rate_and_each_gets_the_newest_then(settings):
    settings.NEXUS_WS_SENDS_PER_SECOND = 10  # 4 sockets: one send per 0.1 s, a lap 0.4 s
    hub, watchers = watched(4)
    started = time.monotonic()
    hub.deliver(results(2))  # the first socket's turn is now
    for version in (3, 4):  # before the second's: it and the others get 4
        hub.deliver(results(version))
    await settled(watchers, 4)
    at = sends(watchers)
    assert at[0] - started < 0.05
    assert all(b - a >= 0.09 for a, b in zip(at, at[1:], strict=False))  # 10 a second
    assert sorted(w.versions() for w in watchers) == [[2, 4], [4], [4], [4]]
    await until(lambda: not hub.pacers["P"].running)  # every socket has it: the laps end
    assert sum(len(w.events) for w in watchers) == 5


async def test_a_batch_of_sockets_is_sent_together_then_waits_out_its_share(settings, monkeypatch):
    monkeypatch.setattr(hub_module, "BATCH", 2)
    settings.NEXUS_WS_SENDS_PER_SECOND = 10  # 4 sockets in batches of 2: 0.2 s apart
    hub, watchers = watched(4)
    hub.deliver(results(2))
    await settled(watchers, 2)
    at = sends(watchers)
    assert at[1] - at[0] < 0.05 and at[3] - at[2] < 0.05
    assert at[2] - at[1] >= 0.19


async def test_a_state_reaches_every_socket_within_one_lap(settings):
    settings.NEXUS_WS_SENDS_PER_SECOND = 10
    hub, watchers = watched(4)
    hub.deliver(results(2))
    await until(lambda: sum(w.version_of("P") == 2 for w in watchers) >= 2)
    assert hub.pacers["P"].running  # mid-lap: the others wait their turn
    newest_at = time.monotonic()
    hub.deliver(results(3))
    await settled(watchers, 3)
    assert max(at for w in watchers for at, e in w.events if e["version"] == 3) - newest_at < 0.5
    assert all(w.versions()[-1] == 3 for w in watchers)
    assert all(w.versions() == sorted(set(w.versions())) for w in watchers)  # never back


async def test_older_and_repeated_states_send_nothing_new(settings):
    settings.NEXUS_WS_SENDS_PER_SECOND = 20000
    hub, watchers = watched(3)
    hub.deliver(results(5))
    await settled(watchers, 5)
    hub.deliver(results(4))  # late, from another process
    hub.deliver(results(5))  # the reconciler's resync: everyone has it
    assert not hub.pacers["P"].running  # no turn is due: nothing can follow
    assert all(w.versions() == [5] for w in watchers)


async def test_a_socket_that_joined_behind_is_caught_up_by_a_repeated_state(settings):
    """The reconciler resyncs with the state the hub has sent already: only
    the socket that lacks it is sent it."""
    settings.NEXUS_WS_SENDS_PER_SECOND = 20000
    hub, watchers = watched(2)
    hub.deliver(results(5))
    await settled(watchers, 5)
    late = Watcher()
    hub.watchers["P"].add(late)
    hub.deliver(results(5))
    await settled([late], 5)
    assert late.versions() == [5]
    assert all(w.versions() == [5] for w in watchers)


async def test_a_deletion_is_never_superseded_nor_held_back(settings):
    settings.NEXUS_WS_SENDS_PER_SECOND = 10  # one send per 0.1 s
    hub, watchers = watched(3)
    hub.deliver(results(2))  # one socket now, the others in turn...
    hub.deliver(results(3))
    hub.deliver({"type": "poll.deleted", "poll": "P", "text": "{}"})  # ...but this goes to all
    assert sorted((w.versions() for w in watchers), key=len) == [["deleted"]] * 2 + [[2, "deleted"]]
    assert not hub.pacers["P"].running  # nothing older follows it
    hub.deliver(results(9))  # a stale state arriving late is dropped
    assert not hub.pacers["P"].running  # no turn is due: nothing can follow
    assert sorted((w.versions() for w in watchers), key=len) == [["deleted"]] * 2 + [[2, "deleted"]]


async def test_the_last_socket_leaving_stops_its_pacer(settings):
    settings.NEXUS_WS_SENDS_PER_SECOND = 10
    hub, watchers = watched(3)
    hub.deliver(results(2))
    pacer = hub.pacers["P"]
    next_turn = pacer.timer
    for watcher in watchers:
        hub.leave("P", watcher)
    assert "P" not in hub.pacers and not pacer.running
    assert next_turn is not None and next_turn.cancelled()  # nothing more will be sent
    assert sum(len(w.events) for w in watchers) == 1


async def test_few_sockets_are_not_held_back(settings):
    settings.NEXUS_WS_SENDS_PER_SECOND = 20000
    hub, watchers = watched(1)
    for version in (2, 3, 4):  # each after the last arrived
        hub.deliver(results(version))
        await settled(watchers, version)
    assert watchers[0].versions() == [2, 3, 4]


async def test_big_states_are_paced_by_bytes_too(settings):
    """A word cloud's or a Q&A list's state is many times a bar chart's: the
    same sockets get it less often, so a poll sends at most
    NEXUS_WS_BYTES_PER_SECOND from this process."""
    settings.NEXUS_WS_SENDS_PER_SECOND = 20000  # by sends alone: 0.05 ms apart
    settings.NEXUS_WS_BYTES_PER_SECOND = 100_000  # 10 KB each: 0.1 s apart
    hub, watchers = watched(4)
    big = "x" * 10_000
    hub.deliver(results(2, big))
    await settled(watchers, 2)
    hub.deliver(results(3))  # a small state after a big one waits out the big one's turn
    await settled(watchers, 3)
    at = sends(watchers)
    assert all(b - a >= 0.09 for a, b in zip(at[:4], at[1:5], strict=False))
    assert at[5:] and all(b - a < 0.05 for a, b in zip(at[4:], at[5:], strict=False))


async def test_pacing_by_size_counts_utf8_bytes_and_takes_a_lap_of_two_seconds_at_most(settings):
    settings.NEXUS_WS_SENDS_PER_SECOND = 20000
    settings.NEXUS_WS_BYTES_PER_SECOND = 100_000
    hub, watchers = watched(4)
    hub.deliver(results(2, "日" * 3_334))  # 3,334 characters, 10,002 bytes
    pacer = hub.pacers["P"]
    assert 9.99 < pacer.rate() < 10  # 100 KB/s of 10 KB states
    hub.deliver(results(3, "x" * 1_000_000))  # 40 s a lap by size: capped at 2 s
    assert pacer.rate() == 2.0  # 4 sockets in 2 s
    hub.pacers["P"].stop()


async def test_a_finished_lap_holds_no_socket(settings):
    """A closed poll's last screen must not keep the thousands that left alive."""
    settings.NEXUS_WS_SENDS_PER_SECOND = 20000
    hub, watchers = watched(3)
    hub.deliver(results(2))
    await settled(watchers, 2)
    pacer = hub.pacers["P"]
    await until(lambda: not pacer.running)
    assert pacer.lap == []


async def test_a_socket_that_fails_does_not_stop_the_others(settings, caplog):
    class Broken(Watcher):
        def deliver(self, event, frame):
            raise RuntimeError("broken")

    settings.NEXUS_WS_SENDS_PER_SECOND = 20000
    hub, watchers = watched(3)
    hub.watchers["P"].add(Broken())
    hub.deliver(results(2))
    await settled(watchers, 2)
    hub.deliver({"type": "poll.deleted", "poll": "P", "text": "{}"})
    assert all(w.versions() == [2, "deleted"] for w in watchers)
    assert "Handing a live state to a socket failed" in caplog.text


async def test_a_failing_event_does_not_stop_the_hub_receiving():
    hub, watchers = watched(1)
    events = asyncio.Queue()
    for event in ({"type": "poll.results", "poll": "P"}, results(3)):  # no version, no text
        events.put_nowait(event)

    class Layer:
        async def new_channel(self, prefix):
            return prefix + "1"

        async def receive(self, channel):
            return await events.get()

    hub.layer = Layer()
    receiving = asyncio.ensure_future(hub._receive_forever())
    await settled(watchers, 3)
    assert not receiving.done()
    receiving.cancel()
