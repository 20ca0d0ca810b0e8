"""The vote pipeline's SQL: read a batch's state under its polls' locks, then
write what the batch decided with multi-row statements.

Hand-written, on purpose: a lone vote is about ten statements either way,
and the ORM's Python work per statement outweighed the round trip (docs/
BENCHMARKS.md, "The vote path"). The SQL runs unchanged on Postgres and
SQLite (3.35+: RETURNING, upserts); on SQLite the transaction itself holds
the database's write lock, so there is no FOR UPDATE.
"""

import functools
import time
from collections import Counter
from dataclasses import astuple
from datetime import UTC, datetime

from django.db import DatabaseError, connection, transaction

from realtime import publish

from .. import kinds, text
from ..kinds import Mark
from ..models import (
    ACCEPTS_VOTES_PARAMS,
    ACCEPTS_VOTES_SQL,
    AddressCount,
    Answer,
    Ballot,
    BallotChoice,
    Choice,
    HeldVoter,
    IdempotencyRecord,
    Invite,
    Poll,
    ResultSnapshot,
    SpentChallenge,
    TallyLine,
)
from .batch_decide import BallotState, BallotWrite, Batch, PollState, State

_POLL, _CHOICE, _BALLOT, _MARK = (m._meta.db_table for m in (Poll, Choice, Ballot, BallotChoice))
_INVITE, _ADDRESS = Invite._meta.db_table, AddressCount._meta.db_table
_RECORD, _LINE = IdempotencyRecord._meta.db_table, TallyLine._meta.db_table
_ANSWER, _SPENT = Answer._meta.db_table, SpentChallenge._meta.db_table
_HELD, _SNAPSHOT = HeldVoter._meta.db_table, ResultSnapshot._meta.db_table
_POLL_FIELDS = (
    "status",
    "owner_id",
    "kind",
    "max_choices",
    "scale_min",
    "scale_max",
    "moderation",
    "answers_per_voter",
    "blocked_words",
    "anonymous",
    "allow_vote_change",
    "eligibility",
    "passcode",
    "max_ballots_per_address",
    "challenge",
    "has_held_voters",
)


def _in(values) -> str:
    return ", ".join(["%s"] * len(values))


def load(
    writes: list[BallotWrite], now, *, skip_locked: bool = False, lock_wait: float | None = None
) -> State:
    """Lock the writes' polls (by id: one order for every writer), then read
    their choices, the writers' ballots, invites, address counts and stored
    idempotent answers.

    `skip_locked` (the committer): a poll another transaction holds is not
    waited for; it is named in `State.busy` and its writes are left out.
    `lock_wait` (seconds): wait for held polls, but no longer than this; past
    it the database raises a lock timeout (`is_lock_timeout`)."""
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        if lock_wait is not None and connection.vendor == "postgresql":
            cursor.execute(f"SET LOCAL lock_timeout = {max(1, round(lock_wait * 1000))}")
        polls, busy = _polls(cursor, sorted({w.poll_id for w in writes}), at, skip_locked)
        writes = [w for w in writes if w.poll_id not in busy]
        _lock_keys(cursor, writes)
        ballots = _ballots(cursor, writes, polls)
        return State(
            polls=polls,
            ballots=ballots,
            held=_held(cursor, writes, polls, ballots),
            invites=_invites(cursor, writes),
            address_counts=_address_counts(cursor, writes, polls),
            spent=_spent(cursor, writes, polls),
            records=_records(cursor, writes),
            busy=busy,
        )


def is_lock_timeout(exc: BaseException) -> bool:
    """Did a statement give up waiting for a row lock (Postgres' lock_timeout)?"""
    cause = exc.__cause__ if isinstance(exc, DatabaseError) else exc
    return getattr(cause, "sqlstate", None) == "55P03"  # lock_not_available


