"""End to end: real server processes (granian, daphne, and production's split
layout of granian WSGI workers beside a granian ASGI process), real HTTP and
WebSocket clients."""

import asyncio
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.helpers import voter_id
from tests.servers import POLL_INTERVAL, RedisServer, Server, migrate, server_env, wait_for

# --- fixtures -------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair(postgres_url, redis_url):
    """Two server processes sharing Postgres and Redis."""
    # Healing off: every update must come through the broadcast path.
    env = server_env(postgres_url, redis_url, NEXUS_RESYNC_MS="60000")
    # Production's server and the development one, side by side (a mixed fleet works too).
    servers = [Server(env, kind="granian"), Server(env, kind="daphne")]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def memory_server(tmp_path):
    """`make run`'s configuration: SQLite and the in-memory layer."""
    env = server_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", None, NEXUS_RESYNC_MS="60000")
    migrate(env)
    server = Server(env, "--ping-interval", "1", "--ping-timeout", "2")
    yield server
    server.stop()


# --- helpers --------------------------------------------------------------------


def create_poll(server: Server, **options) -> dict:
    name = f"e2e{time.monotonic_ns()}"
    token = httpx.post(
        f"{server.url}/api/auth/register/", json={"username": name, "password": "e2e-correct-horse"}
    ).json()["token"]
    body = {"question": "E2E?", "choices": ["A", "B", "C"], **options}
    response = httpx.post(
        f"{server.url}/api/polls/", json=body, headers={"Authorization": f"Token {token}"}
    )
    assert response.status_code == 201, response.text
    return response.json()


def results(server: Server, poll_id: str) -> dict:
    """GET results, projected onto the WebSocket message's fields."""
    body = httpx.get(f"{server.url}/api/polls/{poll_id}/results/").json()
    choices = [{k: c[k] for k in ("id", "votes", "share")} for c in body["choices"]]
    return {
        "type": "results",
        "poll": poll_id,
        "version": body["version"],
        "status": body["status"],
        "total_votes": body["total_votes"],
        "choices": choices,
    }


class Subscriber:
    """A socket that keeps every message it receives."""

    def __init__(self, url: str, subscribe: str | None = None):
        self.url, self.subscribe, self.messages = url, subscribe, []
        self.task: asyncio.Task | None = None

    async def start(self):
        self.ws = await connect(self.url, ping_interval=None)
        if self.subscribe:
            await self.ws.send(json.dumps({"type": "subscribe", "poll": self.subscribe}))
        self.task = asyncio.create_task(self._read())
        await until(lambda: self.messages, 5, "the first state")
        return self

    async def _read(self):
        async for text in self.ws:
            self.messages.append(json.loads(text))

    @property
    def newest(self) -> dict | None:
        return self.messages[-1] if self.messages else None

    def versions(self) -> list[int]:
        return [m["version"] for m in self.messages if m["type"] == "results"]

    async def close(self):
        await self.ws.close()
        await self.task


async def until(predicate, timeout: float, what: str) -> float:
    """Wait for predicate with a deadline; returns the seconds it took."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(POLL_INTERVAL / 5)
    return time.monotonic() - started


TCP_ESTABLISHED = 1


def tcp_state(ws) -> int:
    """The kernel's TCP state of a client socket (Linux TCP_INFO)."""
    sock = ws.transport.get_extra_info("socket")
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]


async def vote_over_http(client: httpx.AsyncClient, poll: dict, n: int) -> int:
    choice = poll["choices"][n % 3]["id"]
    response = await client.post(
        poll["urls"]["vote"],
        json={"choices": [choice]},
        headers={"X-Voter-Id": voter_id(f"e2e-voter-{n:06}")},
    )
    return response.status_code


# --- tests ----------------------------------------------------------------------


async def test_make_run_configuration_serves_live_results(memory_server):
    poll = create_poll(memory_server)
    single = await Subscriber(f"{memory_server.ws}/ws/polls/{poll['id']}/").start()
    stream = await Subscriber(f"{memory_server.ws}/ws/", subscribe=poll["id"]).start()
    async with httpx.AsyncClient(base_url=memory_server.url) as client:
        assert [await vote_over_http(client, poll, n) for n in range(5)] == [201] * 5
    final = results(memory_server, poll["id"])
    await until(lambda: single.newest == final and stream.newest == final, 1.0, "convergence")
    await single.close()
    await stream.close()


