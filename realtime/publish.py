"""From a commit to the channel layer: `poll_changed`, the coalescer, `publish`.

A write commits -> `poll_changed(poll_id)` (from `transaction.on_commit`;
`event_changed` for an event, under its key "event.<id>") ->
in a server process, the poll is marked dirty in the process's coalescer,
on the process's event loop -> at most once per NEXUS_BROADCAST_INTERVAL
per poll, `publish` reads one consistent snapshot, encodes it once
(states.py) and sends it to the poll's group. Outside a server (a command, a
Celery worker) there is no loop: `poll_changed` publishes at once.

The loop is bound once per process: a WSGI process starts one in a daemon
thread at import (nexus/wsgi.py); an ASGI process binds its server's loop at
lifespan startup, or on its first connection for servers without lifespan
(daphne). This module never imports the hub (hub.py): publishing and
receiving meet only in the channel layer.
"""

import asyncio
import contextvars
import logging
import threading
from collections.abc import Awaitable, Callable

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from nexus.metrics import BROADCASTS, VOTE_TO_BROADCAST
from nexus.outage import CHANNEL_LAYER

from .buffers import cap_send_buffers
from .snapshots import read_event
from .states import event_key, group_name

logger = logging.getLogger("nexus.realtime")

MAX_RETRY_DELAY = 5.0


class Coalescer:
    """At most one publish per poll per interval, and always the last state.

    Marks arrive on the event loop. A poll marked while idle is published
    after the rest of its interval; marks while a publish is scheduled are
    absorbed (the publish reads the state when it runs, so it includes
    them); a mark while a publish is running schedules one more (the
    trailing edge). A failed publish (Redis away) is retried with back-off
    until it goes through.
    """

    def __init__(self, publish: Callable[[str], Awaitable[object]], *, interval: float):
        self._publish = publish
        self._interval = interval
        self._last: dict[str, float] = {}  # poll -> loop time of its last publish
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._running: set[str] = set()
        self._again: set[str] = set()
        self._failures: dict[str, int] = {}
        self._dirty_since: dict[str, float] = {}  # poll -> first unpublished change
        self._tasks: set[asyncio.Task] = set()

    def mark(self, poll_id: str) -> None:
        """Runs on the loop. The poll's state changed after commit."""
        self._dirty_since.setdefault(poll_id, asyncio.get_running_loop().time())
        if poll_id in self._timers:
            return
        if poll_id in self._running:
            self._again.add(poll_id)
            return
        self._schedule(poll_id, self._interval)

    def _schedule(self, poll_id: str, spacing: float) -> None:
        loop = asyncio.get_running_loop()
        last = self._last.get(poll_id)
        delay = 0.0 if last is None else max(0.0, last + spacing - loop.time())
        self._timers[poll_id] = loop.call_later(delay, self._fire, poll_id)

    def _fire(self, poll_id: str) -> None:
        del self._timers[poll_id]
        self._running.add(poll_id)
        task = asyncio.ensure_future(self._run(poll_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, poll_id: str) -> None:
        loop = asyncio.get_running_loop()
        since = self._dirty_since.pop(poll_id, None)
        try:
            await self._publish(poll_id)
        except Exception as exc:
            self._failures[poll_id] = self._failures.get(poll_id, 0) + 1
            CHANNEL_LAYER.failed(exc)
        else:
            self._failures.pop(poll_id, None)
            CHANNEL_LAYER.ok()
            if since is not None:
                VOTE_TO_BROADCAST.observe(loop.time() - since)
        finally:
            self._last[poll_id] = loop.time()
            self._running.discard(poll_id)
        failures = self._failures.get(poll_id, 0)
        if failures and since is not None:  # still unpublished: keep the oldest change
            self._dirty_since.setdefault(poll_id, since)
        if failures or poll_id in self._again:
            self._again.discard(poll_id)
            spacing = min(MAX_RETRY_DELAY, self._interval * 2**failures) if failures else None
            self._schedule(poll_id, spacing or self._interval)
        else:
            loop.call_later(self._interval, self._forget, poll_id)

    def _forget(self, poll_id: str) -> None:
        if poll_id not in self._timers and poll_id not in self._running:
            self._last.pop(poll_id, None)


# This process's loop and its coalescer, once bound (see the top).
_bound: tuple[asyncio.AbstractEventLoop, Coalescer] | None = None


def poll_changed(poll_id: str) -> None:
    """Call after commit: the poll's live state changed (or it was deleted)."""
    _changed(poll_id)


def event_changed(event_id: str) -> None:
    """Call after commit: the event's state changed (or it was deleted)."""
    _changed(event_key(event_id))


def _changed(key: str) -> None:
    bound = _bound
    if bound is not None and bound[0].is_running():
        loop, coalescer = bound
        # A fresh context: the caller's belongs to its request (asgiref keeps
        # the request's executor there); the coalescer outlives the request.
        loop.call_soon_threadsafe(coalescer.mark, key, context=contextvars.Context())
        return
    try:  # no server loop here (a command, a worker): publish now, before moving on
        async_to_sync(get_channel_layer().group_send)(group_name(key), read_event(key))
    except Exception as exc:
        CHANNEL_LAYER.failed(exc)


async def publish(key: str) -> dict:
    """Read the state, encode it once, send it to the poll's or event's group."""
    event = await database_sync_to_async(read_event)(key)
    await get_channel_layer().group_send(group_name(key), event)
    BROADCASTS.inc()
    return event


def bind_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    """Coalesce this process's changes on `loop` (None: publish each at once)."""
    global _bound
    interval = settings.NEXUS_BROADCAST_INTERVAL
    _bound = None if loop is None else (loop, Coalescer(publish, interval=interval))


def start_background_loop() -> None:
    """For WSGI processes, which have no event loop: run one in a daemon thread
    so that writes are coalesced there as under ASGI, not published one by one."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="nexus-publish", daemon=True).start()
    bind_loop(loop)


class BindLoopMiddleware:
    """Outermost ASGI app: binds the server's loop at lifespan startup, or on
    the first connection where the server has no lifespan (daphne)."""

    def __init__(self, app):
        self.app = app
        self.capped = False  # per process: the ASGI app is built in each worker

    async def __call__(self, scope, receive, send):
        loop = asyncio.get_running_loop()
        if _bound is None or _bound[0] is not loop:
            bind_loop(loop)
        if scope["type"] == "lifespan":
            return await _lifespan(receive, send)
        if not self.capped:  # granian opens its listener only after lifespan startup
            self.capped = True
            cap_send_buffers()
        return await self.app(scope, receive, send)


async def _lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
