"""Live-results consumers: `/ws/polls/{id}/`, the multiplexed `/ws/`, and
`/ws/events/{id}/`, which follows the event's current poll.

The channels shape, with a process-local group: connect -> accept -> join the
poll in this process's hub (hub.py) -> send the snapshot; disconnect ->
leave. The hub hands each event to `deliver` with the frame every socket
sends (built once per event in this process); `deliver` only decides whether
this socket may see it and whether it is newer than what the socket has.

Outgoing frames go through a one-slot-per-poll outbox drained by one sender
task, straight to the server's `send` (channels' send wrappers only rebuild
the frame): a socket that cannot keep up gets the newest state, not a
backlog, and one whose send stays blocked past NEXUS_WS_SEND_TIMEOUT is
closed (4408) by the hub's watchdog.
"""

import asyncio
import contextlib
import json
import logging
import re

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from nexus.metrics import WS_CONNECTIONS
from polls import selectors
from polls.errors import InvalidVoterId
from polls.models import JOIN_CODE_PATTERN, Poll
from polls.visibility import results_denial

from .auth import voter_from_scope
from .budget import CLOSE_CODE as FLOODED
from .budget import MessageBudget
from .hub import hub_for
from .states import DELETED, encode, event_key, text_frame

logger = logging.getLogger("nexus.realtime")

MAX_MESSAGE_CHARS = 4096
MAX_SUBSCRIPTIONS = 200
JOIN_CODE = re.compile(rf"^{JOIN_CODE_PATTERN}$")
CLOSE = {
    "invalid_voter_id": 4400,
    "not_authenticated": 4401,
    "results_hidden": 4403,
    "not_found": 4404,
    "too_slow": 4408,
}


