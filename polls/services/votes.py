"""Votes: a ballot cast, changed or withdrawn, and the tally and version
moved in the same transaction.

A first ballot in an open poll takes the fast path (hand-written SQL, the
poll row locked last); anything else the locked path (the poll row locked
first), which also gives the precise error.
"""

from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from nexus.errors import NotFound

from ..eligibility import voter_admit
from ..errors import (
    AddressLimit,
    AlreadyVoted,
    InvalidChoice,
    NotInvited,
    PollClosed,
    VoteChangeNotAllowed,
)
from ..models import (
    ACCEPTS_VOTES_PARAMS,
    ACCEPTS_VOTES_SQL,
    AddressCount,
    Ballot,
    BallotChoice,
    Choice,
    Invite,
    Poll,
)
from ..voters import Voter
from .common import broadcast_after_commit


@dataclass(frozen=True)
class VoteOutcome:
    ballot: Ballot
    choice_ids: list[int]
    created: bool


def vote_cast(
    *,
    poll_id: str,
    voter: Voter,
    choice_ids: list[int],
    passcode: str | None = None,
    address: str = "",
) -> VoteOutcome:
    """Record the voter's ballot, or change it where the poll allows.

    `address` is the client's address prefix (polls.voters.address_prefix),
    counted against the poll's cap for anonymous first ballots. A first
    ballot in an open poll takes the fast path; anything else (a change, a
    closed, draft or vanished poll, a poll edited meanwhile) the locked
    path, which also gives the precise error.
    """
    try:
        with transaction.atomic():
            return _first_ballot(poll_id, voter, choice_ids, passcode, address)
    except _TakeLockedPath:
        return _vote_cast_locked(
            poll_id=poll_id, voter=voter, choice_ids=choice_ids, passcode=passcode, address=address
        )


class _TakeLockedPath(Exception):
    """Raised inside the fast path's transaction: it rolls back, nothing was written."""


_POLL, _CHOICE, _BALLOT, _MARK = (m._meta.db_table for m in (Poll, Choice, Ballot, BallotChoice))
_INVITE, _ADDRESS = Invite._meta.db_table, AddressCount._meta.db_table
# What a first ballot relies on, read by its first statement and re-checked by
# the statement that locks the poll row: an edit that committed in between
# (kind, choices, eligibility) sends the ballot down the locked path.
_RULES = ("kind", "max_choices", "anonymous", "eligibility", "passcode", "max_ballots_per_address")

# Lock order, for every writer: the poll row, then its invite and address
# rows, then its choice rows. A first ballot inserts its own ballot row before
# it locks the poll row: that row is this voter's alone, and another request
# of the same voter waits on the insert before it takes any lock.

# Hand-written SQL, on purpose: with the ORM a first ballot was 10 statements
# and the poll row stayed locked for all of them, while the ORM's Python work
# per statement outweighed the round trip (docs/BENCHMARKS.md, "The vote
# path"). Here a first ballot is 5 statements plus BEGIN/COMMIT (one more for
# an invite, one for the address cap), the poll row is locked only by the
# last ones, and the SQL runs unchanged on Postgres and SQLite (INSERT ... ON
# CONFLICT ... RETURNING needs SQLite 3.35).
_POLL_AND_CHOICES = (
    f"SELECT p.status, p.owner_id, {', '.join('p.' + f for f in _RULES)}, c.id"
    f" FROM {_POLL} p LEFT JOIN {_CHOICE} c ON c.poll_id = p.id WHERE p.id = %s"
)
_BALLOT_INSERT = (
    f"INSERT INTO {_BALLOT} (poll_id, voter_key, user_id, created_at, updated_at)"
    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (poll_id, voter_key) DO NOTHING RETURNING id"
)
# Locks the poll row, and only if the poll still takes votes now under the
# rules this ballot was checked against: a close or an edit that committed
# meanwhile is seen here.
_POLL_COUNT_VOTE = (
    f"UPDATE {_POLL} SET version = version + 1, total_votes = total_votes + 1,"
    f" updated_at = %s WHERE id = %s AND {ACCEPTS_VOTES_SQL}"
    + "".join(f" AND {field} = %s" for field in _RULES)
)
_INVITE_USE = (
    f"UPDATE {_INVITE} SET used_at = COALESCE(used_at, %s) WHERE poll_id = %s AND nonce = %s"
)
# Atomic: the row lock makes concurrent ballots from one address take turns,
# and a full count updates nothing (no row returned).
_ADDRESS_COUNT = (
    f"INSERT INTO {_ADDRESS} (poll_id, prefix, ballots) VALUES (%s, %s, 1)"
    f" ON CONFLICT (poll_id, prefix) DO UPDATE SET ballots = {_ADDRESS}.ballots + 1"
    f" WHERE {_ADDRESS}.ballots < %s RETURNING ballots"
)


