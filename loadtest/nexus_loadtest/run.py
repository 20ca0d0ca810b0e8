"""Drive a running Nexus from outside, through its public API only.

Opens S WebSocket subscribers to one poll (or, with `dashboard=P`, S sockets
each subscribed to P polls over `/ws/`; with `event=E`, S sockets on an
event of E polls whose presenter moves on every `switch_every` seconds,
votes going to the poll that is current at their time), optionally spread over child
processes; casts V votes from distinct anonymous voters over C keep-alive
connections (open loop at R votes/s, or as fast as answered), spread over the
polls (with `pow`, each vote first solves its poll's proof-of-work challenge,
ahead of the timed run, as a phone solves it before its voter taps); and
measures what an organiser cares about: votes/s, POST latency,
vote-to-screen latency, convergence and exactness.

Vote-to-screen is measured exactly with a probe choice: every Nth vote of a
poll goes to its probe choice and nothing else does, so that poll's k-th
probe is on a screen exactly when the screen shows the probe count reaching
k. Times are `time.monotonic()`, one clock for all processes on Linux.
"""

import asyncio
import base64
import json
import multiprocessing
import os
import secrets
import statistics
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import aiohttp
import altcha

from .screens import PROBE, PROBE_WORD, Subscribers, child, raise_file_limit

BULK = 0  # the bulk choice's position (PROBE is the other)
# A text poll's answers: a few words each from a talk's vocabulary (never
# the probe word), so the cloud has a realistic number of distinct words.
WORDS = [
    "inspiring",
    "clear",
    "demo",
    "slides",
    "pace",
    "questions",
    "examples",
    "insightful",
    "funny",
    "long",
    "short",
    "practical",
    "deep",
    "useful",
    "engaging",
    "technical",
    "friendly",
    "fast",
    "slow",
    "live",
    "coding",
    "story",
    "roadmap",
    "security",
    "scaling",
    "latency",
    "python",
    "django",
    "postgres",
    "redis",
    "sockets",
    "charts",
]


@dataclass
class Options:
    url: str
    ws_url: str | None = None  # where the sockets go, if not `url`
    subscribers: int = 100
    votes: int = 1000
    rate: float = 0.0  # votes/s offered; 0 = as fast as answered
    connections: int = 32
    probe_every: int = 10
    dashboard: int = 0  # 0: /ws/polls/{id}/ sockets; P: /ws/ sockets on P polls each
    event: int = 0  # E: an event of E polls; screens on /ws/events/{id}/, votes on the current
    switch_every: float = 3.0  # seconds between the presenter's switches (event mode)
    processes: int = 1  # subscriber sockets spread over this many processes
    kind: str = "single"  # "single", or "text": open answers, counted as words
    pow: bool = False  # polls with `challenge: pow`: every vote solves a challenge first
    pids: list[int] = field(default_factory=list)
    redis_url: str | None = None
    timeout: float = 30.0


async def run(opts: Options, progress=None) -> dict:
    raise_file_limit(opts.subscribers + opts.connections + 256)
    ws_url = (opts.ws_url or opts.url).replace("http", "ws", 1)
    # aiohttp, not httpx: the load generator shares the machine with the
    # server, and httpx spent about 5 ms of CPU per vote here (aiohttp: ~1 ms).
    # No cookie jar: every vote is a new anonymous voter, whose id the server
    # issues in the answer (contract v2); a jar would make them all one voter.
    async with aiohttp.ClientSession(
        base_url=opts.url,
        cookie_jar=aiohttp.DummyCookieJar(),
        connector=aiohttp.TCPConnector(limit=opts.connections),
        timeout=aiohttp.ClientTimeout(total=60),
    ) as http:
        owner, polls, event = await _create_polls(http, max(1, opts.dashboard, opts.event), opts)
        poll_ids = [poll["id"] for poll in polls]
        rss_before = _rss(opts.pids)
        children, local = await _open_subscribers(opts, ws_url, poll_ids, progress, event)
        rss_per_socket = (_rss(opts.pids) - rss_before) / max(1, opts.subscribers)
        votes = _plan_votes(opts, polls)
        solving = await _solve_all(http, votes, polls) if opts.pow else None
        cpu_before, redis_before = _cpu(opts.pids), await _redis_calls(opts.redis_url)
        kernel_before = _cpu(opts.pids, kernel=True)
        started = time.monotonic()
        presenter = event and asyncio.create_task(_present(http, opts, owner, event, poll_ids))
        votes = await _drive_votes(http, opts, polls, votes, progress)
        if presenter:
            await presenter
        voting_s = time.monotonic() - started
        finals = {
            poll["id"]: _projection(await _json(http.get(poll["urls"]["results"])))
            for poll in polls
        }
        probe_times = {
            poll_id: [v.scheduled for v in votes if v.probe and v.poll == poll_id and v.ok]
            for poll_id in poll_ids
        }
        for conn, _ in children:
            conn.send((finals, probe_times))
        summaries = [local.summary(probe_times, await local.converged(finals, opts.timeout))]
        summaries += [await asyncio.to_thread(conn.recv) for conn, _ in children]
        cpu_s = _delta(_cpu(opts.pids), cpu_before)
        kernel_s = _delta(_cpu(opts.pids, kernel=True), kernel_before)
        redis_calls = _delta(await _redis_calls(opts.redis_url), redis_before)
        await local.close()
        for _, process in children:
            process.join()
    last_ok = max((v.done for v in votes if v.ok), default=time.monotonic())
    converged = [s["converged_at"] for s in summaries]
    converge_s = None if None in converged else max(0.0, max(converged) - last_ok)
    return _report(
        opts,
        summaries,
        votes,
        finals,
        voting_s,
        converge_s,
        (cpu_s, kernel_s),
        redis_calls,
        rss_per_socket,
        solving,
    )


