"""The load test's screens: sockets that record what they showed, and when.

`Subscribers` holds one process's share of the sockets; `child` runs a share
in a process of its own and answers the parent over a pipe (small
summaries: latencies as a histogram of whole milliseconds).
"""

import asyncio
import json
import resource
import time
from collections import Counter

from websockets.asyncio.client import connect

try:  # a state read costs the screens about 30 µs on uvloop instead of 54
    from uvloop import run as run_loop  # (1,000 sockets): CPU the server under test shares
except ImportError:  # Windows
    from asyncio import run as run_loop  # type: ignore[assignment]

PROBE = 1  # the probe choice's position in every load-test poll
PROBE_WORD = "probe"  # a text poll's probe: the one answer with this word
BATCH = 200  # sockets opened at once


class Screen:
    """What one socket showed of one poll, and when."""

    def __init__(self):
        self.last: dict | None = None
        self.messages = 0
        self.largest = 0  # the largest state's size in bytes
        self.went_back = False
        self.probe_seen: dict[int, float] = {}  # probe count k -> first time shown

    def show(self, message: dict, now: float, size: int = 0) -> None:
        if self.last is not None and message["version"] <= self.last["version"]:
            self.went_back = True
        self.messages += 1
        self.largest = max(self.largest, size)
        self.last = message
        if "words" in message:  # a text poll: how many answers said the probe word
            shown = next((w["count"] for w in message["words"] if w["word"] == PROBE_WORD), 0)
        else:
            shown = message["choices"][PROBE]["votes"]
        for k in range(len(self.probe_seen) + 1, shown + 1):
            self.probe_seen[k] = now


class Subscribers:
    """This process's share of the sockets: one Screen per (socket, poll).

    `mode`: "poll" (`/ws/polls/{id}/`), "dashboard" (`/ws/` on every poll)
    or "event:<id>" (`/ws/events/{id}/`: a socket shows the poll the
    presenter is on, so it must show the first poll's state before the votes
    and the last poll's final state at the end; the ones between it showed
    while they were current)."""

    def __init__(self, ws_url: str, poll_ids: list[str], count: int, mode: str):
        self.ws_url, self.poll_ids, self.count, self.mode = ws_url, poll_ids, count, mode
        self.screens: list[dict[str, Screen]] = []
        self.sockets: list = []
        self.readers: list[asyncio.Task] = []
        self.event_versions_back = False  # an event message older than the last one
        event = mode.startswith("event:")
        self.first = poll_ids[:1] if event else poll_ids  # shown before the votes
        self.last = poll_ids[-1:] if event else poll_ids  # converged at the end

    async def open(self, timeout: float, progress=None) -> None:
        async def read(ws, screens: dict[str, Screen]):
            event_version = 0
            async for text in ws:
                message = json.loads(text)
                if message.get("type") == "results" and message["poll"] in screens:
                    size = len(text.encode())
                    screens[message["poll"]].show(message, time.monotonic(), size)
                elif message.get("type") == "event":
                    self.event_versions_back |= message["version"] <= event_version
                    event_version = message["version"]

        async def one():
            if self.mode.startswith("event:"):
                path = f"/ws/events/{self.mode.removeprefix('event:')}/"
            else:
                path = "/ws/" if self.mode == "dashboard" else f"/ws/polls/{self.poll_ids[0]}/"
            ws = await connect(
                self.ws_url + path, ping_interval=None, max_queue=None, open_timeout=timeout
            )
            if self.mode == "dashboard":
                for poll_id in self.poll_ids:
                    await ws.send(json.dumps({"type": "subscribe", "poll": poll_id}))
            return ws

        for start in range(0, self.count, BATCH):  # in batches, not a thundering herd
            opened = await asyncio.gather(*(one() for _ in range(min(BATCH, self.count - start))))
            for ws in opened:
                screens = {poll_id: Screen() for poll_id in self.poll_ids}
                self.screens.append(screens)
                self.sockets.append(ws)
                self.readers.append(asyncio.create_task(read(ws, screens)))
            if progress:
                progress("subscribers", len(self.sockets), self.count)
        # Everyone has the first state of every poll before the votes start.
        if not await self._until(lambda poll_id, s: s.last is not None, self.first, timeout):
            raise RuntimeError("some subscribers never got the first state")

    async def converged(self, finals: dict[str, dict], timeout: float) -> float | None:
        """When every screen showed its poll's final results (None: never)."""
        if await self._until(lambda poll_id, s: s.last == finals[poll_id], self.last, timeout):
            return time.monotonic()
        return None

    async def _until(self, condition, poll_ids: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not all(
            condition(poll_id, screens[poll_id]) for screens in self.screens for poll_id in poll_ids
        ):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    def summary(self, probe_times: dict[str, list[float]], converged_at: float | None) -> dict:
        """What the parent needs, small enough to pass between processes:
        vote-to-screen latencies as a histogram of whole milliseconds."""
        to_screen: Counter[int] = Counter()
        for screens in self.screens:
            for poll_id, screen in screens.items():
                for k, scheduled in enumerate(probe_times[poll_id], start=1):
                    if k in screen.probe_seen:
                        to_screen[round(1000 * (screen.probe_seen[k] - scheduled))] += 1
        return {
            "to_screen_ms": to_screen,
            "messages": [s.messages for screens in self.screens for s in screens.values()],
            "largest_bytes": max(
                (s.largest for screens in self.screens for s in screens.values()), default=0
            ),
            "went_back": self.event_versions_back
            or any(s.went_back for screens in self.screens for s in screens.values()),
            "converged_at": converged_at,
        }

    async def close(self) -> None:
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


def child(conn, ws_url: str, poll_ids: list[str], count: int, mode: str, timeout: float):
    """A child process's sockets: open, say ready, then answer for convergence."""

    async def main():
        raise_file_limit(count + 256)
        group = Subscribers(ws_url, poll_ids, count, mode)
        await group.open(timeout)
        conn.send("ready")
        finals, probe_times = await asyncio.to_thread(conn.recv)
        converged_at = await group.converged(finals, timeout)
        conn.send(group.summary(probe_times, converged_at))
        await group.close()

    run_loop(main())


def raise_file_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
