"""The load test (loadtest/, `nexus-loadtest`) against production's layout:
the REST API from granian WSGI workers, the sockets from a granian ASGI
process, on Postgres and Redis; and from its own package, with no settings."""

import asyncio
import os
import subprocess
import sys

import nexus_loadtest as loadtest
import pytest

from tests.servers import BIN, Server, free_port, migrate, server_env, wait_for
from tests.services import answers


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
    assert 0 <= report["server_cpu_kernel_s"] <= report["server_cpu_s"]  # a part of it
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


def loadtest_cli(*args: str) -> subprocess.CompletedProcess:
    """`nexus-loadtest` as an operator's laptop runs it: its own package, no
    Django settings, no SECRET_KEY, nothing of the server's configuration."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [str(BIN / "nexus-loadtest"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_packaged_load_test_runs_against_a_server_with_no_settings(tmp_path):
    env = server_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", None)
    migrate(env)
    server = Server(env)
    try:
        result = loadtest_cli("--url", server.url, "--subscribers", "5", "--votes", "40")
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    report = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert report["exact"] == "True" and report["final_total"] == "40"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("polls.example.org", "--url must start with http:// or https://, got 'polls.example.org'"),
        ("http://127.0.0.1:1", "cannot reach http://127.0.0.1:1: "),
        ("NOT_NEXUS", "answered 501 without a JSON object: is this a Nexus server"),
    ],
    ids=["no scheme", "nothing listening", "not nexus"],
)
def test_a_wrong_url_is_one_line_not_a_traceback(url, message, tmp_path):
    other = None
    if url == "NOT_NEXUS":  # a web server that is not Nexus
        port = free_port()
        other = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: answers(port), 10, "http.server")
    try:
        result = loadtest_cli("--url", url, "--subscribers", "0", "--votes", "1")
    finally:
        if other:
            other.terminate()
            other.wait()
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nexus-loadtest: "), result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_an_event_s_screens_follow_the_presenter_and_every_poll_is_exact(split):
    report = run(*split, subscribers=40, votes=240, rate=120, event=3, switch_every=0.6)
    assert (report["event"], report["polls"]) == (True, 3)
    assert report["statuses"] == {"201": 240}
    assert report["exact"] and report["versions_monotonic"]
    assert report["convergence_s"] is not None  # every screen shows the last poll's final state
    assert loadtest.passed(report)


def test_a_text_poll_s_answers_reach_every_screen_as_words_exactly(split):
    report = run(*split, subscribers=40, votes=200, rate=100, kind="text")
    assert report["statuses"] == {"201": 200}
    assert report["exact"] and report["versions_monotonic"]
    assert report["convergence_s"] is not None  # every screen shows REST's words
    assert report["vote_to_screen_p50_ms"] is not None  # the probe word seen on screens
    assert 0 < report["largest_state_bytes"] <= 8192
    assert loadtest.passed(report)


def test_event_mode_needs_a_rate():
    result = loadtest_cli("--url", "http://127.0.0.1:1", "--event", "3", "--votes", "10")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "nexus-loadtest: --event needs --rate (votes follow the presenter's clock)"
        " and no --dashboard"
    )
