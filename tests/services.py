"""What the suite needs from the machine, found before Django starts
(a pytest plugin: `-p tests.services` in pyproject.toml).

Postgres, Redis and RabbitMQ are used when their URLs are set, or else when
they answer on their usual local ports, so `make test` on a machine that
runs them tests against them with nothing set. A test that needs a missing
service or program (Chromium, nginx) calls `require_service`: it is skipped, and
the run's summary says in one line per missing piece what did not run and
the command that enables it. With NEXUS_REQUIRE_SERVICES (CI) it fails.
NEXUS_TEST_LOCAL_SERVICES=0 turns the port probing off, and
NEXUS_CHROMIUM / NEXUS_NGINX name the programs (a missing path shows what a
machine without them runs).
"""

import os
import socket
from collections import Counter

import pytest

DATABASE = "postgres://postgres@127.0.0.1:5432/nexus"
REDIS = "redis://127.0.0.1:6379/1"
BROKER = "amqp://guest:guest@127.0.0.1:5672//"

ENABLE = {
    "Postgres": "start it on 127.0.0.1:5432 with user postgres (apt-get install postgresql), "
    "or set DATABASE_URL=postgres://…",
    "Redis": "start it on 127.0.0.1:6379 (apt-get install redis-server), or set REDIS_URL=redis://…",
    "RabbitMQ": "start it on 127.0.0.1:5672 with guest/guest (apt-get install rabbitmq-server), "
    "or set NEXUS_TEST_BROKER_URL=amqp://…",
    "Chromium": "apt-get install chromium fonts-dejavu-core (make test does it as root)",
    "nginx": "apt-get install nginx (make test does it as root)",
}
PREFIX = "needs "


def require_service(available: bool, what: str) -> None:
    """Skip the test when `what` (a key of ENABLE) is missing; fail in CI."""
    if available:
        return
    if os.environ.get("NEXUS_REQUIRE_SERVICES"):
        pytest.fail(f"{what} is required here (NEXUS_REQUIRE_SERVICES is set): {ENABLE[what]}")
    pytest.skip(f"{PREFIX}{what}")


def answers(port: int) -> bool:
    """Something listens on this local port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _postgres() -> str | None:
    import psycopg

    try:
        with psycopg.connect(DATABASE.rsplit("/", 1)[0] + "/postgres", connect_timeout=2) as conn:
            conn.autocommit = True
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'nexus'").fetchone():
                conn.execute("CREATE DATABASE nexus")
    except psycopg.Error:
        return None  # answers, but not to user postgres without a password
    return DATABASE


def _redis() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError:
        return None
    return REDIS


def _broker() -> str | None:
    from kombu import Connection

    try:
        with Connection(BROKER, connect_timeout=2) as conn:
            conn.connect()
    except Exception:  # kombu raises the transport's own errors
        return None
    return BROKER


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    """Before pytest-django reads the settings, which read the URLs."""
    if os.environ.get("NEXUS_TEST_LOCAL_SERVICES", "1") != "0":
        for variable, port, probe in (
            ("DATABASE_URL", 5432, _postgres),
            ("REDIS_URL", 6379, _redis),
            ("NEXUS_TEST_BROKER_URL", 5672, _broker),
        ):
            if not os.environ.get(variable) and answers(port) and (url := probe()):
                os.environ[variable] = url
    return (yield)


def pytest_report_header(config):
    return [
        "services: "
        + ", ".join(
            f"{name} {os.environ.get(variable) or 'missing'}"
            for name, variable in (
                ("Postgres", "DATABASE_URL"),
                ("Redis", "REDIS_URL"),
                ("RabbitMQ", "NEXUS_TEST_BROKER_URL"),
            )
        )
    ]


def pytest_terminal_summary(terminalreporter):
    """One line per missing piece, instead of one per skipped test."""
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        if isinstance(report.longrepr, tuple):
            reasons[report.longrepr[2].removeprefix("Skipped: ")] += 1
    if not reasons:
        return
    terminalreporter.section("not run on this machine")
    for reason, count in sorted(reasons.items()):
        what = reason.removeprefix(PREFIX)
        if reason.startswith(PREFIX) and what in ENABLE:
            tests = "1 test needs" if count == 1 else f"{count} tests need"
            terminalreporter.line(f"{tests} {what}: {ENABLE[what]}")
        else:
            terminalreporter.line(f"{count} skipped: {reason}")