async def _open_subscribers(opts: Options, ws_url: str, poll_ids: list[str], progress, event):
    """With several processes, children hold all the sockets and this one only
    votes: reading thousands of sockets must not slow the votes' clock."""
    if opts.processes == 1:
        shares = [opts.subscribers]
    else:  # shares[0] is this process's: none
        base, extra = divmod(opts.subscribers, opts.processes)
        shares = [0] + [base + (i < extra) for i in range(opts.processes)]
    context = multiprocessing.get_context("spawn")
    children = []
    for share in shares[1:]:
        parent_end, child_end = context.Pipe()
        process = context.Process(
            target=child,
            args=(child_end, ws_url, poll_ids, share, _mode(opts, event), opts.timeout),
            daemon=True,
        )
        process.start()
        children.append((parent_end, process))
    local = Subscribers(ws_url, poll_ids, shares[0], _mode(opts, event))
    await local.open(opts.timeout, progress)
    for ready, (conn, _) in enumerate(children, start=1):
        if await asyncio.to_thread(conn.recv) != "ready":
            raise RuntimeError("a subscriber process failed")
        if progress:
            progress("processes", ready, len(children))
    return children, local


class LoadTestError(Exception):
    """The server is not one this can load-test; the message says why."""


async def _json(request) -> dict:
    async with request as response:
        try:
            body = await response.json(content_type=None)
        except ValueError:
            body = None
        if response.status >= 400 or not isinstance(body, dict):
            said = f"with {str(body)[:200]}" if isinstance(body, dict) else "without a JSON object"
            raise LoadTestError(
                f"{response.method} {response.url} answered {response.status} {said}"
                ": is this a Nexus server, and are sign-ups open?"
            )
        return body


def _mode(opts: Options, event: dict | None) -> str:
    """How screens connect: "event:<id>", "dashboard" or "poll"."""
    if event:
        return f"event:{event['id']}"
    return "dashboard" if opts.dashboard else "poll"


async def _create_polls(
    http: aiohttp.ClientSession, count: int, opts: Options
) -> tuple[dict, list[dict], dict | None]:
    """An account, its polls and (event mode) the event holding them, on its first."""
    name = f"loadtest-{secrets.token_hex(4)}"
    account = await _json(
        http.post(
            "/api/auth/register/", json={"username": name, "password": secrets.token_urlsafe(16)}
        )
    )
    owner = {"Authorization": f"Token {account['token']}"}
    event = None
    if opts.event:
        event = await _json(http.post("/api/events/", json={"title": name}, headers=owner))
    polls = [
        await _json(
            http.post(
                "/api/polls/",
                # Every voter comes from this one address: no per-address cap.
                json={
                    "question": "Load test",
                    **(
                        {"kind": "text", "choices": []}
                        if opts.kind == "text"
                        else {"choices": ["Bulk", "Probe"]}
                    ),
                    "max_ballots_per_address": 0,
                    "challenge": "pow" if opts.pow else "none",
                    **({"event": event["id"]} if event else {}),
                },
                headers=owner,
            )
        )
        for _ in range(count)
    ]
    if event:
        current = {"poll": polls[0]["id"]}
        await _json(http.post(f"/api/events/{event['id']}/current/", json=current, headers=owner))
    return owner, polls, event


