"""Outages of what Nexus leans on (the database, Redis): one warning when
one starts, one line when it ends, not a traceback per request.

`Dependency.failed` is called wherever an error is answered or ignored
(the database's 503, the rate limits failing open); `ok` where a call
worked. Without an `ok`, an outage ends after QUIET seconds with no failure.
While a dependency is down, `skipping` is true for RETRY seconds after each
failure, so callers that can do without it (the rate limits) do not wait on
it with every request. Written here rather than taken from a circuit-breaker
library: it is this log rule and one timestamp, per process.
"""

import logging
import threading
import time

from django.db import InterfaceError, OperationalError

logger = logging.getLogger("nexus.outage")

QUIET = 10.0
RETRY = 1.0


class Dependency:
    def __init__(self, name: str):
        self.name = name
        self.failed_at: float | None = None  # monotonic, the latest failure
        self.since = 0.0
        self.failures = 0
        self.lock = threading.Lock()

    def failed(self, exc: BaseException) -> None:
        if isinstance(exc, NotTried):  # no news: it was not asked
            return
        now = time.monotonic()
        with self.lock:
            starts = self.failed_at is None or now - self.failed_at > QUIET
            if starts:
                self.since, self.failures = now, 0
            self.failed_at, self.failures = now, self.failures + 1
        if starts:
            logger.warning(
                "%s unavailable (%s: %s); further errors are not logged until it is back",
                self.name,
                type(exc).__name__,
                str(exc).strip().splitlines()[0] if str(exc).strip() else "",
            )

    def ok(self) -> None:
        if self.failed_at is None:  # the hot path: one attribute read
            return
        with self.lock:
            if self.failed_at is None:
                return
            lasted, failures = time.monotonic() - self.since, self.failures
            self.failed_at = None
        logger.warning("%s back after %.1f s (%d errors)", self.name, lasted, failures)

    def skipping(self) -> bool:
        failed_at = self.failed_at
        return failed_at is not None and time.monotonic() - failed_at < RETRY


class NotTried(OperationalError):
    """Raised instead of asking a dependency that failed a moment ago (see
    `Dependency.skipping`); it does not push the next try further away."""


GONE = {"57P01", "57P02", "57P03"}  # admin shutdown, crash shutdown, cannot connect now

DATABASE = Dependency("database")
RATE_LIMITS = Dependency("rate-limit store (Redis)")
CHANNEL_LAYER = Dependency("channel layer (Redis)")
BROKER = Dependency("broker")


def database_unavailable(exc: BaseException | None) -> bool:
    """An error that means the database is not answering (down, restarting,
    refusing, or no pooled connection free in time), not a bug: Postgres's
    connection errors (SQLSTATE class 08, shutdown 57P01-57P03) and the
    pool's timeout, which has no SQLSTATE."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in GONE


class DropDatabaseOutages(logging.Filter):
    """On `django.request`: a request that failed because the database is
    down was answered 503 (Nexus answers 503 for nothing else) and counted
    in DATABASE's one warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 503:
            return False
        return not (record.exc_info and database_unavailable(record.exc_info[1]))
