"""A REST worker killed (SIGKILL) in the middle of batches, on real Postgres:
no vote that was answered 2xx is lost, and clients that retry with their
Idempotency-Key are counted once."""

import subprocess
import sys
import threading
import time

import httpx

from tests.helpers import voter_id
from tests.servers import ROOT, Server, server_env, wait_for

VOTERS = 240


def register_and_create_poll(server: Server) -> dict:
    name = f"crash{time.monotonic_ns()}"
    token = httpx.post(
        f"{server.url}/api/auth/register/", json={"username": name, "password": "crash-horse-1"}
    ).json()["token"]
    poll = httpx.post(
        f"{server.url}/api/polls/",
        json={"question": "Crash?", "choices": ["A", "B"], "max_ballots_per_address": 0},
        headers={"Authorization": f"Token {token}"},
    )
    assert poll.status_code == 201, poll.text
    return poll.json()


def kill_hard(server: Server) -> None:
    """SIGKILL the worker and its supervisor: no graceful anything."""
    subprocess.run(["pkill", "-KILL", "-P", str(server.process.pid)], check=False)
    server.process.kill()
    server.process.wait()


def cast(client: httpx.Client, poll: dict, voter: str) -> httpx.Response:
    return client.post(
        poll["urls"]["vote"],
        json={"choices": [poll["choices"][0]["id"]]},
        headers={"X-Voter-Id": voter, "Idempotency-Key": f"key-{voter[:12]}"},
    )


def test_a_killed_worker_loses_no_answered_vote_and_retries_count_once(postgres_url):
    env = server_env(postgres_url, None)
    server = Server(env, "--workers", "1", kind="granian-wsgi")
    poll = register_and_create_poll(server)
    voters = [voter_id(f"crash-{n}") for n in range(VOTERS)]
    first: dict[str, int | None] = {}
    lock = threading.Lock()

    def send(chunk: list[str]) -> None:
        with httpx.Client(base_url=server.url, timeout=5) as client:
            for voter in chunk:
                try:
                    status: int | None = cast(client, poll, voter).status_code
                except httpx.HTTPError:
                    status = None  # the answer never came: the client will retry
                with lock:
                    first[voter] = status

    threads = [threading.Thread(target=send, args=(voters[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    wait_for(lambda: sum(s == 201 for s in first.values()) >= VOTERS // 4, 30, "answered votes")
    kill_hard(server)  # batches are in flight: 8 clients keep it busy
    for thread in threads:
        thread.join(60)
    answered = [v for v, s in first.items() if s == 201]
    assert VOTERS // 4 <= len(answered) < VOTERS  # the kill came in the middle

    server = Server(env, "--workers", "1", kind="granian-wsgi", port=server.port)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            retries = {voter: cast(client, poll, voter) for voter in voters}
            results = client.get(poll["urls"]["results"]).json()
    finally:
        server.stop()
    # Every voter is counted exactly once: those answered before the kill
    # (their retry replays the stored answer), and the others on retry.
    assert {r.status_code for r in retries.values()} == {201}
    assert results["total_votes"] == VOTERS
    assert results["choices"][0]["votes"] == VOTERS
    replayed = [v for v in answered if retries[v].json()["voter_id"] == v]
    assert replayed == answered
    recount = subprocess.run(
        [sys.executable, "manage.py", "recount", poll["id"]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "fixed 0 drifted" in recount.stdout