def _event_slot(opts: Options, offset: float, polls: int) -> int:
    """The poll a vote scheduled `offset` seconds in goes to (event mode)."""
    return min(polls - 1, int(offset // opts.switch_every))


async def _present(http, opts: Options, owner: dict, event: dict, poll_ids: list[str]) -> None:
    """The presenter: moves the room to the next poll every switch_every seconds."""
    t0 = time.monotonic()
    for slot, poll_id in enumerate(poll_ids[1:], start=1):
        await asyncio.sleep(max(0.0, t0 + slot * opts.switch_every - time.monotonic()))
        url = f"/api/events/{event['id']}/current/"
        await _json(http.post(url, json={"poll": poll_id}, headers=owner))


@dataclass
class Vote:
    index: int
    poll: str
    probe: bool
    scheduled: float = 0.0
    status: int = 0
    latency: float = 0.0
    done: float = 0.0
    challenge: str | None = None  # X-Challenge, solved ahead (pow polls)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _plan_votes(opts: Options, polls: list[dict]) -> list[Vote]:
    """Votes go round-robin over the polls, or in event mode to the poll that
    is current at their scheduled time; every Nth of a poll's is a probe."""
    n = len(polls)
    if opts.event:
        slots = [_event_slot(opts, i / opts.rate, n) for i in range(opts.votes)]
    else:
        slots = [i % n for i in range(opts.votes)]
    seen: Counter[int] = Counter()
    votes = []
    for i, slot in enumerate(slots):
        seen[slot] += 1
        probe = seen[slot] % opts.probe_every == 0
        votes.append(Vote(i, polls[slot]["id"], probe))
    return votes


def _solve(challenge: dict) -> tuple[str, float]:
    """One challenge solved as a voter's browser would (one core): the
    `X-Challenge` value and the CPU seconds it took."""
    started = time.process_time()
    parsed = altcha.Challenge.from_dict(challenge)
    solution = altcha.solve_challenge(parsed, timeout=0)
    if solution is None:
        raise LoadTestError("a proof-of-work challenge could not be solved")
    payload = {"challenge": challenge, "solution": solution.to_dict()}
    return base64.b64encode(json.dumps(payload).encode()).decode(), time.process_time() - started


async def _solve_all(http, votes: list[Vote], polls: list[dict]) -> dict:
    """Fetch and solve one challenge per vote, on every core, before the
    timed run. The server must hand out that many a minute from this one
    address (NEXUS_THROTTLE_CHALLENGES), and its challenges must outlive the
    solving (NEXUS_CHALLENGE_TTL_SECONDS)."""
    urls = {poll["id"]: poll["urls"]["vote"].replace("/votes/", "/challenge/") for poll in polls}
    started = time.monotonic()
    try:
        challenges = await asyncio.gather(*(_json(http.get(urls[v.poll])) for v in votes))
    except LoadTestError as exc:
        raise LoadTestError(
            f"{exc} (--pow fetches one challenge per vote: raise the server's"
            " NEXUS_THROTTLE_CHALLENGES to at least --votes a minute)"
        ) from None
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        solved = await asyncio.gather(*(loop.run_in_executor(pool, _solve, c) for c in challenges))
    for vote, (header, _) in zip(votes, solved, strict=True):
        vote.challenge = header
    cpu = sorted(seconds for _, seconds in solved)
    return {
        "pow_solve_s": round(time.monotonic() - started, 2),
        "pow_cpu_ms_per_vote_p50": round(1000 * cpu[len(cpu) // 2], 1),
        "pow_cpu_ms_per_vote_max": round(1000 * cpu[-1], 1),
    }


async def _drive_votes(
    http, opts: Options, polls: list[dict], votes: list[Vote], progress
) -> list[Vote]:
    urls = {poll["id"]: poll["urls"]["vote"] for poll in polls}
    choices = {poll["id"]: [c["id"] for c in poll["choices"]] for poll in polls}
    t0 = time.monotonic()
    queue: asyncio.Queue[Vote] = asyncio.Queue()

    def body(vote: Vote) -> dict:
        if opts.kind == "text":
            n = vote.index
            said = [WORDS[n % len(WORDS)], WORDS[(n * 7 + 3) % len(WORDS)]]
            return {"text": " ".join([PROBE_WORD] + said if vote.probe else said)}
        return {"choices": [choices[vote.poll][PROBE if vote.probe else BULK]]}

    async def cast(vote: Vote):
        headers = {"X-Challenge": vote.challenge} if vote.challenge else None
        async with http.post(urls[vote.poll], json=body(vote), headers=headers) as response:
            await response.read()
        vote.done = time.monotonic()
        vote.status, vote.latency = response.status, vote.done - vote.scheduled

    async def worker():
        while True:
            vote = await queue.get()
            if not opts.rate:  # closed loop: a vote's time starts when it is sent
                vote.scheduled = time.monotonic()
            try:
                await cast(vote)
            finally:
                queue.task_done()

    workers = [asyncio.create_task(worker()) for _ in range(opts.connections)]
    for vote in votes:  # open loop: each vote has its time; a late one counts late
        vote.scheduled = t0 + (vote.index / opts.rate if opts.rate else 0.0)
        delay = vote.scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(vote)
        if progress and vote.index % 100 == 0:
            progress("votes", vote.index, opts.votes)
    await queue.join()
    for w in workers:
        w.cancel()
    return votes


def _projection(body: dict) -> dict:
    """The REST results as a socket's state says them."""
    return {
        "type": "results",
        "poll": body["poll"],
        "version": body["version"],
        "status": body["status"],
        "total_votes": body["total_votes"],
        "choices": [{k: v for k, v in c.items() if k != "text"} for c in body["choices"]],
        **{k: body[k] for k in ("irv", "words", "shown", "pending", "answers") if k in body},
    }


def _percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _percentile_of(histogram: Counter, q: int) -> float | None:
    """The q-th percentile (nearest rank) of a histogram of whole milliseconds."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = max(1, -(-q * total // 100)), 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return float(value)
    return None


def _report(  # noqa: PLR0913
    opts, summaries, votes, finals, voting_s, converge_s, cpu, redis_calls, rss, solving
):
    cpu_s, kernel_s = cpu
    ok = [v for v in votes if v.ok]
    statuses = dict(Counter(str(v.status) for v in votes))
    to_screen: Counter[int] = sum((s["to_screen_ms"] for s in summaries), Counter())
    messages = [m for s in summaries for m in s["messages"]]
    broadcasts = max(1, statistics.median(messages) - 1) if messages else 1
    total = sum(final["total_votes"] for final in finals.values())
    per_poll = Counter(v.poll for v in ok)  # each poll's tally, not only their sum
    exact = all(final["total_votes"] == per_poll[poll] for poll, final in finals.items())
    ms = lambda x: None if x is None else round(x * 1000, 1)  # noqa: E731
    return {
        "subscribers": opts.subscribers,
        "polls": len(finals),
        "event": bool(opts.event),
        "processes": opts.processes,
        "votes": opts.votes,
        "rate_offered": opts.rate,
        "connections": opts.connections,
        "voting_s": round(voting_s, 2),
        "votes_per_s": round(len(ok) / voting_s, 1) if voting_s else None,
        "post_p50_ms": ms(_percentile([v.latency for v in ok], 50)),
        "post_p95_ms": ms(_percentile([v.latency for v in ok], 95)),
        "post_p99_ms": ms(_percentile([v.latency for v in ok], 99)),
        "statuses": statuses,
        "vote_to_screen_p50_ms": _percentile_of(to_screen, 50),
        "vote_to_screen_p99_ms": _percentile_of(to_screen, 99),
        "messages_per_subscriber": statistics.median(messages) * len(finals) if messages else 0,
        "largest_state_bytes": max((s.get("largest_bytes", 0) for s in summaries), default=0),
        "convergence_s": None if converge_s is None else round(converge_s, 3),
        "final_total": total,
        "accepted": len(ok),
        "exact": exact and total == len(ok),
        "versions_monotonic": not any(s["went_back"] for s in summaries),
        "server_cpu_s": None if cpu_s is None else round(cpu_s, 2),
        "server_cpu_per_s": None if cpu_s is None else round(cpu_s / voting_s, 2),
        "server_cpu_kernel_s": None if kernel_s is None else round(kernel_s, 2),
        "server_cpu_ms_per_vote": (
            None if cpu_s is None else round(1000 * cpu_s / max(1, len(ok)), 2)
        ),
        "server_rss_kb_per_socket": round(rss / 1024, 1) if opts.pids else None,
        "redis_commands_per_broadcast": (
            None if redis_calls is None else round(redis_calls / (broadcasts * len(finals)), 1)
        ),
        **(solving or {}),
    }


def _delta(after, before):
    return None if after is None or before is None else after - before


def passed(report: dict) -> bool:
    return report["exact"] and report["versions_monotonic"] and report["convergence_s"] is not None


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


def _cpu(pids: list[int], *, kernel: bool = False) -> float | None:
    """CPU seconds the servers used so far; `kernel`: only in the kernel
    (on loopback a send's kernel time includes the receiving side's TCP)."""
    if not pids:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in _with_children(pids):
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        utime, stime = int(fields[11]), int(fields[12])
        total += stime if kernel else utime + stime
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
