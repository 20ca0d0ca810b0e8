"""Per-process receiving side of live results, one hub per event loop.

- The hub **fans out locally**: this process joins each watched poll's
  channel-layer group once, with one channel of its own, and hands every
  event to its local sockets by a plain method call. A broadcast costs one
  channel-layer message per process, not one per socket.
- It **paces** each poll's sends to its sockets here: they take turns, at
  most NEXUS_WS_SENDS_PER_SECOND a second, and NEXUS_WS_BYTES_PER_SECOND
  of a big state (though the bytes never make a lap longer than
  LONGEST_WAIT), BATCH sockets at a time, and each socket is sent the
  newest state when its turn comes (each send costs CPU, each byte uplink
  and the screens' decoding). A poll watched by 8,000 sockets in a process
  gets one state a second on each, a 1.5 KB word cloud watched by 500 one
  every 0.1 s, and a vote waits at most one lap for a socket's turn, not a
  lap and then a burst to all the others. A socket that has the newest
  state is passed over free. A deletion is never held back.
- The **watchdog** closes sockets whose send has been blocked for longer
  than `NEXUS_WS_SEND_TIMEOUT_MS` (a server with back-pressure, a client
  that stopped reading).
- The **reconciler**, once per `NEXUS_RESYNC_MS`, reads the versions of the
  polls watched here (one query) and gives a fresh snapshot to any socket
  that is behind. This heals what pub/sub can lose (Redis restarting, a
  resubscription race): sockets stay open and converge. It also keeps the
  hub in exactly the groups it needs, re-adding it before a layer's
  `group_expiry` could drop it.

Imports run one way: consumers -> hub -> states. The publishing side
(publish.py) is not imported here; the two meet in the channel layer.
"""

import asyncio
import logging
import weakref
from typing import Protocol

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from nexus.outage import CHANNEL_LAYER, DATABASE, database_unavailable

from . import snapshots
from .states import DELETED, group_name, text_frame, version_of

logger = logging.getLogger("nexus.realtime")

# The longest a state waits for pacing by size: a Q&A list of 100 long
# questions is ~30 KB (48 KB of quotes, escaped), which at 10,000 screens
# and 8 MB/s would take 40 to 60 s to reach every one.
LONGEST_WAIT = 2.0
# A pacer sends to this many sockets at a time, then waits out their share
# of the budget (at 8,000 a second, 500 every 62 ms). Smaller batches cost
# more CPU per send: the server's send completions wake an idle event loop
# one by one instead of together (a send took 27-30 µs in batches of 80,
# 22-23 in batches of 500; docs/BENCHMARKS.md, "Sockets take turns").
BATCH = 500


class Watcher(Protocol):
    sending_since: float | None

    def deliver(self, event: dict, frame: dict) -> None: ...
    def version_of(self, poll_id: str) -> int: ...
    def too_slow(self) -> None: ...


