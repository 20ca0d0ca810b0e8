"""`manage.py loadtest` against production's layout: the REST API from granian
WSGI workers, the sockets from a granian ASGI process, on Postgres and Redis."""

import asyncio

import pytest

from realtime import loadtest
from tests.servers import Server, server_env


@pytest.fixture(scope="module")
def split(postgres_url, redis_url):
    env = server_env(postgres_url, redis_url, NEXUS_RESYNC_MS="60000")  # no healing
    rest = Server(env, "--workers", "2", kind="granian-wsgi")
    sockets = Server(env, kind="granian")
    yield rest, sockets
    rest.stop()
    sockets.stop()


def run(rest: Server, sockets: Server, **options) -> dict:
    opts = loadtest.Options(
        url=rest.url,
        ws_url=sockets.url,
        pids=[rest.process.pid, sockets.process.pid],
        timeout=20,
        **options,
    )
    return asyncio.run(loadtest.run(opts))


def test_votes_through_wsgi_reach_sockets_in_child_processes_exactly(split):
    report = run(*split, subscribers=60, votes=200, connections=8, processes=2)
    assert report["statuses"] == {"201": 200}
    assert report["final_total"] == report["accepted"] == 200
    assert report["exact"] and report["versions_monotonic"]
    assert report["convergence_s"] is not None
    assert report["vote_to_screen_p50_ms"] is not None  # probes seen on screens
    assert report["vote_to_screen_p50_ms"] <= report["vote_to_screen_p99_ms"]
    assert report["server_cpu_ms_per_vote"] > 0
    # Closed loop: a vote's time starts when a connection sends it, not when
    # the run began (then the median would be about half the run).
    assert report["post_p50_ms"] < 1000 * report["voting_s"] / 4
    assert loadtest.passed(report)


def test_dashboard_sockets_follow_every_poll(split):
    report = run(*split, subscribers=20, votes=150, dashboard=3, rate=150)
    assert report["polls"] == 3
    assert report["final_total"] == report["accepted"] == 150
    assert report["exact"] and report["versions_monotonic"]
    assert report["convergence_s"] is not None
    assert report["messages_per_subscriber"] >= 3  # at least each poll's first state


def test_a_lost_vote_fails_the_run():
    report = {"exact": False, "versions_monotonic": True, "convergence_s": 0.1}
    assert not loadtest.passed(report)
    assert not loadtest.passed({**report, "exact": True, "convergence_s": None})
    assert loadtest.passed({**report, "exact": True})