def _polls(cursor, poll_ids: list[str], at, skip_locked: bool) -> tuple[dict, set[str]]:
    """Lock the polls, then read their choices in a statement of its own: a
    row lock waited for gives the newest poll row, but rows joined to it
    would come from before the wait (an edit may have replaced the choices).
    With `skip_locked`, also the ids of polls that exist but are locked."""
    features = connection.features  # SQLite: no row locks, the transaction locks
    skip_locked = skip_locked and features.has_select_for_update_skip_locked
    lock = " FOR UPDATE" if features.has_select_for_update else ""
    lock += " SKIP LOCKED" if skip_locked else ""
    columns = ", ".join(_POLL_FIELDS)
    cursor.execute(
        f"SELECT id, {columns}, ({ACCEPTS_VOTES_SQL}) FROM {_POLL}"
        f" WHERE id IN ({_in(poll_ids)}) ORDER BY id{lock}",
        [*ACCEPTS_VOTES_PARAMS(at), *poll_ids],
    )
    polls: dict[str, PollState] = {}
    for row in cursor.fetchall():
        fields = dict(zip(_POLL_FIELDS, row[1:-1], strict=True))
        polls[row[0]] = PollState(Poll(id=row[0], **fields), set(), bool(row[-1]))
    busy: set[str] = set()
    missing = [p for p in poll_ids if p not in polls]
    if skip_locked and missing:
        cursor.execute(f"SELECT id FROM {_POLL} WHERE id IN ({_in(missing)})", missing)
        busy = {row[0] for row in cursor.fetchall()}  # the rest do not exist
    if polls:
        cursor.execute(
            f"SELECT id, poll_id FROM {_CHOICE} WHERE poll_id IN ({_in(polls)})", list(polls)
        )
        for choice_id, poll_id in cursor.fetchall():
            polls[poll_id].choices.add(choice_id)
    return polls, busy


def _lock_keys(cursor, writes) -> None:
    """Idempotency-Keys belong to a voter, not a poll: the same key on two
    polls (two processes' batches) is not kept apart by the poll locks. So
    each key is locked too, after the polls, in one order (Postgres advisory
    locks until commit; SQLite's write lock already serialises batches)."""
    if connection.vendor != "postgresql":
        return
    for scope, key in sorted({(w.voter.key, w.key) for w in writes if w.key}):
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{scope}\n{key}"])


def _ballots(cursor, writes, polls) -> dict[tuple[str, str], BallotState]:
    pairs = {(w.poll_id, w.voter.key): w.voter for w in writes if w.poll_id in polls}
    if not pairs:
        return {}
    poll_ids, keys = sorted({p for p, _ in pairs}), sorted({k for _, k in pairs})
    cursor.execute(
        f"SELECT id, poll_id, voter_key, created_at, quarantine_id FROM {_BALLOT}"
        f" WHERE poll_id IN ({_in(poll_ids)}) AND voter_key IN ({_in(keys)})",
        [*poll_ids, *keys],
    )
    ballots: dict[tuple[str, str], BallotState] = {}
    for ballot_id, poll_id, key, created_at, quarantine in cursor.fetchall():
        if (poll_id, key) in pairs:
            ballots[(poll_id, key)] = BallotState(
                poll_id,
                pairs[(poll_id, key)],
                ballot_id,
                created_at=_aware(created_at),
                quarantine=quarantine,
            )
    if ballots:
        ids = {b.original_id: b for b in ballots.values() if b.original_id is not None}
        marks: dict[int, set[Mark]] = {i: set() for i in ids}
        cursor.execute(
            f"SELECT ballot_id, choice_id, value FROM {_MARK} WHERE ballot_id IN ({_in(ids)})",
            list(ids),
        )
        for ballot_id, choice_id, value in cursor.fetchall():
            marks[ballot_id].add((choice_id, value))
        for ballot_id, ballot in ids.items():
            ballot.original_marks = ballot.final_marks = frozenset(marks[ballot_id])
        texts = [i for i, b in ids.items() if polls[b.poll_id].poll.kind == Poll.Kind.TEXT]
        if texts:
            cursor.execute(
                f"SELECT id, ballot_id, words, state FROM {_ANSWER}"
                f" WHERE ballot_id IN ({_in(texts)})",
                texts,
            )
            for answer_id, ballot_id, words, state in cursor.fetchall():
                ids[ballot_id].answers[answer_id] = (words, state)
    return ballots