class Pacer:
    """One key's paced fan-out in this process (see the top): its sockets in
    turn, `rate()` a second, each given the newest state when its turn
    comes. A socket that has it already is passed over at no cost, so a lap
    after a state ends when every socket has it."""

    def __init__(self, key: str, watchers: set[Watcher]):
        self.key = key
        self.watchers = watchers  # the hub's set for the key: joins and leaves show
        self.event: dict = {}
        self.frame: dict = {}
        self.version = 0
        self.size = 1
        self.lap: list[Watcher] = []  # this lap's sockets, in turn
        self.turn = 0  # the next one's index in the lap
        self.again = False  # a newer state came mid-lap: one more lap
        self.timer: asyncio.TimerHandle | None = None  # the next tick, while a lap runs
        self.free_at = 0.0  # loop time from which the budget allows the next send

    def offer(self, event: dict) -> None:
        version = version_of(event)
        if version < self.version:
            return  # older than what the sockets are getting
        if version > self.version:
            text = event["text"]
            self.event, self.frame, self.version = event, text_frame(text), version
            self.size = max(len(text) if text.isascii() else len(text.encode()), 1)  # isascii: O(1)
        if version == DELETED:  # final and tiny: never held back
            self.stop()
            for watcher in list(self.watchers):
                self._hand(watcher)
            return
        if self.timer is not None:  # a lap is under way: the rest of it gets this state
            self.again = True
            return
        self.lap, self.turn, self.again = list(self.watchers), 0, False
        loop = asyncio.get_running_loop()
        if loop.time() < self.free_at:
            self.timer = loop.call_at(self.free_at, self.tick)
        else:
            self.tick()

    @property
    def running(self) -> bool:
        return self.timer is not None

    def rate(self) -> float:
        """Sends a second: a lap takes N / SENDS seconds, or N × bytes / BYTES
        if longer, but no longer than LONGEST_WAIT by size."""
        watchers = max(len(self.watchers), 1)
        by_size = settings.NEXUS_WS_BYTES_PER_SECOND / self.size
        sends = max(settings.NEXUS_WS_SENDS_PER_SECOND, 1)
        return min(sends, max(by_size, watchers / LONGEST_WAIT))

    def tick(self) -> None:
        """The next BATCH of sends; schedules the one after."""
        self.timer = None
        loop, rate = asyncio.get_running_loop(), self.rate()
        sent = 0
        while sent < BATCH:
            if self.turn == len(self.lap):
                if not self.again:
                    break
                self.lap, self.turn, self.again = list(self.watchers), 0, False
                continue
            watcher = self.lap[self.turn]
            self.turn += 1
            if watcher in self.watchers and watcher.version_of(self.key) < self.version:
                self._hand(watcher)
                sent += 1
        self.free_at = loop.time() + sent / rate
        if self.turn < len(self.lap) or self.again:
            self.timer = loop.call_at(self.free_at, self.tick)
        else:  # the lap is over: hold no socket that may close meanwhile
            self.lap, self.turn = [], 0

    def _hand(self, watcher: Watcher) -> None:
        """One socket's failure is logged, not the end of the lap for the rest."""
        try:
            watcher.deliver(self.event, self.frame)
        except Exception:
            logger.exception("Handing a live state to a socket failed")

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.lap, self.turn, self.again = [], 0, False


