"""Live states as an async iterator, for GraphQL subscriptions.

Same hub, versions, coalescing and visibility as the WebSocket consumers;
a subscriber that reads slowly skips to the newest state.
"""

import asyncio
import json
from collections.abc import AsyncIterator

from channels.db import database_sync_to_async
from django.utils.translation import gettext_lazy

from nexus.errors import ApplicationError, NotFound

from . import snapshots
from .consumers import gate, load
from .hub import hub_for
from .states import event_for, event_key


class Hidden(ApplicationError):
    status, code, detail = 403, "results_hidden", gettext_lazy("Results are not visible yet.")


class StateStream:
    def __init__(self, poll_id: str, *, user_id: int | None, voter):
        self.poll_id, self.user_id, self.voter = poll_id, user_id, voter
        self.sent = 0
        self.sending_since: float | None = None  # the watchdog's interface; never blocked
        self.latest: dict | None = None
        self.denied: str | None = None
        self.voted = False
        self.wake = asyncio.Event()

    def version_of(self, poll_id: str) -> int:
        return self.sent

    def too_slow(self) -> None:
        """Nothing to do: a stream hands states to its reader, it never blocks a send."""

    def deliver(self, event: dict, frame: dict) -> None:
        code = None if event.get("public") else gate(event, self.user_id, self.voted)
        if code:
            self.denied = code
        elif event["version"] > max(self.sent, (self.latest or {}).get("version", 0)):
            self.latest = event
        self.wake.set()

    async def states(self) -> AsyncIterator[dict]:
        """The current state, then each newer one; raises when access ends."""
        hub = hub_for()
        await hub.join(self.poll_id, self)
        try:
            state, self.voted = await database_sync_to_async(load)(self.poll_id, self.voter)
            self._raise(gate(state and event_for(self.poll_id, state), self.user_id, self.voted))
            self.sent = state.version
            yield state.message
            while True:
                await self.wake.wait()
                self.wake.clear()
                self._raise(self.denied)
                event, self.latest = self.latest, None
                if event is not None and event["version"] > self.sent:
                    self.sent = event["version"]
                    yield json.loads(event["text"])
        finally:
            hub.leave(self.poll_id, self)

    @staticmethod
    def _raise(code: str | None) -> None:
        if code == "not_found":
            raise NotFound(gettext_lazy("No poll with this id."))
        if code == "results_hidden":
            raise Hidden()


class EventStream:
    """An event's states (the `event` message of `/ws/events/{id}/`), for
    the `eventState` subscription: the current one, then each newer one."""

    def __init__(self, event_id: str):
        self.key = event_key(event_id)
        self.sent = 0
        self.sending_since: float | None = None  # the watchdog's interface; never blocked
        self.latest: dict | None = None
        self.wake = asyncio.Event()

    def version_of(self, key: str) -> int:
        return self.sent

    def too_slow(self) -> None:
        """Nothing to do: a stream hands states to its reader, it never blocks a send."""

    def deliver(self, event: dict, frame: dict) -> None:
        if event["type"] == "event.deleted" or event["version"] > max(
            self.sent, (self.latest or {}).get("version", 0)
        ):
            self.latest = event
        self.wake.set()

    async def states(self) -> AsyncIterator[dict]:
        """Raises NotFound when the event does not exist or is deleted."""
        hub = hub_for()
        await hub.join(self.key, self)
        try:
            event = await database_sync_to_async(snapshots.read_event)(self.key)
            while True:
                if event is not None:
                    if event["type"] == "event.deleted":
                        raise NotFound(gettext_lazy("No event with this id."))
                    if event["version"] > self.sent:
                        self.sent = event["version"]
                        yield json.loads(event["text"])
                await self.wake.wait()
                self.wake.clear()
                event, self.latest = self.latest, None
        finally:
            hub.leave(self.key, self)
