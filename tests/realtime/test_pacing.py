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


async def test_a_deletion_is_never_superseded(settings):
    settings.NEXUS_WS_SENDS_PER_SECOND = 10
    hub, watcher = Hub(), Watcher()
    hub.watchers["P"] = {watcher}
    hub.deliver(results(2))
    hub.deliver({"type": "poll.deleted", "poll": "P", "text": "{}"})
    hub.deliver(results(9))  # a stale state arriving late
    await settled([watcher], 2)
    assert [e["type"] for _, e in watcher.events] == ["poll.results", "poll.deleted"]


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
