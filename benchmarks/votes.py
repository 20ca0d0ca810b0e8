"""Vote throughput against a running Nexus, through the public API only.

    python benchmarks/votes.py --url http://127.0.0.1:8000 --votes 2000 --concurrency 32
    scripts/with-server.sh .venv/bin/python benchmarks/votes.py   # a fresh local server

Creates a user and a poll, casts V votes from distinct anonymous voters over
C keep-alive connections as fast as they are answered, then checks that the
poll's total equals the number of 2xx answers. Prints votes/s and POST
latency percentiles; exits 1 if a vote was lost or double-counted.
"""

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import time

import httpx


async def setup(client: httpx.AsyncClient) -> tuple[str, list[int]]:
    name = f"bench-{secrets.token_hex(4)}"
    account = await client.post(
        "/api/auth/register/", json={"username": name, "password": secrets.token_urlsafe(16)}
    )
    account.raise_for_status()
    poll = await client.post(
        "/api/polls/",
        json={"question": "Benchmark", "choices": ["A", "B", "C", "D"]},
        headers={"Authorization": f"Token {account.json()['token']}"},
    )
    poll.raise_for_status()
    return poll.json()["id"], [c["id"] for c in poll.json()["choices"]]


async def cast(client, poll_id, choices, queue, latencies, statuses):
    while True:
        try:
            i = queue.get_nowait()
        except asyncio.QueueEmpty:
            return
        started = time.perf_counter()
        response = await client.post(
            f"/api/polls/{poll_id}/votes/",
            json={"choices": [choices[i % len(choices)]]},
            headers={"X-Voter-Id": f"bench-voter-{i:08}"},
        )
        latencies.append(time.perf_counter() - started)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1


async def main(url: str, votes: int, concurrency: int) -> dict:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        poll_id, choices = await setup(client)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(votes):
            queue.put_nowait(i)
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        started = time.perf_counter()
        await asyncio.gather(
            *(
                cast(client, poll_id, choices, queue, latencies, statuses)
                for _ in range(concurrency)
            )
        )
        elapsed = time.perf_counter() - started
        results = (await client.get(f"/api/polls/{poll_id}/results/")).json()
    accepted = sum(n for code, n in statuses.items() if 200 <= code < 300)
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "votes": votes,
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "votes_per_s": round(votes / elapsed, 1),
        "p50_ms": round(cuts[49] * 1000, 1),
        "p95_ms": round(cuts[94] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "statuses": statuses,
        "total_votes": results["total_votes"],
        "accepted": accepted,
        "exact": results["total_votes"] == accepted,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("NEXUS_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--votes", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    report = asyncio.run(main(args.url, args.votes, args.concurrency))
    print(json.dumps(report))
    sys.exit(0 if report["exact"] and report["accepted"] == args.votes else 1)
