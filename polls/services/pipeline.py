"""The vote pipeline: every ballot write (a first ballot, a change, a
withdrawal; from REST and GraphQL) is committed here, in batches.

A request hands its write to this process's committer thread and waits for
its own outcome. The committer takes whatever writes have arrived (a lone
vote is not delayed: no timer, at most MAX_BATCH) and commits them in one
transaction: it locks their polls, reads what it needs in a few statements,
decides each write in Python in arrival order, then writes the batch with
multi-row statements (batch_sql.py), one counter update per choice and one
version step per poll. Only then are the waiting requests answered: a 2xx
means committed. If the batch fails as a whole, each write is retried alone,
so one bad write cannot fail the others.

Lock order, for every writer: the poll rows (by id), then their ballot,
invite and address rows, then their choices. Everything a write is judged
by is read after its poll is locked, so an owner's edit (which also locks
the poll first) is either wholly before or wholly after it. The committer
never waits long for a poll row another transaction holds: at most
LOCK_WAIT, then that poll's writes are parked, the next batch skips it
(SKIP LOCKED) so every other poll goes on, and the parked writes wait again.

Inside an open transaction (tests, or a caller's atomic block) the batch of
one runs in the caller's thread, on the caller's connection: the same code.
"""

import contextlib
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from nexus.outage import DATABASE, NotTried, database_unavailable

from . import batch_sql
from .batch_decide import BallotWrite, Batch, VoteOutcome

logger = logging.getLogger("nexus.votes")

MAX_BATCH = 256
LOCK_WAIT = 0.1  # seconds the committer waits at a time for polls locked elsewhere

__all__ = ["BallotWrite", "VoteOutcome", "commit"]


def commit(write: BallotWrite) -> VoteOutcome:
    """Commit one write through the pipeline; raises its error."""
    if connection.in_atomic_block or not settings.NEXUS_VOTE_BATCHING:
        result = commit_batch([write])[0]
    else:
        # The committer's connection comes from the same pool as this
        # thread's: hand ours back before waiting, or a pool full of
        # waiting requests (signed-in ones hold a connection) starves it.
        connection.close()
        result = _committer().submit(write)
    if isinstance(result, BaseException):
        raise result
    return result


class PollBusy(Exception):
    """The write's poll is locked by another transaction (skip_busy only)."""


def commit_batch(
    writes: list[BallotWrite], *, skip_busy: bool = False, lock_wait: float | None = None
) -> list[VoteOutcome | Exception]:
    """One transaction for the writes; an outcome or an error for each.

    `skip_busy`: writes on a poll another transaction holds are not waited
    for; they come back as PollBusy, uncommitted, to be tried again.
    `lock_wait`: wait for such polls instead, at most this many seconds;
    past that, every write comes back as PollBusy."""
    try:
        with transaction.atomic():
            now = timezone.now()
            state = batch_sql.load(writes, now, skip_locked=skip_busy, lock_wait=lock_wait)
            batch = Batch([w for w in writes if w.poll_id not in state.busy], state, now)
            decided = iter(batch.decide())
            batch_sql.apply(batch)
        return [PollBusy() if w.poll_id in state.busy else next(decided) for w in writes]
    except Exception as exc:
        if lock_wait is not None and batch_sql.is_lock_timeout(exc):
            return [PollBusy() for _ in writes]
        if len(writes) == 1 or database_unavailable(exc):
            # Alone, each would wait out the pool's timeout again: a request
            # must have its 503 within two seconds.
            return [exc] * len(writes)
        logger.warning("A batch of %d failed; committing each alone", len(writes), exc_info=True)
        return [commit_batch([write], skip_busy=skip_busy)[0] for write in writes]


@dataclass
class _Pending:
    write: BallotWrite
    future: Future


class Committer:
    """This process's committer: one thread, one connection.

    It never waits long for a poll's row lock: a poll another transaction
    holds (an owner's edit, a reset) would stall every poll's votes behind
    it. A batch waits for its polls' locks at most LOCK_WAIT; the usual
    holder is the other worker process's committer, a few milliseconds from
    its commit, and waiting for it costs Postgres nothing. Past LOCK_WAIT
    the batch's writes are parked, and the next batch, if other writes have
    arrived, skips held polls (SKIP LOCKED): the others commit, the held
    polls' writes stay parked and wait again with the batch after.
    """

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self.in_flight = 0  # writes in the batch being committed
        self.parked: list[_Pending] = []  # writes whose poll was held, in arrival order
        self.waiting = 0  # writes parked by the last batch
        self.timed_out = False  # the last batch gave up waiting for a lock
        self.thread = threading.Thread(target=self._run, name="nexus-votes", daemon=True)
        self.thread.start()

    def submit(self, write: BallotWrite) -> VoteOutcome | Exception:
        pending = _Pending(write, Future())
        self.queue.put(pending)
        return pending.future.result()

    def _run(self) -> None:
        while True:
            skip = self.timed_out and not self.queue.empty()  # others wait behind a held poll
            batch, self.parked = self.parked, []
            if not batch:
                batch.append(self.queue.get())  # idle: wait for a write
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            self._commit(batch, skip)

    def _commit(self, batch: list[_Pending], skip: bool) -> None:
        results: list[VoteOutcome | Exception]
        self.in_flight = len(batch)
        try:
            if DATABASE.skipping():  # it just failed: answer 503 now, not after a pool timeout
                raise NotTried("The database is not answering.")
            close_old_connections()  # a broken or expired connection is replaced
            writes = [p.write for p in batch]
            if skip:
                results = commit_batch(writes, skip_busy=True)
            else:
                results = commit_batch(writes, lock_wait=LOCK_WAIT)
        except Exception as exc:  # never leave a request waiting
            if not database_unavailable(exc):
                logger.exception("The vote committer failed a batch of %d", len(batch))
            results = [exc] * len(batch)
        failure = next(
            (r for r in results if isinstance(r, Exception) and database_unavailable(r)), None
        )
        if failure is not None:
            DATABASE.failed(failure)
        elif results:
            DATABASE.ok()
        self.in_flight = 0
        for pending, result in zip(batch, results, strict=True):
            if isinstance(result, PollBusy):
                self.parked.append(pending)
            else:
                pending.future.set_result(result)
        self.waiting = len(self.parked)
        self.timed_out = bool(self.parked) and not skip
        if self.queue.empty() and not self.parked:  # idle: hand the connection back
            with contextlib.suppress(Exception):
                connection.close()


_lock = threading.Lock()
_instance: Committer | None = None


def _committer() -> Committer:
    global _instance
    with _lock:
        if _instance is None or not _instance.thread.is_alive():
            _instance = Committer()
        return _instance
