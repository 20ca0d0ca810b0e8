"""Per-process receiving side of live results, one hub per event loop.

- The hub **fans out locally**: this process joins each watched poll's
  channel-layer group once, with one channel of its own, and hands every
  event to its local sockets by a plain method call. A broadcast costs one
  channel-layer message per process, not one per socket.
- It **paces** each poll's fan-out to its sockets: at most one every
  `watchers / NEXUS_WS_SENDS_PER_SECOND` seconds, and every
  `watchers × bytes / NEXUS_WS_BYTES_PER_SECOND` (at most LONGEST_WAIT) for
  a big state, with the newest event (each send costs CPU, each byte uplink
  and the screens' decoding; a poll watched by 5,000 sockets in a process
  gets one state a second instead of ten, a 1.5 KB word cloud watched by
  500 one every 0.25 s, and a newer one replaces a waiting one). A
  deletion is never held back.
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
# and 3 MB/s would be one state every 100 to 160 s.
LONGEST_WAIT = 2.0


class Watcher(Protocol):
    sending_since: float | None

    def deliver(self, event: dict, frame: dict) -> None: ...
    def version_of(self, poll_id: str) -> int: ...
    def too_slow(self) -> None: ...


class Hub:
    def __init__(self):
        self.watchers: dict[str, set[Watcher]] = {}
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.groups: dict[str, asyncio.Future] = {}  # polls whose group the hub joined
        self._started: asyncio.Future | None = None
        self._tasks: list[asyncio.Task] = []
        self._groups_refreshed = asyncio.get_running_loop().time()
        self._next_fan_out: dict[str, float] = {}  # poll -> loop time of its next fan-out
        self._waiting: dict[str, dict] = {}  # poll -> newest event not yet fanned out
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
                self._next_fan_out.pop(poll_id, None)

    def deliver(self, event: dict) -> None:
        """Hand the event to the poll's sockets here, paced (see the top)."""
        poll_id = event["poll"]
        if not self.watchers.get(poll_id):
            return
        if version_of(event) == DELETED:  # final and tiny: never held back
            self._waiting.pop(poll_id, None)
            return self._fan_out(poll_id, event)
        waiting = self._waiting.get(poll_id)
        if waiting is not None:  # a fan-out is due: it will carry the newest event
            if version_of(event) > version_of(waiting):
                self._waiting[poll_id] = event
            return
        loop = asyncio.get_running_loop()
        wait = self._next_fan_out.get(poll_id, 0.0) - loop.time()
        if wait <= 0:
            self._fan_out(poll_id, event)
        else:
            self._waiting[poll_id] = event
            loop.call_later(wait, self._fan_out_waiting, poll_id)

    def _fan_out_waiting(self, poll_id: str) -> None:
        event = self._waiting.pop(poll_id, None)
        if event is not None and self.watchers.get(poll_id):
            self._fan_out(poll_id, event)

    def _fan_out(self, poll_id: str, event: dict) -> None:
        watchers = list(self.watchers[poll_id])
        text = event["text"]
        size = len(text) if text.isascii() else len(text.encode())  # isascii: O(1)
        by_size = min(len(watchers) * size / settings.NEXUS_WS_BYTES_PER_SECOND, LONGEST_WAIT)
        spacing = max(len(watchers) / settings.NEXUS_WS_SENDS_PER_SECOND, by_size)
        self._next_fan_out[poll_id] = asyncio.get_running_loop().time() + spacing
        shared = text_frame(text)  # one object for every socket's send
        for watcher in watchers:
            watcher.deliver(event, shared)

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
            self.deliver(event)

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
                if poll_id in self._waiting:  # a paced fan-out is due: it catches them up
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