class LiveConsumer(AsyncWebsocketConsumer):
    async def __call__(self, scope, receive, send):
        """No channel per socket: the process's hub talks to the channel
        layer once for all its sockets. So this reads the client alone,
        through channels' `dispatch`. Channels' own loop
        (AsyncConsumer.__call__), built to read a client and a channel
        together, kept a task and an `asyncio.wait` per socket even without
        the channel: 3 KB of the 12.3 KB of Python each idle socket held
        (benchmarks/socket_python_memory.py)."""
        self.scope, self.channel_layer, self.base_send = scope, None, send
        with contextlib.suppress(StopConsumer):
            while True:
                await self.dispatch(await receive())

    async def connect(self):
        user = self.scope.get("user")
        self.user_id = user.pk if user is not None and user.is_authenticated else None
        try:
            self.voter = voter_from_scope(self.scope)
        except InvalidVoterId:
            self.voter, voter_refused = None, True
        else:
            voter_refused = False
        self.voted: dict[str, bool] = {}  # subscribed polls -> has this voter a ballot
        self.sent: dict[str, int] = {}  # poll -> newest version sent or queued
        self.outbox: dict[str, dict] = {}  # poll -> newest frame not yet sent
        self.close_code: int | None = None
        self.sending_since: float | None = None  # loop time a send began, while it runs
        self.wakeup: asyncio.Future | None = None  # the idle sender waits on it
        self.budget, self.flooded = MessageBudget(), False
        self.hub = hub_for()
        await self.accept()
        WS_CONNECTIONS.inc()
        self.sender = asyncio.ensure_future(self._send_forever())
        if self.scope.get("auth_failed"):
            await self.close(code=CLOSE["not_authenticated"])
            return
        if voter_refused:
            await self.reply({"type": "error", "code": "invalid_voter_id"})
            await self.close(code=CLOSE["invalid_voter_id"])
            return
        await self.opened()

    async def opened(self):
        """Subclasses: what to do once the socket is accepted."""

    async def disconnect(self, code):
        if hasattr(self, "sender"):
            WS_CONNECTIONS.dec()
            self.sender.cancel()
            del self.sender  # a cancelled task would hold this consumer in a cycle
        for poll_id in list(getattr(self, "voted", ())):
            self.forget(poll_id)

    async def receive(self, text_data=None, bytes_data=None):
        if self.flooded:
            return
        if not self.budget.spend():
            return await self.flood("sent messages too fast")
        if text_data is None or len(text_data) > MAX_MESSAGE_CHARS:
            return await self.reply({"type": "error", "code": "invalid"})
        try:
            message = json.loads(text_data)
        except ValueError:
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return await self.reply({"type": "error", "code": "invalid"})
        if message["type"] == "ping":
            return await self.reply({"type": "pong"})
        await self.command(message)

    async def command(self, message: dict):
        await self.reply({"type": "error", "code": "invalid"})

    async def reply(self, message: dict):
        await self.send(text_data=encode(message))
        if message["type"] == "error" and not self.budget.fail():
            await self.flood("caused too many errors")

    async def flood(self, why: str):
        """Close a socket that floods or keeps erring with 4429; what it
        sends until the close completes is ignored."""
        self.flooded = True
        self.sender.cancel()
        logger.info("Closing a socket that %s", why)
        await self.close(code=FLOODED)

    # --- subscriptions ---------------------------------------------------------

    async def subscribe(self, poll_id: str) -> str | None:
        """Join the poll, then queue its current state. Returns an error code.
        The state is the hub's shared read (one for every socket joining at
        once); only whether this voter has a ballot is asked per socket, and
        only where it decides what the socket may see."""
        joined = await self.hub.join(poll_id, self)
        event = await self.hub.snapshot(poll_id, joined)
        voted = (
            event["type"] != "poll.deleted"
            and event["results"] == Poll.Results.AFTER_VOTE
            and self.voter is not None
            and await database_sync_to_async(selectors.voter_has_ballot)(
                poll_id=poll_id, voter=self.voter
            )
        )
        code = gate(event, self.user_id, voted)
        if code:
            self.forget(poll_id)
            return code
        self.voted[poll_id] = voted
        # A (re)subscription is answered with the state, unless a newer one
        # reached this socket while it was read: that one is the answer.
        if event["version"] >= self.sent.get(poll_id, 0):
            self.sent.pop(poll_id, None)
            self._offer(poll_id, event["version"], text_frame(event["text"]))
        return None

    def forget(self, poll_id: str):
        self.voted.pop(poll_id, None)
        self.sent.pop(poll_id, None)
        self.hub.leave(poll_id, self)

    def revoke(self, poll_id: str, code: str):
        """The socket may no longer see this poll."""

    def version_of(self, poll_id: str) -> int:
        return self.sent.get(poll_id, 0)

    def deliver(self, event: dict, frame: dict):
        """Called by the hub for each event of a poll this socket joined."""
        poll_id = event["poll"]
        if poll_id not in self.voted:
            return
        if event["type"] == "poll.deleted":
            self._offer(poll_id, DELETED, frame)
            return self.revoke(poll_id, "not_found")
        code = None if event.get("public") else gate(event, self.user_id, self.voted[poll_id])
        if code:
            self.revoke(poll_id, code)
        else:
            self._offer(poll_id, event["version"], frame)

    # --- the outbox -------------------------------------------------------------

    def _offer(self, poll_id: str, version: int, frame: dict):
        if version <= self.sent.get(poll_id, 0):
            return  # not newer than what this socket has: drop it
        self.sent[poll_id] = version
        self.outbox[poll_id] = frame  # replaces an older state still waiting
        self._wake()

    def _wake(self):
        # A bare future, not an asyncio.Event: this runs once per socket per state.
        if self.wakeup is not None and not self.wakeup.done():
            self.wakeup.set_result(None)

    def close_after_outbox(self, code: int):
        self.close_code = code
        self._wake()

    async def _send_forever(self):
        loop = asyncio.get_running_loop()
        while True:
            while self.outbox:
                poll_id = next(iter(self.outbox))
                frame = self.outbox.pop(poll_id)
                # No timer per send (it costs more than the send): the hub's
                # watchdog closes sockets whose send stays blocked.
                self.sending_since = loop.time()
                await self.base_send(frame)
                self.sending_since = None
            if self.close_code is not None:
                await self.close(code=self.close_code)
                return
            self.wakeup = loop.create_future()
            await self.wakeup

    def too_slow(self):
        """Called by the watchdog: a send has been blocked too long."""
        self.sending_since = None
        self.sender.cancel()
        logger.info("Closing a socket whose send was blocked too long")
        asyncio.ensure_future(self._close_stuck())

    async def _close_stuck(self):
        # If even the close is stuck, the server's ping timeout drops it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                self.close(code=CLOSE["too_slow"]), settings.NEXUS_WS_SEND_TIMEOUT
            )


class PollConsumer(LiveConsumer):
    """`/ws/polls/{id}/`: one poll; 4404 unknown, 4403 hidden."""

    async def opened(self):
        self.poll_id = self.scope["url_route"]["kwargs"]["poll_id"].upper()
        code = await self.subscribe(self.poll_id)
        if code:
            await self.close(code=CLOSE[code])

    def revoke(self, poll_id: str, code: str):
        self.forget(poll_id)
        self.close_after_outbox(CLOSE[code])


