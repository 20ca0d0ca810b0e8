"""The only code that talks to the channel layer.

A write commits -> `poll_changed(poll_id)` (from `transaction.on_commit`)
marks the poll dirty in this process's coalescer -> the coalescer calls
`publish`, which reads one consistent snapshot, encodes it once, and sends it
to the poll's group -> each consumer forwards the encoded text as is.
"""

import asyncio
import contextvars
import json
import logging

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from nexus.metrics import BROADCASTS
from polls import selectors

logger = logging.getLogger("nexus.realtime")

# The event loop of the ASGI server in this process, once it has served
# anything (see BindLoopMiddleware). Writes made on the server's threads are
# coalesced on it; writes made elsewhere (commands, workers) publish directly.
_server_loop: asyncio.AbstractEventLoop | None = None


def group_name(poll_id: str) -> str:
    return f"poll.{poll_id}"


def poll_changed(poll_id: str) -> None:
    """Call after commit: the poll's live state changed (or it was deleted)."""
    loop = _server_loop
    if loop is not None and loop.is_running():
        from .runtime import runtime_for  # runtime imports this module

        # A fresh context: the caller's belongs to its request (asgiref keeps
        # the request's executor there); the coalescer outlives the request.
        loop.call_soon_threadsafe(
            lambda: runtime_for(loop).coalescer.mark(poll_id), context=contextvars.Context()
        )
        return
    try:  # no server here (a command, a worker): publish now, before moving on
        event = event_for(poll_id, selectors.live_state(poll_id=poll_id))
        async_to_sync(get_channel_layer().group_send)(group_name(poll_id), event)
    except Exception:
        logger.exception("Could not publish poll %s", poll_id)


async def publish(poll_id: str) -> dict:
    """Read the poll's state, encode it once, send it to the poll's group."""
    state = await database_sync_to_async(selectors.live_state)(poll_id=poll_id)
    event = event_for(poll_id, state)
    await get_channel_layer().group_send(group_name(poll_id), event)
    BROADCASTS.inc()
    return event


def event_for(poll_id: str, state: selectors.LiveState | None) -> dict:
    """The channel-layer event for a state: the text plus who may see it."""
    if state is None:
        return {
            "type": "poll.deleted",
            "poll": poll_id,
            "text": encode({"type": "deleted", "poll": poll_id}),
        }
    return {
        "type": "poll.results",
        "poll": poll_id,
        "version": state.version,
        "text": encode(state.message),
        "owner": state.owner_id,
        "results": state.results,
        "draft": state.draft,
        "closed": state.closed,
    }


def encode(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"))


def start_background_loop() -> None:
    """For WSGI servers, which have no event loop: run one in a daemon thread
    so that writes are coalesced there as under ASGI, not published one by one."""
    import threading

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="nexus-broadcast", daemon=True).start()
    bind_loop(loop)


def bind_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _server_loop
    _server_loop = loop


class BindLoopMiddleware:
    """Outermost ASGI middleware: remembers the server's event loop."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if _server_loop is not asyncio.get_running_loop():
            bind_loop(asyncio.get_running_loop())
        return await self.app(scope, receive, send)
