"""A database that does not answer is a 503 `unavailable` with Retry-After,
never a 500, on the API, GraphQL and pages; one warning per outage."""

import logging
import select

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError
from django.test import Client

from nexus import outage
from polls import selectors

pytestmark = pytest.mark.django_db


class Sqlstate(Exception):
    def __init__(self, sqlstate):
        self.sqlstate = sqlstate


def db_error(sqlstate=None, message="connection failed: server closed the connection"):
    error = OperationalError(message)
    error.__cause__ = Sqlstate(sqlstate) if sqlstate else None
    return error


@pytest.fixture(autouse=True)
def fresh_outages(monkeypatch):
    for dependency in (outage.DATABASE, outage.RATE_LIMITS):
        monkeypatch.setattr(dependency, "failed_at", None)


@pytest.fixture
def database_down(monkeypatch):
    def down(**kwargs):
        raise db_error()

    monkeypatch.setattr(selectors, "results_get", down)
    monkeypatch.setattr(selectors, "poll_get", down)


def test_the_api_answers_503_with_retry_after(api, poll, database_down):
    response = api.get(f"/api/polls/{poll.id}/results/")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response.json() == {
        "code": "unavailable",
        "detail": "The database is not answering. Try again in a moment.",
    }


@pytest.mark.parametrize(
    ("sqlstate", "status"),
    [("08006", 503), ("57P01", 503), (None, 503), ("55P03", 500), ("40P01", 500)],
)
def test_only_connection_errors_count_as_an_outage(api, poll, monkeypatch, sqlstate, status):
    """A lost connection or a shutting-down server is an outage; a lock
    timeout or a deadlock that escaped is a bug, and stays a 500."""

    def fail(**kwargs):
        raise db_error(sqlstate, "some database error")

    monkeypatch.setattr(selectors, "results_get", fail)
    assert api.get(f"/api/polls/{poll.id}/results/").status_code == status


def test_graphql_says_unavailable(api, poll, database_down):
    query = "query($id: ID!) { results(pollId: $id) { totalVotes } }"
    body = api.post("/graphql/", {"query": query, "variables": {"id": poll.id}}, format="json")
    error = body.json()["errors"][0]
    assert error["extensions"]["code"] == "unavailable"
    assert "server_error" not in body.content.decode()


def test_pages_say_back_in_a_moment_when_the_session_cannot_be_read(monkeypatch):
    """The session is read in middleware, before any view: Django's 500
    handler turns the outage into a friendly 503 page that needs no database."""
    browser = Client(raise_request_exception=False)
    browser.cookies["sessionid"] = "a" * 32

    def load(self):
        raise db_error()

    monkeypatch.setattr(SessionStore, "load", load)
    response = browser.get("/dashboard/")  # signed-in only: reads the session
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert b"Back in a moment" in response.content
    assert b'http-equiv="refresh"' in response.content


def test_an_outage_is_one_warning_not_one_per_request(api, poll, database_down, caplog):
    caplog.set_level(logging.WARNING)
    for _ in range(20):
        assert api.get(f"/api/polls/{poll.id}/results/").status_code == 503
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage().split(" (")[0] for r in warnings] == ["database unavailable"]
    assert not any(r.exc_info for r in warnings)


def test_rate_limits_fail_open_with_one_warning_and_say_when_they_are_back(
    api, poll, monkeypatch, caplog
):
    from polls import throttles

    caplog.set_level(logging.WARNING)
    broken = {"on": True}
    real = throttles._incr_all

    def incr_all(pairs):
        if broken["on"]:
            raise ConnectionError("Redis is gone")
        return real(pairs)

    monkeypatch.setattr(throttles, "_incr_all", incr_all)
    monkeypatch.setattr(outage, "RETRY", 0.0)  # try Redis on every request here
    url, body = f"/api/polls/{poll.id}/votes/", {"choices": [poll.choices.first().id]}
    for _ in range(10):
        assert api.post(url, body, format="json").status_code == 201  # counted, not refused
        api.cookies.clear()
    broken["on"] = False
    assert api.post(url, body, format="json").status_code == 201
    first, last = [r.getMessage() for r in caplog.records if r.name == "nexus.outage"]
    assert first.startswith("rate-limit store (Redis) unavailable (ConnectionError: Redis is gone)")
    assert last.startswith("rate-limit store (Redis) back after")
    assert last.endswith("(10 errors)")