async def test_a_client_that_stops_reading_is_dropped_and_others_carry_on(memory_server):
    poll = create_poll(memory_server)
    healthy = await Subscriber(f"{memory_server.ws}/ws/polls/{poll['id']}/").start()
    # max_queue=1: once a message waits unread, the client stops reading its
    # socket, so it answers no more pings: a stuck screen.
    stuck = await connect(
        f"{memory_server.ws}/ws/polls/{poll['id']}/", max_queue=1, ping_interval=None
    )
    async with httpx.AsyncClient(base_url=memory_server.url) as client:
        for n in range(6):
            assert await vote_over_http(client, poll, n) == 201
            await until(lambda n=n: healthy.newest["total_votes"] == n + 1, 2, f"vote {n}")
        # The stuck client reads nothing, so it cannot notice; its kernel does.
        await until(lambda: tcp_state(stuck) != TCP_ESTABLISHED, 10, "the server to drop it")
        assert await vote_over_http(client, poll, 99) == 201
    final = results(memory_server, poll["id"])
    await until(lambda: healthy.newest == final, 1.0, "the healthy socket to converge")
    await healthy.close()


async def test_vote_on_one_server_reaches_sockets_on_the_other_within_a_second(pair):
    a, b = pair
    poll = create_poll(a, max_ballots_per_address=0)  # 300 voters, one address
    subscribers = [
        *[await Subscriber(f"{a.ws}/ws/polls/{poll['id']}/").start() for _ in range(4)],
        await Subscriber(f"{a.ws}/ws/", subscribe=poll["id"]).start(),
        await Subscriber(f"{b.ws}/ws/polls/{poll['id']}/").start(),
    ]
    async with httpx.AsyncClient(base_url=b.url) as client:
        statuses = await asyncio.gather(*(vote_over_http(client, poll, n) for n in range(60)))
    last_answer = time.monotonic()
    assert statuses == [201] * 60
    final = results(a, poll["id"])
    assert final == results(b, poll["id"]) and final["total_votes"] == 60
    await until(lambda: all(s.newest == final for s in subscribers), 1.0, "every socket")
    assert time.monotonic() - last_answer <= 1.0
    for s in subscribers:
        await s.close()


async def test_versions_strictly_increase_under_concurrent_votes_on_both_servers(pair):
    a, b = pair
    poll = create_poll(a, max_ballots_per_address=0)  # 300 voters, one address
    subscribers = [
        await Subscriber(f"{s.ws}/ws/polls/{poll['id']}/").start() for s in (a, b, a, b, a, b)
    ]
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(i: int):
        server = pair[i % 2]
        with httpx.Client(base_url=server.url) as client:
            for n in range(i * 15, (i + 1) * 15):  # 20 threads x 15 = 300 votes
                choice = poll["choices"][n % 3]["id"]
                r = client.post(
                    poll["urls"]["vote"],
                    json={"choices": [choice]},
                    headers={"X-Voter-Id": voter_id(f"prop-voter-{n:06}")},
                )
                with lock:
                    statuses.append(r.status_code)

    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=20) as pool:
        await asyncio.gather(*(loop.run_in_executor(pool, worker, i) for i in range(20)))
    assert statuses.count(201) == 300
    final = results(b, poll["id"])
    assert final["total_votes"] == 300
    await until(lambda: all(s.newest == final for s in subscribers), 1.0, "every socket")
    for s in subscribers:
        versions = s.versions()
        assert versions == sorted(set(versions)), "a version went back or repeated"
        await s.close()