def _held(cursor, writes, polls, ballots) -> dict[tuple[str, str], int]:
    """The quarantines that voters without a ballot carry (HeldVoter), read
    only in polls that have any."""
    wanted = {
        (w.poll_id, w.voter.key)
        for w in writes
        if w.poll_id in polls
        and polls[w.poll_id].poll.has_held_voters
        and (w.poll_id, w.voter.key) not in ballots
    }
    rows = _select_pairs(cursor, _HELD, ("poll_id", "voter_key"), ("quarantine_id",), wanted)
    return {(p, k): q for p, k, q in rows}


def _aware(value) -> datetime:
    """A timestamp column as the ORM reads it (SQLite returns naive UTC text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _invites(cursor, writes) -> set[tuple[str, str]]:
    wanted = {(w.poll_id, w.voter.invite_nonce) for w in writes if w.voter.kind == "invite"}
    rows = _select_pairs(cursor, _INVITE, ("poll_id", "nonce"), (), wanted)
    return {tuple(row) for row in rows}


def _address_counts(cursor, writes, polls) -> dict[tuple[str, str], int]:
    wanted = {
        (w.poll_id, w.address)
        for w in writes
        if w.voter.is_anonymous
        and w.address
        and w.poll_id in polls
        and polls[w.poll_id].poll.max_ballots_per_address
    }
    rows = _select_pairs(cursor, _ADDRESS, ("poll_id", "prefix"), ("ballots",), wanted)
    return {(p, a): n for p, a, n in rows}


def _spent(cursor, writes, polls) -> set[tuple[str, str]]:
    wanted = {
        (w.poll_id, w.challenge.signature)
        for w in writes
        if w.challenge
        and w.challenge.valid
        and w.poll_id in polls
        and polls[w.poll_id].poll.challenge == Poll.Challenge.POW
    }
    return {
        tuple(row) for row in _select_pairs(cursor, _SPENT, ("poll_id", "signature"), (), wanted)
    }


def _records(cursor, writes) -> dict[tuple[str, str], tuple[str, int, str]]:
    wanted = {(w.voter.key, w.key) for w in writes if w.key}
    extra = ("fingerprint", "status_code", "body")
    rows = _select_pairs(cursor, _RECORD, ("scope", "key"), extra, wanted)
    return {(s, k): (f, st, b) for s, k, f, st, b in rows}


def _select_pairs(cursor, table: str, pair: tuple[str, str], extra: tuple, wanted: set) -> list:
    """Rows of `table` whose (pair) is in `wanted`: one statement, none if empty."""
    if not wanted:
        return []
    firsts, seconds = sorted({a for a, _ in wanted}), sorted({b for _, b in wanted})
    cursor.execute(
        f"SELECT {', '.join((*pair, *extra))} FROM {table}"
        f" WHERE {pair[0]} IN ({_in(firsts)}) AND {pair[1]} IN ({_in(seconds)})",
        [*firsts, *seconds],
    )
    return [row for row in cursor.fetchall() if (row[0], row[1]) in wanted]


# --- writing the batch ---------------------------------------------------------------


def apply(batch: Batch) -> None:
    """Write what `batch` decided. Runs inside its transaction."""
    at = connection.ops.adapt_datetimefield_value(batch.now)
    changed = [b for b in batch.state.ballots.values() if _differs(b)]
    with connection.cursor() as cursor:
        _answers_removed(cursor, changed)  # before their ballots
        _ballot_rows(cursor, changed, at)
        _answers_added(cursor, changed, at)
        _tallies(cursor, changed, batch.touched, at)
        _held_voters(cursor, changed)
        _lines(cursor, changed, batch.state.polls)
        _invites_used(cursor, batch.invites_used, at)
        _addresses(cursor, batch.address_added, batch.state.address_counts)
        _spend(cursor, batch.spent_added)
        _store_records(cursor, batch.new_records, at)
    for poll_id in sorted(batch.touched):
        transaction.on_commit(functools.partial(publish.poll_changed, poll_id), robust=True)


def _differs(ballot: BallotState) -> bool:
    return (
        ballot.new_row
        or ballot.final_marks != ballot.original_marks
        or bool(ballot.answers_removed or ballot.answers_added)
    )


def _answers_removed(cursor, changed: list[BallotState]) -> None:
    gone = sorted(i for b in changed for i in b.answers_removed)
    if gone:
        cursor.execute(f"DELETE FROM {_ANSWER} WHERE id IN ({_in(gone)})", gone)


def _answers_added(cursor, changed: list[BallotState], at) -> None:
    rows = [(b.poll_id, b.id, *answer, at) for b in changed for answer in b.answers_added]
    if rows:
        cursor.execute(
            f"INSERT INTO {_ANSWER} (poll_id, ballot_id, text, words, state, created_at) VALUES "
            + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows)),
            [value for row in rows for value in row],
        )


def _ballot_rows(cursor, changed: list[BallotState], at) -> None:
    """Replaced and withdrawn rows go (marks first), new rows come, changed
    ones get their marks again: marks are rewritten whole per ballot."""
    gone = [
        b.original_id for b in changed if b.original_id and (b.new_row or b.final_marks is None)
    ]
    rewritten = [
        b.original_id for b in changed if b.original_id and not b.new_row and b.final_marks
    ]
    if gone or rewritten:
        ids = gone + rewritten
        cursor.execute(f"DELETE FROM {_MARK} WHERE ballot_id IN ({_in(ids)})", ids)
    if gone:
        cursor.execute(f"DELETE FROM {_BALLOT} WHERE id IN ({_in(gone)})", gone)
    if rewritten:
        cursor.execute(
            f"UPDATE {_BALLOT} SET updated_at = %s WHERE id IN ({_in(rewritten)})", [at, *rewritten]
        )
    for b in changed:
        b.id = b.original_id if not b.new_row else None
    new = [b for b in changed if b.new_row]
    if new:
        rows = [
            (b.poll_id, b.voter.key, b.voter.account_id, at, at, *astuple(b.signals))
            + (b.final_quarantine,)
            for b in new
        ]
        cursor.execute(
            f"INSERT INTO {_BALLOT} (poll_id, voter_key, user_id, created_at, updated_at,"
            " net, agent, voter_age, quarantine_id)"
            f" VALUES {', '.join(['(%s, %s, %s, %s, %s, %s, %s, %s, %s)'] * len(rows))}"
            " RETURNING id, poll_id, voter_key",
            [value for row in rows for value in row],
        )
        inserted = {(p, k): i for i, p, k in cursor.fetchall()}
        for b in new:
            b.id = inserted[(b.poll_id, b.voter.key)]
    marks = [
        (b.id, b.poll_id, c, v) for b in changed if b.final_marks for c, v in sorted(b.final_marks)
    ]
    if marks:
        cursor.execute(
            f"INSERT INTO {_MARK} (ballot_id, poll_id, choice_id, value) VALUES "
            + ", ".join(["(%s, %s, %s, %s)"] * len(marks)),
            [value for mark in marks for value in mark],
        )


def _tallies(cursor, changed: list[BallotState], touched: set[str], at) -> None:
    """One counter update per choice and one version step per poll. A
    quarantined ballot counts nowhere but in the poll's `quarantined`."""
    votes: Counter = Counter()
    totals: Counter = Counter()
    held: Counter = Counter()
    for b in changed:
        if b.counted_after:
            votes.update(c for c, _ in b.final_marks or ())
        if b.counted_before:
            votes.subtract(c for c, _ in b.original_marks)
        totals[b.poll_id] += b.counted_after - b.counted_before
        held[b.poll_id] += b.held_after - b.held_before
    votes = Counter({c: d for c, d in votes.items() if d})
    if votes:
        cases = " ".join(["WHEN %s THEN %s"] * len(votes))
        cursor.execute(
            f"UPDATE {_CHOICE} SET votes = votes + CASE id {cases} END WHERE id IN ({_in(votes)})",
            [*(v for item in votes.items() for v in item), *votes],
        )
    if touched:
        polls = sorted(touched)
        cases = " ".join(["WHEN %s THEN %s"] * len(polls))
        if any(held.values()):  # a quarantined voter withdrew or came back: rare
            cursor.execute(
                f"UPDATE {_POLL} SET quarantined = quarantined + CASE id {cases} END"
                f" WHERE id IN ({_in(polls)})",
                [*(v for p in polls for v in (p, held[p])), *polls],
            )
        step = (
            f"UPDATE {_POLL} SET version = version + 1, updated_at = %s,"
            f" total_votes = total_votes + CASE id {cases} END WHERE id IN ({_in(polls)})"
        )
        params = [at, *(v for p in polls for v in (p, totals[p])), *polls]
        if connection.vendor == "postgresql":  # one round trip: the snapshot reads RETURNING
            step = f"WITH p AS ({step} RETURNING id, version, total_votes) "
            cursor.execute(step + _snapshot_upsert("p"), [*params, _second()])
        else:  # SQLite has no UPDATE inside WITH
            cursor.execute(step, params)
            snapshots_write(cursor, polls)