class Hub:
    def __init__(self):
        self.watchers: dict[str, set[Watcher]] = {}
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.groups: dict[str, asyncio.Future] = {}  # polls whose group the hub joined
        self._started: asyncio.Future | None = None
        self._tasks: list[asyncio.Task] = []
        self._groups_refreshed = asyncio.get_running_loop().time()
        self.pacers: dict[str, Pacer] = {}
        self._joins = 0  # joins so far: orders them against snapshot reads
        self._reads: dict[str, tuple[int, asyncio.Future]] = {}  # key -> (joins at start, read)

    async def join(self, poll_id: str, watcher: Watcher) -> int:
        """Watch a poll; returns, once this process receives its broadcasts,
        the join's number for `snapshot`."""
        self._joins += 1
        joined = self._joins
        self.watchers.setdefault(poll_id, set()).add(watcher)
        if self._started is None:
            self._started = asyncio.ensure_future(self._start())
        await asyncio.shield(self._started)
        if poll_id not in self.groups:
            self.groups[poll_id] = asyncio.ensure_future(self._group_add(poll_id))
        await asyncio.shield(self.groups[poll_id])
        return joined

    async def snapshot(self, key: str, joined: int) -> dict:
        """The key's state, read now, as its channel-layer event. Sockets that
        join together (an event's room moving to the next poll, a thousand
        screens opening) share one read: any read that began after a caller
        joined is as fresh as one of its own."""
        entry = self._reads.get(key)
        if entry is None or entry[0] < joined:
            read = asyncio.ensure_future(database_sync_to_async(snapshots.read_event)(key))
            entry = self._reads[key] = (self._joins, read)
            read.add_done_callback(lambda _, done=entry: self._forget_read(key, done))
        return await asyncio.shield(entry[1])

    def _forget_read(self, key: str, entry: tuple[int, asyncio.Future]) -> None:
        if self._reads.get(key) is entry:
            del self._reads[key]

    def leave(self, poll_id: str, watcher: Watcher) -> None:
        """Stop watching; the hub leaves the group at the next reconcile."""
        watchers = self.watchers.get(poll_id)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self.watchers[poll_id]
                pacer = self.pacers.pop(poll_id, None)
                if pacer is not None:
                    pacer.stop()

    def deliver(self, event: dict) -> None:
        """Hand the event to the poll's sockets here, paced (see the top)."""
        poll_id = event["poll"]
        watchers = self.watchers.get(poll_id)
        if not watchers:
            return
        pacer = self.pacers.get(poll_id)
        if pacer is None:
            pacer = self.pacers[poll_id] = Pacer(poll_id, watchers)
        pacer.offer(event)

    async def _start(self) -> None:
        """Never raises: without Redis the hub starts later, the reconciler now."""
        self._tasks = [
            asyncio.ensure_future(self._reconcile_forever()),
            asyncio.ensure_future(self._watch_sends_forever()),
        ]
        if self.layer is None:
            return
        try:
            self.channel = await asyncio.wait_for(self.layer.new_channel("hub."), 2)
        except Exception as exc:
            CHANNEL_LAYER.failed(exc)  # _receive_forever retries
        self._tasks.append(asyncio.ensure_future(self._receive_forever()))

    async def _group_add(self, poll_id: str) -> None:
        if self.channel is None:  # joined when the hub gets its channel
            return
        try:
            await self.layer.group_add(group_name(poll_id), self.channel)
        except Exception as exc:  # Redis away: the reconciler keeps sockets current
            CHANNEL_LAYER.failed(exc)

    async def _receive_forever(self) -> None:
        while True:
            try:
                if self.channel is None:
                    self.channel = await self.layer.new_channel("hub.")
                    for poll_id in list(self.groups):
                        await self._group_add(poll_id)
                event = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                CHANNEL_LAYER.failed(exc)
                await asyncio.sleep(1)
                continue
            CHANNEL_LAYER.ok()
            try:
                self.deliver(event)
            except Exception:  # a malformed event: the next one still comes
                logger.exception("Delivering a channel-layer event failed")

    async def _reconcile_forever(self) -> None:
        while True:
            await asyncio.sleep(settings.NEXUS_RESYNC_SECONDS)
            try:
                await self.reconcile()
            except Exception as exc:
                if database_unavailable(exc):
                    DATABASE.failed(exc)
                else:
                    logger.warning("Reconciling live polls failed", exc_info=True)

    async def _watch_sends_forever(self) -> None:
        """Close sockets whose send has been blocked past NEXUS_WS_SEND_TIMEOUT."""
        loop = asyncio.get_running_loop()
        while True:
            timeout = settings.NEXUS_WS_SEND_TIMEOUT
            await asyncio.sleep(min(1.0, timeout / 4))
            now = loop.time()
            for watchers in list(self.watchers.values()):
                for watcher in list(watchers):
                    since = watcher.sending_since
                    if since is not None and now - since > timeout:
                        watcher.too_slow()

    async def reconcile(self) -> None:
        """Deliver fresh state to sockets that are behind; tidy the hub's groups."""
        if self.watchers:
            versions = await database_sync_to_async(snapshots.versions)(list(self.watchers))
            for poll_id, watchers in list(self.watchers.items()):
                pacer = self.pacers.get(poll_id)
                if pacer is not None and pacer.running:  # its lap catches them up
                    continue
                newest = versions.get(poll_id)
                if newest is None or any(w.version_of(poll_id) < newest for w in watchers):
                    await self.resync(poll_id)
        await self._tidy_groups()

    async def resync(self, key: str) -> None:
        self.deliver(await database_sync_to_async(snapshots.read_event)(key))

    async def _tidy_groups(self) -> None:
        for poll_id in [p for p in self.groups if p not in self.watchers]:
            del self.groups[poll_id]
            if self.channel is None:
                continue
            try:
                await self.layer.group_discard(group_name(poll_id), self.channel)
            except Exception as exc:
                CHANNEL_LAYER.failed(exc)
        expiry = getattr(self.layer, "group_expiry", None)  # the pub/sub layer has none
        now = asyncio.get_running_loop().time()
        if expiry is not None and now - self._groups_refreshed >= expiry / 4:
            self._groups_refreshed = now
            for poll_id in list(self.groups):
                await self._group_add(poll_id)


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub_for(loop: asyncio.AbstractEventLoop | None = None) -> Hub:
    loop = loop or asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub
