"""The hub paces each poll's fan-out by how many sockets watch it here."""

import asyncio
import time

from realtime.hub import Hub
from tests.servers import POLL_INTERVAL


class Watcher:
    sending_since = None

    def __init__(self):
        self.events: list[tuple[float, dict]] = []

    def deliver(self, event, frame):
        self.events.append((time.monotonic(), event))

    def version_of(self, poll_id):
        return 0


def results(version: int) -> dict:
    return {"type": "poll.results", "poll": "P", "version": version, "text": "{}"}


async def settled(watchers, count: int, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while any(len(w.events) < count for w in watchers):
        assert time.monotonic() < deadline, "the paced fan-out never came"
        await asyncio.sleep(POLL_INTERVAL)


async def test_many_sockets_get_the_newest_state_once_per_spacing(settings):
    settings.NEXUS_WS_SENDS_PER_SECOND = 10  # 4 sockets: one fan-out per 0.4 s
    hub, watchers = Hub(), [Watcher() for _ in range(4)]
    hub.watchers["P"] = set(watchers)
    started = time.monotonic()
    for version in (2, 3, 4):
        hub.deliver(results(version))
    await settled(watchers, 2)
    for watcher in watchers:
        (first_at, first), (second_at, second) = watcher.events
        assert (first["version"], second["version"]) == (2, 4)  # 3 was superseded
        assert first_at - started < 0.1
        assert second_at - first_at >= 0.35


async def test_a_deletion_is_never_superseded_nor_held_back(settings):
    settings.NEXUS_WS_SENDS_PER_SECOND = 10  # one socket: 0.1 s apart
    hub, watcher = Hub(), Watcher()
    hub.watchers["P"] = {watcher}
    hub.deliver(results(2))
    hub.deliver(results(3))  # waits its turn...
    hub.deliver({"type": "poll.deleted", "poll": "P", "text": "{}"})  # ...and is dropped
    hub.deliver(results(9))  # a stale state arriving late waits its turn
    (_, first), (deleted_at, deleted) = watcher.events  # the deletion went at once
    assert (first["version"], deleted["type"]) == (2, "poll.deleted")
    hub.leave("P", watcher)  # as a socket does on a deletion: nothing more reaches it
    hub._fan_out_waiting("P")  # the stale state's turn
    assert len(watcher.events) == 2


async def test_few_sockets_are_not_held_back(settings):
    settings.NEXUS_WS_SENDS_PER_SECOND = 20000
    hub, watcher = Hub(), Watcher()
    hub.watchers["P"] = {watcher}
    for count, version in enumerate((2, 3, 4), start=1):  # each after the last arrived
        hub.deliver(results(version))
        await settled([watcher], count)
    assert [e["version"] for _, e in watcher.events] == [2, 3, 4]


async def test_big_states_are_paced_by_bytes_too(settings):
    """A word cloud's or a Q&A list's state is many times a bar chart's: the
    same sockets get it less often, so a poll sends at most
    NEXUS_WS_BYTES_PER_SECOND from this process."""
    settings.NEXUS_WS_SENDS_PER_SECOND = 20000  # by sends alone: 0.2 ms apart
    settings.NEXUS_WS_BYTES_PER_SECOND = 100_000  # 4 sockets × 10 KB: 0.4 s apart
    hub, watchers = Hub(), [Watcher() for _ in range(4)]
    hub.watchers["P"] = set(watchers)
    big = "x" * 10_000
    for version in (2, 3):
        hub.deliver({**results(version), "text": big})
    await settled(watchers, 2)
    for watcher in watchers:
        (first_at, first), (second_at, second) = watcher.events
        assert (first["version"], second["version"]) == (2, 3)
        assert second_at - first_at >= 0.35
    hub.deliver(results(4))  # a small state after a big one waits out the big one's spacing
    await settled(watchers, 3)
    assert all(w.events[2][0] - w.events[1][0] >= 0.35 for w in watchers)


async def test_pacing_by_size_counts_utf8_bytes_and_waits_at_most_two_seconds(settings):
    settings.NEXUS_WS_SENDS_PER_SECOND = 20000
    settings.NEXUS_WS_BYTES_PER_SECOND = 100_000
    hub, watchers = Hub(), [Watcher() for _ in range(4)]
    hub.watchers["P"] = set(watchers)
    loop = asyncio.get_running_loop()
    hub.deliver({**results(2), "text": "日" * 3_334})  # 3,334 characters, 10,002 bytes
    assert hub._next_fan_out["P"] - loop.time() > 0.39  # 4 × 10 KB at 100 KB/s
    hub.deliver({**results(3), "text": "x" * 1_000_000})  # 40 s by size: capped
    hub._fan_out_waiting("P")  # its turn, now rather than in 0.4 s
    assert 1.9 < hub._next_fan_out["P"] - loop.time() <= 2.0