def snapshots_write(cursor, poll_ids: list[str]) -> None:
    """Upsert the polls' ResultSnapshot for this second from their counters
    as this transaction left them: one statement."""
    source = f"{_POLL} p WHERE p.id IN ({_in(poll_ids)})"
    cursor.execute(_snapshot_upsert(source), [_second(), *poll_ids])


def _second() -> int:
    """Read under the polls' locks, so a poll's seconds and versions rise
    together (and an upsert never takes a row back to an older version)."""
    return int(time.time())


def _snapshot_upsert(source: str) -> str:
    """Every choice's count as "id:votes,...", from `source` (aliased p)."""
    aggregate = "string_agg" if connection.vendor == "postgresql" else "group_concat"
    return (
        f"INSERT INTO {_SNAPSHOT} (poll_id, second, version, total_votes, counts)"
        f" SELECT p.id, %s, p.version, p.total_votes, COALESCE((SELECT {aggregate}("
        f"CAST(c.id AS TEXT) || ':' || CAST(c.votes AS TEXT), ',') FROM {_CHOICE} c"
        f" WHERE c.poll_id = p.id), '') FROM {source}"
        " ON CONFLICT (poll_id, second) DO UPDATE SET version = excluded.version,"
        " total_votes = excluded.total_votes, counts = excluded.counts"
        f" WHERE {_SNAPSHOT}.version < excluded.version"
    )


