"""Fault runs: break what Nexus leans on while votes and screens flow, and
check that nothing is lost, nothing is counted twice, errors are 503s (never
500s), and service comes back within two seconds of the fault healing.

Run it against production's layout, on a machine whose Postgres and Redis
it may restart (it does, with the commands in the README):

    NEXUS_SERVER=split NEXUS_WORKERS=2 NEXUS_WS_SEND_TIMEOUT_MS=3000 \\
      scripts/with-server.sh .venv/bin/python scripts/faults.py \\
      --votes 3000 --rate 150 --screens 200

Each fault gets a fresh poll. Votes come from distinct anonymous voters at
`--rate` a second; each voter takes a server-issued id, then votes with an
`Idempotency-Key`, retrying whatever fails (no answer, 503) with that key
until it gets its 2xx; every second voter also sends its vote again after
its 2xx and must get the same answer. Screens are WebSockets on the poll
that reconnect when dropped. Exits non-zero if any fault breaks a promise.
"""

import argparse
import asyncio
import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import aiohttp

PG = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main"
REDIS_START = (
    "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' "
    "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
)
HEALED_WITHIN = 2.0  # seconds: votes answered and screens current again
STUCK_BYTES = 128 * 1024  # a stuck socket's kernel send buffer, at most
ANSWERED_WITHIN = 2.5  # seconds: every vote answered, 2xx or 503 (the pool waits 1.5)


def sh(command: str) -> None:
    subprocess.run(command, shell=True, check=True, capture_output=True, timeout=60)


def answers(command: str) -> bool:
    return subprocess.run(command, shell=True, capture_output=True, timeout=10).returncode == 0