def _first_ballot(
    poll_id: str, voter: Voter, choice_ids: list[int], passcode: str | None, address: str
) -> VoteOutcome:
    with connection.cursor() as cursor:
        cursor.execute(_POLL_AND_CHOICES, [poll_id])
        rows = cursor.fetchall()
        if not rows or rows[0][0] != Poll.Status.OPEN:
            raise _TakeLockedPath()
        rules = dict(zip(_RULES, rows[0][2:-1], strict=True))
        poll = Poll(id=poll_id, status=rows[0][0], owner_id=rows[0][1], **rules)
        voter_admit(poll, voter, passcode)
        chosen = _checked_choices(poll, {row[-1] for row in rows} - {None}, choice_ids)

        now = timezone.now()
        at = connection.ops.adapt_datetimefield_value(now)
        cursor.execute(_BALLOT_INSERT, [poll_id, voter.key, voter.account_id, at, at])
        inserted = cursor.fetchone()
        if inserted is None:  # this voter has a ballot: a change
            raise _TakeLockedPath()
        ballot = Ballot(
            id=inserted[0],
            poll_id=poll_id,
            voter_key=voter.key,
            user_id=voter.account_id,
            created_at=now,
            updated_at=now,
        )
        marks = sorted(chosen)
        cursor.execute(
            f"INSERT INTO {_MARK} (ballot_id, poll_id, choice_id) VALUES "
            + ", ".join(["(%s, %s, %s)"] * len(marks)),
            [value for choice_id in marks for value in (ballot.id, poll_id, choice_id)],
        )
        params = [at, poll_id, *ACCEPTS_VOTES_PARAMS(at), *rules.values()]
        cursor.execute(_POLL_COUNT_VOTE, params)
        if cursor.rowcount != 1:  # closed, edited or deleted since the first read
            raise _TakeLockedPath()
        _invite_use(cursor, poll_id, voter, at)
        _address_count(cursor, poll, voter, address)
        if _choices_count(cursor, poll_id, marks, +1) != len(marks):  # choices replaced
            raise _TakeLockedPath()
    broadcast_after_commit(poll_id)
    return VoteOutcome(ballot, marks, True)


def _invite_use(cursor, poll_id: str, voter: Voter, at) -> None:
    """An invite's first ballot marks it used; a revoked one votes no more.
    Runs after the poll row is locked, as a revoke locks poll then invite."""
    if voter.kind == "invite":
        cursor.execute(_INVITE_USE, [at, poll_id, voter.invite_nonce])
        if cursor.rowcount != 1:
            raise NotInvited("This invite was revoked.")


def _address_count(cursor, poll: Poll, voter: Voter, address: str) -> None:
    """Count an anonymous first ballot against its address; runs after the
    poll row is locked (one lock order: poll, then its address rows)."""
    if not voter.is_anonymous or not poll.max_ballots_per_address or not address:
        return
    cursor.execute(_ADDRESS_COUNT, [poll.id, address, poll.max_ballots_per_address])
    if cursor.fetchone() is None:
        raise AddressLimit()


def _choices_count(cursor, poll_id: str, choice_ids, delta: int) -> int:
    """Add `delta` to the choices' counters; returns how many choices exist."""
    if not choice_ids:
        return 0
    cursor.execute(
        f"UPDATE {_CHOICE} SET votes = votes + %s WHERE poll_id = %s AND id IN ("
        + ", ".join(["%s"] * len(choice_ids))
        + ")",
        [delta, poll_id, *choice_ids],
    )
    return cursor.rowcount