def _held_voters(cursor, changed: list[BallotState]) -> None:
    """Voters who withdrew a quarantined ballot stay held (HeldVoter), so a
    ballot they cast again starts quarantined."""
    rows = sorted({(b.poll_id, b.voter.key, b.quarantine) for b in changed if b.leaves_held})
    if not rows:
        return
    cursor.execute(
        f"INSERT INTO {_HELD} (poll_id, voter_key, quarantine_id) VALUES "
        + ", ".join(["(%s, %s, %s)"] * len(rows))
        + " ON CONFLICT (poll_id, voter_key) DO UPDATE SET quarantine_id = excluded.quarantine_id",
        [value for row in rows for value in row],
    )
    polls = sorted({p for p, _, _ in rows})
    cursor.execute(
        f"UPDATE {_POLL} SET has_held_voters = %s WHERE id IN ({_in(polls)})", [True, *polls]
    )


def _lines(cursor, changed: list[BallotState], polls: dict[str, PollState]) -> None:
    """The rating, ranking and text polls' cached counts (TallyLine): one upsert."""
    delta: Counter = Counter()
    for b in changed:
        kind = polls[b.poll_id].poll.kind
        if b.counted_after:
            for key, n in kinds.lines(kind, b.final_marks or ()).items():
                delta[(b.poll_id, key)] += n
            for _, words, state in b.answers_added:
                for key in text.lines(words, state):
                    delta[(b.poll_id, key)] += 1
        if b.counted_before:
            for key, n in kinds.lines(kind, b.original_marks).items():
                delta[(b.poll_id, key)] -= n
            for answer_id in b.answers_removed:
                for key in text.lines(*b.answers[answer_id]):
                    delta[(b.poll_id, key)] -= 1
    lines_apply(cursor, delta)


