"""Drive a running Nexus from outside, through its public API only.

Opens S WebSocket subscribers to one poll, casts V votes from distinct
anonymous voters over C keep-alive connections (open loop at R votes/s, or as
fast as answered), and measures what an organiser cares about: votes/s, POST
latency, vote-to-screen latency, convergence and exactness.

Vote-to-screen is measured exactly with a probe choice: every Nth vote goes
to it and nothing else does, so the k-th probe is on a screen exactly when
that screen shows the probe's count reaching k.
"""

import asyncio
import json
import os
import resource
import secrets
import statistics
import time
from dataclasses import dataclass, field

import httpx
from websockets.asyncio.client import connect


@dataclass
class Options:
    url: str
    subscribers: int = 100
    votes: int = 1000
    rate: float = 0.0  # votes/s offered; 0 = as fast as answered
    connections: int = 32
    probe_every: int = 10
    pids: list[int] = field(default_factory=list)
    redis_url: str | None = None
    timeout: float = 30.0


class Screen:
    """One subscriber socket: what it showed, and when."""

    def __init__(self):
        self.last: dict | None = None
        self.messages = 0
        self.went_back = False
        self.probe_seen: dict[int, float] = {}  # probe count k -> first time shown

    def show(self, text: str, probe_index: int) -> None:
        now = time.perf_counter()
        message = json.loads(text)
        if message.get("type") != "results":
            return
        if self.last is not None and message["version"] <= self.last["version"]:
            self.went_back = True
        self.messages += 1
        self.last = message
        shown = message["choices"][probe_index]["votes"]
        for k in range(len(self.probe_seen) + 1, shown + 1):
            self.probe_seen[k] = now


async def run(opts: Options, progress=None) -> dict:
    _raise_file_limit(opts.subscribers + opts.connections + 256)
    limits = httpx.Limits(
        max_connections=opts.connections, max_keepalive_connections=opts.connections
    )
    async with httpx.AsyncClient(base_url=opts.url, limits=limits, timeout=60) as http:
        poll = await _create_poll(http)
        rss_before = _rss(opts.pids)
        screens, sockets, readers = await _open_screens(opts, poll, progress)
        rss_per_socket = (_rss(opts.pids) - rss_before) / max(1, opts.subscribers)
        cpu_before, redis_before = _cpu(opts.pids), await _redis_calls(opts.redis_url)
        started = time.perf_counter()
        votes = await _drive_votes(http, opts, poll, progress)
        voting_s = time.perf_counter() - started
        final = _projection(await http.get(poll["urls"]["results"]))
        converge_s = await _converge(screens, final, votes, opts.timeout)
        cpu_s = _delta(_cpu(opts.pids), cpu_before)
        redis_calls = _delta(await _redis_calls(opts.redis_url), redis_before)
        for ws in sockets:
            await ws.close()
        for reader in readers:
            reader.cancel()
    return _report(
        opts, screens, votes, final, voting_s, converge_s, cpu_s, redis_calls, rss_per_socket
    )


async def _create_poll(http: httpx.AsyncClient) -> dict:
    name = f"loadtest-{secrets.token_hex(4)}"
    account = await http.post(
        "/api/auth/register/", json={"username": name, "password": secrets.token_urlsafe(16)}
    )
    account.raise_for_status()
    poll = await http.post(
        "/api/polls/",
        json={"question": "Load test", "choices": ["Bulk", "Probe"]},
        headers={"Authorization": f"Token {account.json()['token']}"},
    )
    poll.raise_for_status()
    return poll.json()


async def _open_screens(opts: Options, poll: dict, progress):
    ws_url = opts.url.replace("http", "ws", 1) + poll["urls"]["websocket"]
    screens = [Screen() for _ in range(opts.subscribers)]
    sockets, readers = [], []

    async def read(ws, screen):
        async for text in ws:
            screen.show(text, 1)

    for start in range(0, opts.subscribers, 200):  # in batches, not a thundering herd
        batch = range(start, min(start + 200, opts.subscribers))
        opened = await asyncio.gather(
            *(connect(ws_url, ping_interval=None, max_queue=None) for _ in batch)
        )
        for ws, i in zip(opened, batch, strict=True):
            sockets.append(ws)
            readers.append(asyncio.create_task(read(ws, screens[i])))
        if progress:
            progress("subscribers", len(sockets), opts.subscribers)
    deadline = time.monotonic() + opts.timeout
    while any(s.last is None for s in screens):  # everyone has the first state
        if time.monotonic() > deadline:
            raise RuntimeError("some subscribers never got the first state")
        await asyncio.sleep(0.05)
    return screens, sockets, readers


@dataclass
class Vote:
    index: int
    probe: bool
    scheduled: float
    status: int = 0
    latency: float = 0.0
    done: float = 0.0


