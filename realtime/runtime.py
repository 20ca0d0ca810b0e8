"""Per-process live-results machinery, one per event loop.

- the coalescer (see coalescer.py);
- the local watchers: which consumers of this process show which poll;
- the reconciler: once per `NEXUS_RESYNC_SECONDS` it reads the versions of
  the polls watched here (one query) and hands a fresh snapshot to the
  watchers of any poll whose newest version they have not seen. This heals
  what Redis pub/sub can lose (Redis restarting, a resubscription race):
  sockets stay open and converge. It also re-adds every watcher to its
  channel-layer group (every quarter of the layer's `group_expiry`), so the
  expiry never drops a live subscriber.
"""

import asyncio
import logging
import weakref
from typing import Protocol

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from polls import selectors

from . import broadcast
from .coalescer import Coalescer

logger = logging.getLogger("nexus.realtime")


class Watcher(Protocol):
    channel_name: str

    async def poll_results(self, event: dict) -> None: ...
    async def poll_deleted(self, event: dict) -> None: ...


class Runtime:
    def __init__(self):
        self.coalescer = Coalescer(broadcast.publish, interval=settings.NEXUS_BROADCAST_INTERVAL)
        self.watchers: dict[str, set[Watcher]] = {}
        self.seen: dict[str, int] = {}  # poll -> newest version delivered here
        self._reconciler: asyncio.Task | None = None
        self._groups_refreshed = asyncio.get_running_loop().time()
        self.resyncs = 0

    def watch(self, poll_id: str, watcher: Watcher) -> None:
        self.watchers.setdefault(poll_id, set()).add(watcher)
        if self._reconciler is None or self._reconciler.done():
            self._reconciler = asyncio.ensure_future(self._reconcile_forever())

    def unwatch(self, poll_id: str, watcher: Watcher) -> None:
        watchers = self.watchers.get(poll_id)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self.watchers[poll_id]
                self.seen.pop(poll_id, None)

    def saw(self, poll_id: str, version: int) -> None:
        if version > self.seen.get(poll_id, 0):
            self.seen[poll_id] = version

    async def _reconcile_forever(self) -> None:
        interval = settings.NEXUS_RESYNC_SECONDS
        while self.watchers:
            await asyncio.sleep(interval)
            try:
                await self.reconcile()
            except Exception:
                logger.warning("Reconciling live polls failed", exc_info=True)

    async def reconcile(self) -> None:
        """Deliver fresh state where this process is behind; refresh groups."""
        versions = await database_sync_to_async(selectors.poll_versions)(
            poll_ids=list(self.watchers)
        )
        for poll_id in list(self.watchers):
            if versions.get(poll_id, 0) > self.seen.get(poll_id, 0) or poll_id not in versions:
                await self.resync(poll_id)
        await self._refresh_groups()

    async def resync(self, poll_id: str) -> None:
        state = await database_sync_to_async(selectors.live_state)(poll_id=poll_id)
        event = broadcast.event_for(poll_id, state)
        self.resyncs += 1
        for watcher in list(self.watchers.get(poll_id, ())):
            handler = watcher.poll_results if state else watcher.poll_deleted
            await handler(event)

    async def _refresh_groups(self) -> None:
        """Re-add watchers well before the layer's group_expiry could drop them."""
        layer = get_channel_layer()
        expiry = getattr(layer, "group_expiry", None)  # the pub/sub layer has none
        now = asyncio.get_running_loop().time()
        if expiry is None or now - self._groups_refreshed < expiry / 4:
            return
        self._groups_refreshed = now
        for poll_id, watchers in list(self.watchers.items()):
            for watcher in list(watchers):
                await layer.group_add(broadcast.group_name(poll_id), watcher.channel_name)


_runtimes: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Runtime]" = (
    weakref.WeakKeyDictionary()
)


def runtime_for(loop: asyncio.AbstractEventLoop | None = None) -> Runtime:
    loop = loop or asyncio.get_running_loop()
    runtime = _runtimes.get(loop)
    if runtime is None:
        runtime = _runtimes[loop] = Runtime()
    return runtime