async def test_sockets_survive_a_redis_restart_and_converge(postgres_url):
    redis = RedisServer()
    redis.start()
    env = server_env(postgres_url, redis.url)
    a, b = Server(env, kind="granian"), Server(env, kind="granian")
    try:
        poll = create_poll(a)
        on_a = await Subscriber(f"{a.ws}/ws/polls/{poll['id']}/").start()
        on_b = await Subscriber(f"{b.ws}/ws/", subscribe=poll["id"]).start()
        redis.stop()
        async with httpx.AsyncClient(base_url=b.url) as client:
            during = [await vote_over_http(client, poll, n) for n in range(5)]
            assert during == [201] * 5  # votes commit while Redis is away
            final = results(a, poll["id"])
            await until(
                lambda: on_a.newest == final and on_b.newest == final,
                5,
                "convergence while Redis is down",
            )
            redis.start()
            after = [await vote_over_http(client, poll, n) for n in range(5, 10)]
            assert after == [201] * 5
        final = results(a, poll["id"])
        assert final["total_votes"] == 10
        await until(
            lambda: on_a.newest == final and on_b.newest == final,
            5,
            "convergence after Redis is back",
        )
        assert on_a.ws.state.name == "OPEN" and on_b.ws.state.name == "OPEN"
        await on_a.close()
        await on_b.close()
    finally:
        a.stop()
        b.stop()
        redis.stop()


def open_sockets(metrics: str) -> float:
    """The socket process's own count of its open live-results sockets."""
    for line in metrics.splitlines():
        if line.startswith("nexus_websocket_connections "):
            return float(line.split()[1])
    raise AssertionError("no nexus_websocket_connections in /metrics")


VOTERS = 16


async def test_under_granian_a_socket_that_stops_reading_is_closed_and_let_go(
    postgres_url, redis_url
):
    """Granian's send waits once the kernel's send buffer is full (a few MB
    of states), so the hub's watchdog sees it blocked and closes the socket;
    the consumer is gone (disconnect ran) while the healthy screen goes on."""
    env = server_env(
        postgres_url,
        redis_url,
        NEXUS_RESYNC_MS="60000",
        NEXUS_WS_SEND_TIMEOUT_MS="1000",
        NEXUS_BROADCAST_INTERVAL_MS="10",  # many states a second: the buffer fills soon
    )
    rest, sockets = Server(env, "--workers", "2", kind="granian-wsgi"), Server(env, kind="granian")
    try:
        poll = create_poll(
            rest, choices=[f"Choice {n}" for n in range(50)], max_ballots_per_address=0
        )
        url = f"{sockets.ws}/ws/polls/{poll['id']}/"
        healthy = await Subscriber(url).start()
        raw = socket.create_connection(("127.0.0.1", sockets.port))
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a phone that went to sleep
        raw.setblocking(False)
        stuck = await connect(url, sock=raw, max_queue=1, ping_interval=None)
        await until(lambda: open_sockets(httpx.get(f"{sockets.url}/metrics").text) == 2, 5, "both")

        closed = asyncio.Event()

        async def vote_until_closed(client: httpx.AsyncClient, first: int) -> None:
            n = first
            while not closed.is_set():
                response = await client.post(
                    f"{rest.url}/api/polls/{poll['id']}/votes/",
                    json={"choices": [poll["choices"][n % 50]["id"]]},
                    headers={"X-Voter-Id": voter_id(f"stuck-{n:07}")},
                )
                assert response.status_code == 201
                n += VOTERS

        async def watch() -> None:
            """Until the server counts one socket: the shared deadline wait, in a
            thread so that the voters keep this loop."""

            def one_left() -> bool:
                return open_sockets(httpx.get(f"{sockets.url}/metrics").text) == 1

            try:
                await asyncio.to_thread(wait_for, one_left, 90, "the stuck socket to be closed")
            finally:
                closed.set()

        async with httpx.AsyncClient(timeout=10) as client:
            voters = [vote_until_closed(client, k) for k in range(VOTERS)]
            await asyncio.gather(watch(), *voters)
        assert open_sockets(httpx.get(f"{sockets.url}/metrics").text) == 1  # the healthy one
        final = results(rest, poll["id"])
        await until(lambda: healthy.newest == final, 2, "the healthy screen to converge")
        assert "Closing a socket whose send was blocked too long" in sockets.output()
        await healthy.close()
        stuck.transport.abort()
    finally:
        rest.stop()
        sockets.stop()