def wait_for(command: str, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not answers(command):
        if time.monotonic() > deadline:
            raise SystemExit(f"faults: {what} did not come back")
        time.sleep(0.05)


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def redis_pid() -> int:
    out = subprocess.run(["redis-cli", "info", "server"], capture_output=True, text=True).stdout
    return int(next(line for line in out.splitlines() if line.startswith("process_id:"))[11:])


# --- the faults: each breaks something and returns once it is healed --------


async def redis_kill(ctx) -> None:
    os.kill(redis_pid(), signal.SIGKILL)
    await asyncio.sleep(ctx.hold)
    await asyncio.to_thread(sh, REDIS_START)
    await asyncio.to_thread(wait_for, "redis-cli ping | grep -q PONG", "Redis")


async def postgres_restart_fast(ctx) -> None:
    await asyncio.to_thread(sh, f"{PG} restart -m fast")
    await asyncio.to_thread(wait_for, "pg_isready -h 127.0.0.1 -q", "Postgres")


async def postgres_restart_immediate(ctx) -> None:
    await asyncio.to_thread(sh, f"{PG} restart -m immediate")
    await asyncio.to_thread(wait_for, "pg_isready -h 127.0.0.1 -q", "Postgres")


async def postgres_stop(ctx) -> None:
    await asyncio.to_thread(sh, f"{PG} stop -m fast")
    await asyncio.sleep(ctx.hold)
    await asyncio.to_thread(sh, f"{PG} start")
    await asyncio.to_thread(wait_for, "pg_isready -h 127.0.0.1 -q", "Postgres")


async def rest_worker_kill(ctx) -> None:
    os.kill(children(ctx.pids[0])[0], signal.SIGKILL)  # the other worker goes on


async def socket_worker_kill(ctx) -> None:
    os.kill(children(ctx.pids[-1])[0], signal.SIGKILL)
    url = f"{ctx.ws_http}/healthz"
    await asyncio.to_thread(wait_for, f"curl -sf -o /dev/null {url}", "the socket tier")


async def stuck_sockets(ctx) -> None:
    """Sockets that never read: the server must close them, holding little
    kernel memory meanwhile, while the other screens stay current."""
    ctx.stuck = [await open_stuck(ctx.ws_http, ctx.poll["id"]) for _ in range(ctx.stuck_count)]


FAULTS = {
    "redis-kill": redis_kill,
    "postgres-restart-fast": postgres_restart_fast,
    "postgres-restart-immediate": postgres_restart_immediate,
    "postgres-stop": postgres_stop,
    "rest-worker-kill": rest_worker_kill,
    "socket-worker-kill": socket_worker_kill,
    "stuck-sockets": stuck_sockets,
}


async def open_stuck(ws_http: str, poll_id: str) -> socket.socket:
    host, port = ws_http.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    sock.sendall(
        (
            f"GET /ws/polls/{poll_id}/ HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    return sock  # and never read from it


def send_queues(port: int, peers: set[int]) -> list[int]:
    """Bytes waiting in the server's kernel send buffer, per stuck socket."""
    out = subprocess.run(
        ["ss", "-tnH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
    ).stdout
    queued = []
    for line in out.splitlines():
        fields = line.split()
        if int(fields[-1].rsplit(":", 1)[1]) in peers:
            queued.append(int(fields[1]))
    return queued


# --- votes and screens ------------------------------------------------------------


@dataclass
class Tally:
    acked: dict[int, float] = field(default_factory=dict)  # voter -> when its 2xx came
    statuses: dict[int, int] = field(default_factory=dict)
    unavailable_without_retry_after: int = 0
    unreachable: int = 0  # no answer at all (a killed worker, a closed port)
    replays_differing: int = 0
    slowest: float = 0.0  # the longest a vote waited for its answer, 2xx or 503
    unexpected: list[str] = field(default_factory=list)

    def count(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


async def voter(http, ctx, tally: Tally, index: int, at: float) -> None:
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    key, voter_id = secrets.token_urlsafe(12), None
    body = {"choices": [ctx.poll["choices"][index % 2]["id"]]}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if voter_id is None:
                async with http.post("/api/voters/") as response:
                    tally.count(response.status)
                    if response.status == 201:
                        voter_id = (await response.json())["voter_id"]
                    else:
                        await note(response, tally)
                        await asyncio.sleep(0.1)
                    continue
            headers = {"X-Voter-Id": voter_id, "Idempotency-Key": key}
            sent = SimpleNamespace(at=None)  # when the request left (not queued here)
            async with http.post(
                ctx.vote_url, json=body, headers=headers, trace_request_ctx=sent
            ) as response:
                tally.slowest = max(tally.slowest, time.monotonic() - (sent.at or 0))
                tally.count(response.status)
                if response.status in (200, 201):
                    answer = (response.status, await response.read())
                    tally.acked[index] = time.monotonic()
                    if index % 2 and await replay(http, ctx, body, headers, tally) != answer:
                        tally.replays_differing += 1
                    return
                await note(response, tally)
        except (TimeoutError, aiohttp.ClientError):
            tally.unreachable += 1
        await asyncio.sleep(0.1)
    tally.unexpected.append(f"voter {index} never got an answer")


async def replay(http, ctx, body, headers, tally: Tally) -> tuple[int, bytes] | None:
    """The same request again, retried while the service is away: the same answer."""
    for _ in range(100):
        try:
            async with http.post(ctx.vote_url, json=body, headers=headers) as again:
                if again.status != 503:
                    return again.status, await again.read()
        except (TimeoutError, aiohttp.ClientError):
            pass
        await asyncio.sleep(0.1)
    return None


async def note(response, tally: Tally) -> None:
    if response.status == 503:
        if "Retry-After" not in response.headers:
            tally.unavailable_without_retry_after += 1
        return
    if response.status >= 500 or response.status in (400, 409, 422):
        tally.unexpected.append(f"{response.status} {(await response.text())[:200]}")


class Screens:
    """WebSockets on one poll, each reconnecting when dropped; `totals` is
    what each shows now."""

    def __init__(self, ws_url: str, poll_id: str, count: int):
        self.url, self.poll_id = f"{ws_url}/ws/polls/{poll_id}/", poll_id
        self.totals = [-1] * count
        self.versions = [0] * count
        self.changed = [0.0] * count  # when each last showed a new state
        self.errors: dict[str, int] = {}
        self.tasks: list[asyncio.Task] = []

    async def open(self, session: aiohttp.ClientSession) -> float | None:
        self.tasks = [asyncio.create_task(self.watch(session, i)) for i in range(len(self.totals))]
        return await self.until(lambda: min(self.totals) >= 0, 30)

    async def watch(self, session, i: int) -> None:
        while True:
            try:
                async with session.ws_connect(self.url, heartbeat=None) as ws:
                    async for message in ws:
                        state = json.loads(message.data)
                        if state.get("type") == "results" and state["version"] > self.versions[i]:
                            self.versions[i], self.totals[i] = (
                                state["version"],
                                state["total_votes"],
                            )
            except (TimeoutError, aiohttp.ClientError, ConnectionError):
                pass
            await asyncio.sleep(0.1)  # dropped: reconnect

    async def until(self, condition, timeout: float) -> float | None:
        began = time.monotonic()
        while not condition():
            if time.monotonic() - began > timeout:
                return None
            await asyncio.sleep(0.01)
        return time.monotonic() - began

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()


async def _sent(session, ctx, params) -> None:
    if isinstance(ctx.trace_request_ctx, SimpleNamespace):
        ctx.trace_request_ctx.at = time.monotonic()


# --- one run ---------------------------------------------------------------------


@dataclass
class Context:
    url: str
    ws_http: str
    pids: list[int]
    hold: float
    stuck_count: int
    poll: dict = field(default_factory=dict)
    vote_url: str = ""
    stuck: list[socket.socket] = field(default_factory=list)


async def as_client(
    http, method: str, url: str, *, expect: int, deadline_s: float = 15.0, **kwargs
) -> dict:
    """A request the fault run's own bookkeeping makes (the poll, its final
    count), as a client should: a 503 (Postgres still coming back in one
    worker's pool) is retried after its Retry-After, until the deadline."""
    give_up = time.monotonic() + deadline_s
    while True:
        async with http.request(method, url, **kwargs) as response:
            answer = await response.json()
            retry_after = response.headers.get("Retry-After")
        if response.status == expect:
            return answer
        if response.status != 503 or retry_after is None or time.monotonic() > give_up:
            raise SystemExit(f"faults: {method} {url}: {response.status} {answer}")
        await asyncio.sleep(float(retry_after))


async def create_poll(http, body: dict, token: str) -> dict:
    headers = {"Authorization": f"Token {token}"}
    return await as_client(http, "POST", "/api/polls/", expect=201, json=body, headers=headers)


async def run_fault(name: str, ctx: Context, args, token: str) -> dict:
    connector = aiohttp.TCPConnector(limit=args.connections)
    # A vote's answer time counts from when its request was sent, not from
    # when it began waiting for one of this client's connections.
    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(_sent)
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(
            base_url=ctx.url,
            connector=connector,
            timeout=timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
            trace_configs=[trace],
        ) as http,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as ws_session,  # no cap
    ):
        # Long choices for the stuck sockets: each state is ~10 KB, so their buffers fill.
        texts = ["Yes", "No"] + (
            [f"{n:02d} " + "x" * 190 for n in range(40)] if name == "stuck-sockets" else []
        )
        ctx.poll = await create_poll(
            http,
            {"question": f"Fault: {name}", "choices": texts, "max_ballots_per_address": 0},
            token,
        )
        ctx.vote_url = ctx.poll["urls"]["vote"]
        screens = Screens(ctx.ws_http.replace("http", "ws", 1), ctx.poll["id"], args.screens)
        if await screens.open(ws_session) is None:
            opened = sum(total >= 0 for total in screens.totals)
            raise SystemExit(
                f"faults: {opened} of {args.screens} screens opened ({screens.errors})"
            )
        tally = Tally()
        t0 = time.monotonic()
        span = args.votes / args.rate
        voters = [
            asyncio.create_task(voter(http, ctx, tally, i, t0 + i / args.rate))
            for i in range(args.votes)
        ]
        await asyncio.sleep(span * 0.3)
        broken = time.monotonic()
        queues: list[int] = []
        await FAULTS[name](ctx)
        healed = time.monotonic()
        if ctx.stuck:  # what the server's kernel holds for them while votes flow
            port = int(ctx.ws_http.rsplit(":", 1)[1])
            peers = {s.getsockname()[1] for s in ctx.stuck}
            while not all(v.done() for v in voters):
                queues.append(max(send_queues(port, peers), default=0))
                await asyncio.sleep(0.2)
        await asyncio.gather(*voters)
        last_ack = max(tally.acked.values(), default=time.monotonic())
        waited = await screens.until(lambda: min(screens.totals) == args.votes, 15)
        current = None if waited is None else max(0.0, max(screens.changed) - last_ack)
        results = await as_client(http, "GET", ctx.poll["urls"]["results"], expect=200)
        counted = results["total_votes"]
        screens.close()
        for sock in ctx.stuck:
            sock.close()
        first_after = min((t for t in tally.acked.values() if t >= healed), default=healed)
        report = {
            "fault": name,
            "votes": args.votes,
            "acknowledged": len(tally.acked),
            "counted": counted,
            "lost": args.votes - counted,
            "doubled": max(0, counted - len(tally.acked)),
            "statuses": dict(sorted(tally.statuses.items())),
            "unreachable": tally.unreachable,
            "503_without_retry_after": tally.unavailable_without_retry_after,
            "replays_differing": tally.replays_differing,
            "unexpected": tally.unexpected[:5],
            "slowest_answer_s": round(tally.slowest, 2),
            "fault_s": round(healed - broken, 2),
            # from the fault healing to the next vote answered 2xx (votes arrive
            # every 1/rate s, and those refused during the fault are retrying)
            "votes_back_s": round(first_after - healed, 2),
            # from the last vote's 2xx to every screen showing the final count
            "screens_current_s": None if current is None else round(current, 2),
        }
        if ctx.stuck:
            report["stuck_send_queue_max_bytes"] = max(queues, default=0)
            report["stuck_open_at_end"] = len(send_queues(port, peers))
        report["ok"] = promises_kept(report)
        return report


def promises_kept(r: dict) -> bool:
    server_errors = sum(n for status, n in r["statuses"].items() if status >= 500 and status != 503)
    return (
        r["lost"] == 0
        and r["doubled"] == 0
        and r["acknowledged"] == r["votes"]
        and server_errors == 0
        and r["503_without_retry_after"] == 0
        and r["replays_differing"] == 0
        and not r["unexpected"]
        and r["votes_back_s"] <= HEALED_WITHIN
        and r["slowest_answer_s"] <= ANSWERED_WITHIN
        and r["screens_current_s"] is not None
        and r["screens_current_s"] <= HEALED_WITHIN
        and r.get("stuck_send_queue_max_bytes", 0) <= STUCK_BYTES
    )


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("NEXUS_URL"))
    parser.add_argument("--ws-url", default=os.environ.get("NEXUS_WS_URL"))
    parser.add_argument("--votes", type=int, default=300)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--screens", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--hold", type=float, default=3.0, help="seconds a stopped service stays down"
    )
    parser.add_argument("--stuck", type=int, default=20, help="sockets that never read")
    parser.add_argument(
        "--send-timeout",
        type=float,
        default=float(os.environ.get("NEXUS_WS_SEND_TIMEOUT_MS", "10000")) / 1000,
    )
    parser.add_argument("--only", nargs="*", choices=list(FAULTS), default=list(FAULTS))
    args = parser.parse_args()
    pids = [int(p) for p in os.environ["NEXUS_SERVER_PIDS"].split()]
    ctx = Context(args.url, args.ws_url or args.url, pids, args.hold, args.stuck)
    async with aiohttp.ClientSession(base_url=args.url) as http:
        name = f"faults-{secrets.token_hex(4)}"
        credentials = {"username": name, "password": secrets.token_urlsafe(16)}
        async with http.post("/api/auth/register/", json=credentials) as response:
            token = (await response.json())["token"]
    failed = []
    for name in args.only:
        report = await run_fault(name, ctx, args, token)
        print(json.dumps(report), flush=True)
        if not report["ok"]:
            failed.append(name)
    if failed:
        print(f"faults: promises broken under {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
