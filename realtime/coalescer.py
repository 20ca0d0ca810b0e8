"""At most one publish per poll per interval, and always the last state.

Marks arrive on the event loop. A poll marked while idle is published after
the rest of its interval; marks while a publish is scheduled are absorbed
(the publish reads the state when it runs, so it includes them); a mark
while a publish is running schedules one more (the trailing edge). A failed
publish (Redis away) is retried with back-off until it goes through.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nexus.metrics import VOTE_TO_BROADCAST

logger = logging.getLogger("nexus.realtime")

MAX_RETRY_DELAY = 5.0


class Coalescer:
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
        self.published = 0

    def mark(self, poll_id: str) -> None:
        """Runs on the loop. The poll's state changed after commit."""
        self._dirty_since.setdefault(poll_id, asyncio.get_running_loop().time())
        if poll_id in self._timers:
            return
        if poll_id in self._running:
            self._again.add(poll_id)
            return
        self._schedule(poll_id, self._interval)

    def pending(self) -> bool:
        return bool(self._timers or self._running)

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
        except Exception:
            failures = self._failures.get(poll_id, 0) + 1
            self._failures[poll_id] = failures
            logger.warning(
                "Publishing poll %s failed (%d in a row)", poll_id, failures, exc_info=True
            )
        else:
            self._failures.pop(poll_id, None)
            self.published += 1
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
