"""How many ballots can one address stuff into one poll? Prints the numbers
behind docs/SECURITY.md, through the public API only.

One client address creates a poll with the server's defaults, then casts
`--ballots` first ballots as fast as answered, each as a new voter: with
`--ids server` each request sends no voter id (the server issues one), with
`--ids forged` each sends a made-up `X-Voter-Id` (`sockpuppet-N`, which v1
accepted). Exits non-zero if the poll took more ballots than `--expect-at-most`.

    scripts/with-server.sh .venv/bin/python benchmarks/stuffing.py --url '$NEXUS_URL'
"""

import argparse
import json
import secrets
import sys
import time
from collections import Counter

import httpx


def main(url: str, ballots: int, ids: str) -> dict:
    with httpx.Client(base_url=url, timeout=30) as http:
        name = f"stuffing-{secrets.token_hex(4)}"
        token = http.post(
            "/api/auth/register/", json={"username": name, "password": secrets.token_urlsafe(16)}
        ).json()["token"]
        poll = http.post(
            "/api/polls/",
            json={"question": "Stuffed?", "choices": ["Honest", "Stuffed"]},
            headers={"Authorization": f"Token {token}"},
        ).json()
        stuffed = [poll["choices"][1]["id"]]
        answers: Counter[str] = Counter()
        started = time.monotonic()
        for n in range(ballots):
            headers = {"X-Voter-Id": f"sockpuppet-{n:06}"} if ids == "forged" else {}
            http.cookies.clear()  # a new voter every time
            response = http.post(poll["urls"]["vote"], json={"choices": stuffed}, headers=headers)
            code = "ok" if response.is_success else response.json().get("code", "?")
            answers[f"{response.status_code} {code}"] += 1
        elapsed = time.monotonic() - started
        total = http.get(poll["urls"]["results"]).json()["total_votes"]
    return {
        "ids": ids,
        "sent": ballots,
        "counted": total,
        "answers": dict(answers),
        "seconds": round(elapsed, 2),
        "counted_per_minute": round(total / elapsed * 60) if elapsed else None,
        "cap": poll.get("max_ballots_per_address"),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--ballots", type=int, default=300)
    parser.add_argument("--ids", choices=["server", "forged"], default="server")
    parser.add_argument("--expect-at-most", type=int, default=None)
    args = parser.parse_args()
    report = main(args.url, args.ballots, args.ids)
    print(json.dumps(report))
    if args.expect_at_most is not None and report["counted"] > args.expect_at_most:
        sys.exit(f"one address got {report['counted']} ballots in (> {args.expect_at_most})")
