"""What proof of work costs per ballot at the server's difficulty
(NEXUS_CHALLENGE_COST, NEXUS_CHALLENGE_MAX_NUMBER): the numbers behind
docs/SECURITY.md's table, through the public API and the voter page.

- A server core: `--solves` challenges solved with the `altcha` library
  (OpenSSL's PBKDF2, as a stuffing script would), CPU time per solve.
- A phone: the voter page in Chromium, `--pages` fresh visitors, each
  unthrottled and with its CPU slowed `--throttle` times (4: DevTools'
  mid-range phone), taking turns; the time from the challenge to its
  solution as the page reports it (`data-pow-ms`), then the tap's vote,
  which must be 201. The throttle slows JavaScript, not WebCrypto's native
  PBKDF2, which does the work on the browser's own threads: measured, it
  changes nothing. So a slower phone is bounded by `--throttle` times the
  unthrottled figure (`phone_bound_s_median`).
- What 1,000 stuffed ballots then cost an attacker, in core-seconds.

    scripts/with-server.sh .venv/bin/python benchmarks/pow_cost.py --url '$NEXUS_URL'
"""

import argparse
import json
import secrets
import statistics
import sys
import time

import altcha
import httpx
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"


def pow_poll(http: httpx.Client) -> dict:
    name = f"pow-{secrets.token_hex(4)}"
    token = http.post(
        "/api/auth/register/", json={"username": name, "password": secrets.token_urlsafe(16)}
    ).json()["token"]
    response = http.post(
        "/api/polls/",
        json={"question": "Proof of work?", "choices": ["Yes", "No"], "challenge": "pow"},
        headers={"Authorization": f"Token {token}"},
    )
    response.raise_for_status()
    return response.json()


def server_core(http: httpx.Client, poll: dict, solves: int) -> list[float]:
    """CPU seconds per solve on this core."""
    seconds = []
    for _ in range(solves):
        challenge = http.get(f"/api/polls/{poll['id']}/challenge/").json()
        started = time.process_time()
        solution = altcha.solve_challenge(altcha.Challenge.from_dict(challenge), timeout=0)
        seconds.append(time.process_time() - started)
        assert solution is not None
    return seconds


def throttled(page, rate: float) -> None:
    """Slow the page's CPU `rate` times."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})


def phone(url: str, poll: dict, pages: int, rates: tuple[float, ...]) -> dict[float, list]:
    """Seconds from challenge to solution on the voter page, per visitor, per rate."""
    took: dict[float, list[float]] = {rate: [] for rate in rates}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for _ in range(pages):
            for rate in rates:
                context = browser.new_context(
                    viewport={"width": 390, "height": 844}, is_mobile=True
                )
                page = context.new_page()
                throttled(page, rate)
                page.goto(f"{url}{poll['urls']['page']}")
                ballot = page.locator("#ballot[data-pow=ready]")
                ballot.wait_for(state="attached", timeout=120_000)
                took[rate].append(float(ballot.get_attribute("data-pow-ms")) / 1000)
                page.get_by_label("Yes").check()
                with page.expect_response(lambda r: r.url.endswith("/votes/")) as answer:
                    page.get_by_role("button", name="Vote").click()
                assert answer.value.status == 201, answer.value.text()
                context.close()
        browser.close()
    return took


def summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 3),
        "mean": round(statistics.mean(ordered), 3),
        "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 3),
        "max": round(ordered[-1], 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--solves", type=int, default=50)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--throttle", type=float, default=4.0)
    args = parser.parse_args()
    with httpx.Client(base_url=args.url, timeout=60) as http:
        poll = pow_poll(http)
        parameters = http.get(f"/api/polls/{poll['id']}/challenge/").json()["parameters"]
        core = server_core(http, poll, args.solves)
    pages = phone(args.url, poll, args.pages, (1.0, args.throttle)) if args.pages else {}
    mean_core = statistics.mean(core)
    report = {
        "algorithm": parameters["algorithm"],
        "cost": parameters["cost"],
        "server_core_s_per_ballot": summary(core),
        **{f"page_{rate:g}x_s_per_ballot": summary(values) for rate, values in pages.items()},
        "phone_bound_s_median": round(args.throttle * statistics.median(pages[1.0]), 2)
        if pages
        else None,
        "attacker_core_s_per_1000_ballots": round(1000 * mean_core),
        "attacker_core_h_per_100000_ballots": round(100_000 * mean_core / 3600, 1),
    }
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