@transaction.atomic
def _vote_cast_locked(
    *, poll_id: str, voter: Voter, choice_ids: list[int], passcode: str | None, address: str
) -> VoteOutcome:
    """Lock the poll row first, then claim or change the ballot."""
    poll = _locked_votable_poll(poll_id, voter, passcode)
    chosen = _validated_choices(poll, choice_ids)
    ballot, created = _ballot_claim(poll, voter)
    if created:
        with connection.cursor() as cursor:
            _invite_use(
                cursor, poll.id, voter, connection.ops.adapt_datetimefield_value(ballot.created_at)
            )
            _address_count(cursor, poll, voter, address)
        _marks_add(ballot, chosen)
        _tally_apply(poll, added=chosen, removed=set(), total_delta=1)
        return VoteOutcome(ballot, sorted(chosen), True)
    if not poll.allow_vote_change:
        raise AlreadyVoted()
    current = set(BallotChoice.objects.filter(ballot=ballot).values_list("choice_id", flat=True))
    added, removed = chosen - current, current - chosen
    if added or removed:
        BallotChoice.objects.filter(ballot=ballot, choice_id__in=removed).delete()
        _marks_add(ballot, added)
        ballot.updated_at = timezone.now()
        ballot.save(update_fields=["updated_at"])
        _tally_apply(poll, added=added, removed=removed, total_delta=0)
    return VoteOutcome(ballot, sorted(chosen), False)


@transaction.atomic
def vote_withdraw(*, poll_id: str, voter: Voter) -> None:
    """Withdraw the voter's own ballot; its identity is proof enough (no passcode)."""
    poll = _locked_votable_poll(poll_id, voter, passcode=None, admit=False)
    if not poll.allow_vote_change:
        raise VoteChangeNotAllowed()
    ballot = Ballot.objects.filter(poll=poll, voter_key=voter.key).first()
    if ballot is None:
        raise NotFound("You have no ballot in this poll.")
    removed = set(BallotChoice.objects.filter(ballot=ballot).values_list("choice_id", flat=True))
    BallotChoice.objects.filter(ballot=ballot).delete()
    ballot.delete()
    _tally_apply(poll, added=set(), removed=removed, total_delta=-1)


def _locked_votable_poll(
    poll_id: str, voter: Voter, passcode: str | None, *, admit: bool = True
) -> Poll:
    poll = Poll.objects.select_for_update().filter(pk=poll_id).first()
    if poll is None or (
        poll.status == Poll.Status.DRAFT
        and (voter.kind != "user" or poll.owner_id != voter.user_id)
    ):
        raise NotFound("No poll with this id.")
    if admit:
        voter_admit(poll, voter, passcode)
    if not poll.accepts_votes():
        raise PollClosed()
    return poll


def _validated_choices(poll: Poll, choice_ids: list[int]) -> set[int]:
    valid = set(Choice.objects.filter(poll=poll).values_list("id", flat=True))
    return _checked_choices(poll, valid, choice_ids)


def _checked_choices(poll: Poll, valid: set[int], choice_ids: list[int]) -> set[int]:
    chosen = set(choice_ids)
    if not chosen:
        raise InvalidChoice("Pick at least one choice.")
    if len(chosen) != len(choice_ids):
        raise InvalidChoice("A choice may be named only once.")
    if not chosen <= valid:
        raise InvalidChoice(f"Unknown choice for this poll: {sorted(chosen - valid)}.")
    limit = 1 if poll.kind == Poll.Kind.SINGLE else poll.max_choices
    if len(chosen) > limit:
        raise InvalidChoice(f"Pick at most {limit} choice{'s' if limit > 1 else ''}.")
    return chosen


def _ballot_claim(poll: Poll, voter: Voter) -> tuple[Ballot, bool]:
    """Insert the voter's ballot; the unique constraint decides who is first."""
    try:
        with transaction.atomic():
            ballot = Ballot.objects.create(poll=poll, voter_key=voter.key, user_id=voter.account_id)
        return ballot, True
    except IntegrityError:
        return Ballot.objects.get(poll=poll, voter_key=voter.key), False


def _marks_add(ballot: Ballot, choice_ids: set[int]) -> None:
    BallotChoice.objects.bulk_create(
        [BallotChoice(ballot=ballot, poll_id=ballot.poll_id, choice_id=c) for c in choice_ids]
    )


def _tally_apply(poll: Poll, *, added: set[int], removed: set[int], total_delta: int) -> None:
    if added:
        Choice.objects.filter(id__in=added).update(votes=F("votes") + 1)
    if removed:
        Choice.objects.filter(id__in=removed).update(votes=F("votes") - 1)
    Poll.objects.filter(pk=poll.pk).update(
        version=F("version") + 1,
        total_votes=F("total_votes") + total_delta,
        updated_at=timezone.now(),
    )
    broadcast_after_commit(poll.pk)