def lines_apply(cursor, delta: Counter) -> None:
    """Add {(poll, key): n} to the polls' TallyLine counts; one upsert."""
    rows = [(p, k, n) for (p, k), n in sorted(delta.items()) if n]
    if rows:
        cursor.execute(
            f"INSERT INTO {_LINE} (poll_id, key, count) VALUES "
            + ", ".join(["(%s, %s, %s)"] * len(rows))
            + f" ON CONFLICT (poll_id, key) DO UPDATE SET count = {_LINE}.count + excluded.count",
            [value for row in rows for value in row],
        )
    # A line down to zero goes: a voter changing their ranking over and over
    # must not leave a row per order they tried, for every read to skip.
    lowered = sorted({(p, k) for p, k, n in rows if n < 0})
    for poll_id in sorted({p for p, _ in lowered}):
        keys = [k for p, k in lowered if p == poll_id]
        cursor.execute(
            f"DELETE FROM {_LINE} WHERE poll_id = %s AND count = 0 AND key IN ({_in(keys)})",
            [poll_id, *keys],
        )


def _invites_used(cursor, used: set[tuple[str, str]], at) -> None:
    for poll_id in sorted({p for p, _ in used}):
        nonces = sorted(n for p, n in used if p == poll_id)
        cursor.execute(
            f"UPDATE {_INVITE} SET used_at = %s WHERE poll_id = %s AND used_at IS NULL"
            f" AND nonce IN ({_in(nonces)})",
            [at, poll_id, *nonces],
        )


def _addresses(cursor, added: Counter, counts: dict[tuple[str, str], int]) -> None:
    rows = [(p, a, counts.get((p, a), 0) + n) for (p, a), n in sorted(added.items()) if n]
    if rows:
        cursor.execute(
            f"INSERT INTO {_ADDRESS} (poll_id, prefix, ballots) VALUES "
            + ", ".join(["(%s, %s, %s)"] * len(rows))
            + " ON CONFLICT (poll_id, prefix) DO UPDATE SET ballots = excluded.ballots",
            [value for row in rows for value in row],
        )


def _spend(cursor, spent: dict) -> None:
    adapt = connection.ops.adapt_datetimefield_value
    rows = [(p, s, adapt(proof.expires_at)) for (p, s), proof in sorted(spent.items())]
    if rows:
        cursor.execute(
            f"INSERT INTO {_SPENT} (poll_id, signature, expires_at) VALUES "
            + ", ".join(["(%s, %s, %s)"] * len(rows)),
            [value for row in rows for value in row],
        )


def _store_records(cursor, records: list[tuple[str, str, str, int, str]], at) -> None:
    if records:
        cursor.execute(
            f"INSERT INTO {_RECORD} (scope, key, fingerprint, status_code, body, created_at)"
            " VALUES " + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(records)),
            [value for record in records for value in (*record, at)],
        )