async def _drive_votes(http, opts: Options, poll: dict, progress) -> list[Vote]:
    bulk, probe = (c["id"] for c in poll["choices"])
    votes = [Vote(i, i % opts.probe_every == opts.probe_every - 1, 0.0) for i in range(opts.votes)]
    t0 = time.perf_counter()
    queue: asyncio.Queue[Vote] = asyncio.Queue()

    async def cast(vote: Vote):
        response = await http.post(
            poll["urls"]["vote"],
            json={"choices": [probe if vote.probe else bulk]},
            headers={"X-Voter-Id": f"lt-{poll['id']}-{vote.index:08}"},
        )
        vote.done = time.perf_counter()
        vote.status, vote.latency = response.status_code, vote.done - vote.scheduled

    async def worker():
        while True:
            vote = await queue.get()
            try:
                await cast(vote)
            finally:
                queue.task_done()

    workers = [asyncio.create_task(worker()) for _ in range(opts.connections)]
    for vote in votes:  # open loop: each vote has its time; a late one counts late
        vote.scheduled = t0 + (vote.index / opts.rate if opts.rate else 0.0)
        delay = vote.scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if not opts.rate:
            vote.scheduled = time.perf_counter()
        queue.put_nowait(vote)
        if progress and vote.index % 100 == 0:
            progress("votes", vote.index, opts.votes)
    await queue.join()
    for w in workers:
        w.cancel()
    return votes


async def _converge(screens, final: dict, votes: list[Vote], timeout: float) -> float | None:
    last_ok = max((v.done for v in votes if 200 <= v.status < 300), default=time.perf_counter())
    deadline = time.monotonic() + timeout
    while not all(s.last == final for s in screens):
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.005)
    return max(0.0, time.perf_counter() - last_ok)


def _projection(response: httpx.Response) -> dict:
    body = response.json()
    return {
        "type": "results",
        "poll": body["poll"],
        "version": body["version"],
        "status": body["status"],
        "total_votes": body["total_votes"],
        "choices": [{k: c[k] for k in ("id", "votes", "share")} for c in body["choices"]],
    }


def _percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _report(opts, screens, votes, final, voting_s, converge_s, cpu_s, redis_calls, rss):
    ok = [v for v in votes if 200 <= v.status < 300]
    statuses: dict[str, int] = {}
    for v in votes:
        statuses[str(v.status)] = statuses.get(str(v.status), 0) + 1
    probes = [v for v in votes if v.probe and 200 <= v.status < 300]
    to_screen = [
        screen.probe_seen[k] - probe.scheduled
        for screen in screens
        for k, probe in enumerate(probes, start=1)
        if k in screen.probe_seen
    ]
    messages = [s.messages for s in screens]
    broadcasts = max(1, statistics.median(messages) - 1) if messages else 1
    ms = lambda x: None if x is None else round(x * 1000, 1)  # noqa: E731
    return {
        "subscribers": opts.subscribers,
        "votes": opts.votes,
        "rate_offered": opts.rate,
        "connections": opts.connections,
        "voting_s": round(voting_s, 2),
        "votes_per_s": round(len(ok) / voting_s, 1) if voting_s else None,
        "post_p50_ms": ms(_percentile([v.latency for v in ok], 50)),
        "post_p95_ms": ms(_percentile([v.latency for v in ok], 95)),
        "post_p99_ms": ms(_percentile([v.latency for v in ok], 99)),
        "statuses": statuses,
        "vote_to_screen_p50_ms": ms(_percentile(to_screen, 50)),
        "vote_to_screen_p99_ms": ms(_percentile(to_screen, 99)),
        "messages_per_subscriber": statistics.median(messages) if messages else 0,
        "convergence_s": None if converge_s is None else round(converge_s, 3),
        "final_total": final["total_votes"],
        "accepted": len(ok),
        "exact": final["total_votes"] == len(ok),
        "versions_monotonic": not any(s.went_back for s in screens),
        "server_cpu_s": None if cpu_s is None else round(cpu_s, 2),
        "server_cpu_per_s": None if cpu_s is None else round(cpu_s / voting_s, 2),
        "server_cpu_ms_per_vote": None
        if cpu_s is None
        else round(1000 * cpu_s / max(1, len(ok)), 2),
        "server_rss_kb_per_socket": round(rss / 1024, 1) if opts.pids else None,
        "redis_commands_per_broadcast": (
            None if redis_calls is None else round(redis_calls / broadcasts, 1)
        ),
    }


def _delta(after, before):
    return None if after is None or before is None else after - before


def passed(report: dict) -> bool:
    return report["exact"] and report["versions_monotonic"] and report["convergence_s"] is not None


def _raise_file_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def _with_children(pids: list[int]) -> list[int]:
    """The servers' processes and all their descendants (granian's workers are children)."""
    found, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        found.append(pid)
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    todo.extend(int(child) for child in f.read().split())
            except FileNotFoundError:  # the thread ended meanwhile
                pass
    return found


def _cpu(pids: list[int]) -> float | None:
    if not pids:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in _with_children(pids):
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / ticks


def _rss(pids: list[int]) -> int:
    total = 0
    for pid in _with_children(pids):
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


async def _redis_calls(url: str | None) -> int | None:
    if not url:
        return None
    import redis.asyncio as redis

    client = redis.from_url(url)
    try:
        stats = await client.info("commandstats")
    finally:
        await client.aclose()
    return sum(v["calls"] for k, v in stats.items() if not k.startswith("cmdstat_info"))
