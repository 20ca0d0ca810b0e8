"""`nexus-loadtest` (and `python manage.py loadtest`, which calls `main`)."""

import argparse
import json
import sys

import aiohttp

from .run import LoadTestError, Options, passed, run
from .screens import run_loop

FAILED = "a vote was lost or double-counted, a version went back, or a screen never converged"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nexus-loadtest",
        description=(
            "Load-test a running Nexus through its public API: S live subscribers (to one "
            "poll, or to P polls each with --dashboard P), V votes; reports throughput, "
            "latencies, convergence and exactness."
        ),
    )
    p.add_argument("--url", required=True, help="e.g. https://polls.example.org")
    p.add_argument(
        "--ws-url", help="where the sockets connect, if not --url (REST and sockets split)"
    )
    p.add_argument("--subscribers", type=int, default=100)
    p.add_argument(
        "--dashboard",
        type=int,
        default=0,
        metavar="P",
        help="each subscriber is one /ws/ socket on P polls; votes go round-robin",
    )
    p.add_argument(
        "--event",
        type=int,
        default=0,
        metavar="E",
        help="an event of E polls: screens on /ws/events/{id}/, votes on the current poll, "
        "the presenter moves on every --switch-every seconds (needs --rate)",
    )
    p.add_argument("--switch-every", type=float, default=3.0, metavar="S")
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        help="N > 1: N child processes hold the sockets, this one only votes",
    )
    p.add_argument("--votes", type=int, default=1000)
    p.add_argument(
        "--kind",
        choices=["single", "text"],
        default="single",
        help="text: open answers of a few words each, screens counting the probe word",
    )
    p.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="votes/s offered (open loop); 0 = as fast as answered",
    )
    p.add_argument(
        "--pow",
        action="store_true",
        help="polls with challenge: pow; each vote's challenge is solved (on every core) "
        "before the timed run",
    )
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--probe-every", type=int, default=10)
    p.add_argument(
        "--pid",
        type=int,
        action="append",
        default=[],
        help="server PID, for CPU and memory (repeatable)",
    )
    p.add_argument("--redis-url", help="the channel layer's Redis, to count commands (needs redis)")
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--json", dest="json_path", help="also write the report here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    for name in ("url", "ws_url"):
        value = getattr(args, name)
        if value is not None and not value.startswith(("http://", "https://")):
            return _fail(
                f"--{name.replace('_', '-')} must start with http:// or https://, got {value!r}"
            )
    if args.event and (args.rate <= 0 or args.dashboard):
        return _fail("--event needs --rate (votes follow the presenter's clock) and no --dashboard")
    if args.event and args.switch_every <= 0:
        return _fail("--switch-every must be positive")
    opts = Options(
        url=args.url.rstrip("/"),
        ws_url=args.ws_url and args.ws_url.rstrip("/"),
        dashboard=args.dashboard,
        event=args.event,
        switch_every=args.switch_every,
        processes=max(1, args.processes),
        subscribers=args.subscribers,
        votes=args.votes,
        rate=args.rate,
        connections=args.connections,
        probe_every=args.probe_every,
        kind=args.kind,
        pow=args.pow,
        pids=args.pid,
        redis_url=args.redis_url,
        timeout=args.timeout,
    )
    try:
        report = run_loop(run(opts, progress=_progress))
    except LoadTestError as exc:
        return _fail(str(exc))
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return _fail(f"cannot reach {args.url}: {exc or type(exc).__name__}")
    sys.stderr.write("\n")
    width = max(len(k) for k in report)
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")
    if args.json_path:
        with open(args.json_path, "w") as f:
            json.dump(report, f, indent=2)
    if not passed(report):
        return _fail(FAILED)
    return 0


def _fail(message: str) -> int:
    print(f"nexus-loadtest: {message}", file=sys.stderr)
    return 1


def _progress(what: str, done: int, total: int) -> None:
    filled = int(30 * done / max(1, total))
    sys.stderr.write(f"\r{what:<12} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
    sys.stderr.flush()
