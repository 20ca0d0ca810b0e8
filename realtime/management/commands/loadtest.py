import asyncio
import json
import sys

from django.core.management.base import BaseCommand, CommandError

from realtime import loadtest


class Command(BaseCommand):
    help = (
        "Load-test a running Nexus through its public API: S live subscribers (to one poll, "
        "or to P polls each with --dashboard P), V votes; reports throughput, latencies, "
        "convergence and exactness."
    )
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True, help="e.g. http://127.0.0.1:8000")
        parser.add_argument(
            "--ws-url", help="where the sockets connect, if not --url (REST and sockets split)"
        )
        parser.add_argument("--subscribers", type=int, default=100)
        parser.add_argument(
            "--dashboard",
            type=int,
            default=0,
            metavar="P",
            help="each subscriber is one /ws/ socket on P polls; votes go round-robin",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="N > 1: N child processes hold the sockets, this one only votes",
        )
        parser.add_argument("--votes", type=int, default=1000)
        parser.add_argument(
            "--rate",
            type=float,
            default=0.0,
            help="votes/s offered (open loop); 0 = as fast as answered",
        )
        parser.add_argument("--connections", type=int, default=32)
        parser.add_argument("--probe-every", type=int, default=10)
        parser.add_argument(
            "--pid",
            type=int,
            action="append",
            default=[],
            help="server PID, for CPU and memory (repeatable)",
        )
        parser.add_argument("--redis-url", help="the channel layer's Redis, to count commands")
        parser.add_argument("--timeout", type=float, default=30.0)
        parser.add_argument("--json", dest="json_path", help="also write the report here")

    def handle(self, *args, **o):
        opts = loadtest.Options(
            url=o["url"].rstrip("/"),
            ws_url=o["ws_url"] and o["ws_url"].rstrip("/"),
            dashboard=o["dashboard"],
            processes=max(1, o["processes"]),
            subscribers=o["subscribers"],
            votes=o["votes"],
            rate=o["rate"],
            connections=o["connections"],
            probe_every=o["probe_every"],
            pids=o["pid"],
            redis_url=o["redis_url"],
            timeout=o["timeout"],
        )
        report = asyncio.run(loadtest.run(opts, progress=self._progress))
        sys.stderr.write("\n")
        width = max(len(k) for k in report)
        for key, value in report.items():
            self.stdout.write(f"{key:<{width}}  {value}")
        if o["json_path"]:
            with open(o["json_path"], "w") as f:
                json.dump(report, f, indent=2)
        if not loadtest.passed(report):
            raise CommandError(
                "a vote was lost or double-counted, a version went back, "
                "or a screen never converged"
            )

    def _progress(self, what: str, done: int, total: int) -> None:
        filled = int(30 * done / max(1, total))
        sys.stderr.write(f"\r{what:<12} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
        sys.stderr.flush()