class StreamConsumer(LiveConsumer):
    """`/ws/`: subscribe to many polls on one socket (dashboards)."""

    async def command(self, message: dict):
        kind, poll_id = message["type"], message.get("poll")
        if kind not in {"subscribe", "unsubscribe"} or not isinstance(poll_id, str):
            return await self.reply({"type": "error", "code": "invalid"})
        if not JOIN_CODE.match(poll_id):
            return await self.reply({"type": "error", "code": "not_found", "poll": poll_id})
        poll_id = poll_id.upper()
        if kind == "unsubscribe":
            self.outbox.pop(poll_id, None)
            return self.forget(poll_id)
        if poll_id not in self.voted and len(self.voted) >= MAX_SUBSCRIPTIONS:
            return await self.reply(
                {"type": "error", "code": "too_many_subscriptions", "poll": poll_id}
            )
        code = await self.subscribe(poll_id)
        if code:
            await self.reply({"type": "error", "code": code, "poll": poll_id})

    def revoke(self, poll_id: str, code: str):
        self.forget(poll_id)
        if code != "not_found":  # a deleted poll has said so already
            error = {"type": "error", "code": code, "poll": poll_id}
            self.outbox[poll_id] = text_frame(encode(error))  # replaces a pending state
            self._wake()


def gate(event: dict | None, user_id: int | None, voted: bool) -> str | None:
    """None if this subscriber may see the poll's state, else the error code."""
    if event is None or event["type"] == "poll.deleted":
        return "not_found"
    return results_denial(
        is_owner=user_id is not None and user_id == event["owner"],
        draft=event["draft"],
        closed=event["closed"],
        results=event["results"],
        voted=voted,
    )


def load(poll_id: str, voter) -> tuple[selectors.LiveState | None, bool]:
    state = selectors.live_state(poll_id=poll_id)
    voted = (
        state is not None
        and state.results == Poll.Results.AFTER_VOTE
        and selectors.voter_has_ballot(poll_id=poll_id, voter=voter)
    )
    return state, voted


class EventConsumer(LiveConsumer):
    """`/ws/events/{id}/`: the event's state on connect and on every change,
    and after it the current poll's results, as on `/ws/polls/{id}/` (the
    same visibility); a switch moves the socket to the new poll without a
    reconnect. A current poll the socket may not see is an error message,
    not a close: the room goes on. 4404: no such event, or it was deleted."""

    async def opened(self):
        event_id = self.scope["url_route"]["kwargs"]["event_id"]
        self.current: str | None = None
        self.switching: asyncio.Task | None = None
        if not JOIN_CODE.match(event_id):  # names no event: no query
            await self.close(code=CLOSE["not_found"])
            return
        self.key = event_key(event_id.upper())
        joined = await self.hub.join(self.key, self)
        state = await self.hub.snapshot(self.key, joined)
        if state["type"] == "event.deleted":
            self.hub.leave(self.key, self)
            await self.close(code=CLOSE["not_found"])
            return
        self.deliver(state, text_frame(state["text"]))

    async def disconnect(self, code):
        if hasattr(self, "key"):
            self.hub.leave(self.key, self)
        if self.switching is not None:
            self.switching.cancel()
            self.switching = None  # a cancelled task would hold this consumer in a cycle
        await super().disconnect(code)

    def deliver(self, event: dict, frame: dict):
        if event["poll"] != self.key:
            return super().deliver(event, frame)
        if event["type"] == "event.deleted":
            self._offer(self.key, DELETED, frame)
            return self.close_after_outbox(CLOSE["not_found"])
        if event["version"] <= self.sent.get(self.key, 0):
            return
        self._offer(self.key, event["version"], frame)
        if event["current"] != self.current:
            previous, self.current = self.current, event["current"]
            self.switching = asyncio.ensure_future(
                self._switch(previous, self.current, after=self.switching)
            )

    async def _switch(self, previous: str | None, current: str | None, after):
        """Leave the last poll, join the new one and queue its state; a
        switch waits for the one before it, so they apply in order."""
        if after is not None:
            await asyncio.wait([after])  # never raises, even if it failed
        if previous is not None:
            self.outbox.pop(previous, None)
            self.forget(previous)
        if current is not None and current == self.current:
            code = await self.subscribe(current)
            if code:
                self.revoke(current, code)

    def revoke(self, poll_id: str, code: str):
        self.forget(poll_id)
        if code != "not_found":  # a deleted poll has said so already
            error = {"type": "error", "code": code, "poll": poll_id}
            self.outbox[poll_id] = text_frame(encode(error))
            self._wake()