def test_while_the_store_is_down_requests_do_not_wait_on_it(api, poll, monkeypatch):
    from polls import throttles

    tries = []

    def incr_all(pairs):
        tries.append(1)
        raise ConnectionError("Redis is gone")

    monkeypatch.setattr(throttles, "_incr_all", incr_all)
    choice = poll.choices.first().id
    for _ in range(5):
        api.post(f"/api/polls/{poll.id}/votes/", {"choices": [choice]}, format="json")
        api.cookies.clear()
    assert len(tries) == 1  # the next try waits for outage.RETRY to pass


@pytest.mark.django_db(transaction=True)
def test_the_committer_answers_503_at_once_while_the_database_is_known_down(
    api, poll, monkeypatch, caplog, settings
):
    """Right after a failed try, writes are refused without waiting for the
    pool's timeout; the next real try comes RETRY seconds after the failure."""
    import time

    settings.NEXUS_VOTE_BATCHING = True
    caplog.set_level(logging.WARNING)
    url, body = f"/api/polls/{poll.id}/votes/", {"choices": [poll.choices.first().id]}
    outage.DATABASE.failed(db_error())
    began = time.monotonic()
    refused = api.post(url, body, format="json")
    assert time.monotonic() - began < 0.5
    assert (refused.status_code, refused.json()["code"]) == (503, "unavailable")
    monkeypatch.setattr(outage, "RETRY", 0.0)  # the next try asks the database again
    assert poll.ballots.count() == 0
    api.cookies.clear()
    assert api.post(url, body, format="json").status_code == 201
    assert poll.ballots.count() == 1
    assert outage.DATABASE.failed_at is None  # and the outage is over
    assert any("database back after" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_postgres_connections_are_not_asked_for_right_after_a_failure(monkeypatch):
    """The backend (nexus/db/postgresql) refuses a new connection at once for
    a second after one failed, instead of making a thread wait out the pool."""
    from django.db import connection

    from tests.services import require_service

    require_service(connection.vendor == "postgresql", "Postgres")
    connection.close()
    outage.DATABASE.failed(db_error())
    with pytest.raises(outage.NotTried):
        connection.ensure_connection()
    monkeypatch.setattr(outage, "RETRY", 0.0)
    connection.ensure_connection()  # the next real try connects
    assert connection.is_usable()


@pytest.mark.django_db(transaction=True)
def test_a_pooled_connection_is_checked_only_when_the_server_has_spoken(monkeypatch):
    """A quiet idle connection is handed out without a round trip; one the
    server ended while it sat in the pool (a restart) fails the check and
    is replaced."""
    import psycopg
    from django.db import connection
    from psycopg_pool import ConnectionPool

    from nexus.db.postgresql.base import check_connection
    from tests.services import require_service

    require_service(connection.vendor == "postgresql", "Postgres")
    queries = []
    real_check = ConnectionPool.check_connection
    monkeypatch.setattr(ConnectionPool, "check_connection", lambda c: queries.append(real_check(c)))
    connection.close()
    connection.close_pool()  # built again, after the spy is in place
    for _ in range(3):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
        connection.close()  # back to the pool
    assert queries == []

    conn = psycopg.connect(**connection.get_connection_params(), autocommit=True)
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])
    poller = select.poll()
    poller.register(conn.pgconn.socket, select.POLLIN)
    assert poller.poll(5000), "the server's goodbye never arrived"
    with pytest.raises(psycopg.OperationalError):
        check_connection(conn)  # psycopg's check ran, and failed
