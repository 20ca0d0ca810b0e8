"""Polls: create, edit, open, close, reset, delete and recount."""

from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone, translation

from webhooks import services as webhooks

from .. import kinds, text
from ..errors import PollHasVotes
from ..models import (
    AddressCount,
    Answer,
    Ballot,
    BallotChoice,
    Choice,
    HeldVoter,
    Invite,
    Poll,
    Question,
    ResultSnapshot,
    TallyLine,
    Upvote,
)
from . import events, exports
from .batch_sql import snapshots_write
from .common import announce_open, broadcast_after_commit, bump, locked_owned_poll
from .join_codes import join_code_claim


@transaction.atomic
def poll_create(*, owner, question: str, choices: list[str], **options) -> Poll:
    """Create a poll and its choices. Inputs are already validated."""
    event_id = options.pop("event", None)
    poll = Poll(
        owner=owner, question=question, language=translation.get_language() or "en", **options
    )
    poll.id = join_code_claim()
    poll.save(force_insert=True)
    _choices_create(poll, choices)
    _schedule_timed(poll)
    if event_id is not None:
        events.event_poll_add(event_id=event_id, poll=poll, user=owner)
    if poll.accepts_votes():
        announce_open(poll)
    return poll


@transaction.atomic
def poll_update(*, poll_id: str, user, **changes) -> Poll:
    """Apply validated field changes; choices/kind are frozen once votes exist."""
    poll = locked_owned_poll(poll_id, user)
    new_choices = changes.pop("choices", None)
    if new_choices is not None and new_choices == _choice_texts(poll):
        new_choices = None
    # With choices: what a cast ballot was judged by.
    frozen = {"kind", "eligibility", "scale_min", "scale_max"}
    rule_changes = any(getattr(poll, f) != changes[f] for f in frozen & changes.keys())
    if (new_choices is not None or rule_changes) and (
        Ballot.objects.filter(poll=poll).exists() or Question.objects.filter(poll=poll).exists()
    ):
        raise PollHasVotes()
    was_open, was_draft = poll.accepts_votes(), poll.status == Poll.Status.DRAFT
    was_closed = poll.status == Poll.Status.CLOSED
    for field, value in changes.items():
        setattr(poll, field, value)
    if new_choices is not None:  # every ballot withdrawn, or none cast: a new history
        Choice.objects.filter(poll=poll).delete()
        ResultSnapshot.objects.filter(poll=poll).delete()
        _choices_create(poll, new_choices)
    bump(poll, fields=list(changes))
    if not (was_closed or was_draft) and poll.status == Poll.Status.CLOSED:
        webhooks.poll_closed(poll)  # a draft that never opened closes unannounced
    elif not was_open and poll.accepts_votes():
        announce_open(poll)
    elif was_open and poll.accepts_votes() and "opens_at" in changes:
        # Open all along: a new opens_at in the past is no second opening
        # for the clock's sweep to announce.
        poll.open_announced_at = timezone.now()
        Poll.objects.filter(pk=poll.pk).update(open_announced_at=poll.open_announced_at)
    if {"opens_at", "closes_at"} & changes.keys():  # a new moment needs its timed task
        _schedule_timed(poll)
    return poll


@transaction.atomic
def poll_open(*, poll_id: str, user) -> Poll:
    """Open now: a past `closes_at` or a future `opens_at` would keep it shut."""
    poll = locked_owned_poll(poll_id, user)
    now = timezone.now()
    if poll.accepts_votes(now):
        return poll
    poll.status = Poll.Status.OPEN
    if poll.opens_at and poll.opens_at > now:
        poll.opens_at = None
    if poll.closes_at and poll.closes_at <= now:
        poll.closes_at = None
    bump(poll, fields=["status", "opens_at", "closes_at"])
    announce_open(poll)
    return poll


@transaction.atomic
def poll_close(*, poll_id: str, user) -> Poll:
    poll = locked_owned_poll(poll_id, user)
    if poll.status != Poll.Status.CLOSED:
        was_draft = poll.status == Poll.Status.DRAFT
        poll.status = Poll.Status.CLOSED
        bump(poll, fields=["status"])
        if not was_draft:  # a draft that never opened closes unannounced
            webhooks.poll_closed(poll)
    return poll


@transaction.atomic
def poll_reset(*, poll_id: str, user) -> Poll:
    """Delete every ballot; the tally goes to zero under a new version."""
    poll = locked_owned_poll(poll_id, user)
    _ballots_delete(poll)
    AddressCount.objects.filter(poll=poll).delete()
    Invite.objects.filter(poll=poll).update(used_at=None)
    Choice.objects.filter(poll=poll).update(votes=0)
    TallyLine.objects.filter(poll=poll).delete()
    HeldVoter.objects.filter(poll=poll).delete()
    ResultSnapshot.objects.filter(poll=poll).delete()  # the history starts again
    poll.total_votes = poll.quarantined = poll.flagged = 0  # the quarantines' records stay
    poll.has_held_voters = False
    bump(poll, fields=["total_votes", "quarantined", "flagged", "has_held_voters"])
    return poll


@transaction.atomic
def poll_delete(*, poll_id: str, user) -> None:
    poll = locked_owned_poll(poll_id, user)
    export_ids = list(poll.exports.values_list("pk", flat=True))
    _ballots_delete(poll)
    events.event_poll_removed(poll)  # before the delete clears its row
    poll.delete()
    transaction.on_commit(lambda: exports.files_delete(export_ids), robust=True)
    broadcast_after_commit(poll_id)  # subscribers are told it is gone


@dataclass(frozen=True)
class Drift:
    poll_id: str
    what: str  # "total_votes", "quarantined", "choice <id>", "count <key>" or "upvotes <id>"
    cached: int
    actual: int


@dataclass(frozen=True)
class Counts:
    """A poll's tally as its rows give it."""

    total: int  # ballots
    choices: Counter  # choice id -> ballots naming it
    lines: Counter  # TallyLine key -> count (rating, ranking, text)
    quarantined: int  # ballots held out (0 when they are counted in)


def counts_of(poll: Poll, *, with_quarantined: bool = False) -> Counts:
    """The tally from the ballot rows: the counted ones (what the cached
    counters hold), or every ballot, quarantined ones too (what the tally
    would be without the quarantine: `manage.py recount` shows both)."""
    ballots = Ballot.objects.filter(poll=poll)
    marks = BallotChoice.objects.filter(poll=poll)
    answers = Answer.objects.filter(poll=poll)
    held = 0
    if not with_quarantined:
        held = ballots.filter(quarantine__isnull=False).count()
        ballots = ballots.filter(quarantine__isnull=True)
        marks = marks.filter(ballot__quarantine__isnull=True)
        answers = answers.filter(ballot__quarantine__isnull=True)
    choices = Counter(dict(marks.values_list("choice").annotate(n=Count("id")).order_by()))
    lines: Counter = Counter()
    if poll.kind in kinds.WITH_LINES:
        per_ballot: dict[int, list] = defaultdict(list)
        for ballot_id, choice_id, value in marks.values_list("ballot_id", "choice_id", "value"):
            per_ballot[ballot_id].append((choice_id, value))
        for ballot_marks in per_ballot.values():
            lines.update(kinds.lines(poll.kind, ballot_marks))
        for words, state in answers.values_list("words", "state"):
            lines.update(text.lines(words, state))
    return Counts(ballots.count(), choices, lines, held)


@transaction.atomic
def poll_recount(*, poll_id: str) -> list[Drift]:
    """Recompute the cached counters from the ballot rows; fix and report drift."""
    poll = Poll.objects.select_for_update().get(pk=poll_id)
    return counters_fix(poll)


def counters_fix(poll: Poll) -> list[Drift]:
    """Set `poll`'s cached counters (locked by the caller) to what its rows
    give, with a new version if any moved; report what did."""
    actual = counts_of(poll)
    drifts = _lines_recount(poll, actual.lines) + _upvotes_recount(poll)
    for choice in Choice.objects.filter(poll=poll):
        count = actual.choices[choice.id]
        if choice.votes != count:
            drifts.append(Drift(poll.id, f"choice {choice.id}", choice.votes, count))
            Choice.objects.filter(pk=choice.pk).update(votes=count)
    for name, count in (("total_votes", actual.total), ("quarantined", actual.quarantined)):
        cached = getattr(poll, name)
        if cached != count:
            drifts.append(Drift(poll.id, name, cached, count))
            setattr(poll, name, count)
    if drifts:  # the tally changed: a new version, never an old one reused
        bump(poll, fields=["total_votes", "quarantined"])
        with connection.cursor() as cursor:  # and the history shows the move
            snapshots_write(cursor, [poll.id])
    return drifts


def _lines_recount(poll: Poll, actual: Counter) -> list[Drift]:
    """A rating, ranking or text poll's TallyLine counts, rebuilt from its rows."""
    if poll.kind not in kinds.WITH_LINES:
        return []
    TallyLine.objects.filter(poll=poll, count=0).delete()  # nothing to count, nothing to keep
    cached = dict(TallyLine.objects.filter(poll=poll).values_list("key", "count"))
    drifts = [
        Drift(poll.id, f"count {key}", cached.get(key, 0), actual[key])
        for key in sorted(cached.keys() | actual.keys())
        if cached.get(key, 0) != actual[key]
    ]
    if drifts:
        TallyLine.objects.filter(poll=poll).delete()
        TallyLine.objects.bulk_create(
            [TallyLine(poll=poll, key=key, count=n) for key, n in sorted(actual.items()) if n]
        )
    return drifts


def _upvotes_recount(poll: Poll) -> list[Drift]:
    """A Q&A poll's cached `upvotes`, rebuilt from its upvote rows."""
    actual = Counter(
        Upvote.objects.filter(poll=poll).values_list("question_id", flat=True).iterator()
    )
    drifts = []
    for question_id, upvotes in Question.objects.filter(poll=poll).values_list("id", "upvotes"):
        if upvotes != actual[question_id]:
            drifts.append(Drift(poll.id, f"upvotes {question_id}", upvotes, actual[question_id]))
            Question.objects.filter(pk=question_id).update(upvotes=actual[question_id])
    return drifts


def _schedule_timed(poll: Poll) -> None:
    from .timing import schedule_timed  # timing builds on this module

    schedule_timed(poll)


def _ballots_delete(poll: Poll) -> None:
    """Marks, answers and upvotes first (see BallotChoice.ballot), then
    ballots and questions."""
    BallotChoice.objects.filter(poll=poll).delete()
    Answer.objects.filter(poll=poll).delete()
    Upvote.objects.filter(poll=poll).delete()
    Question.objects.filter(poll=poll).delete()
    Ballot.objects.filter(poll=poll).delete()


def _choices_create(poll: Poll, texts: list[str]) -> None:
    Choice.objects.bulk_create(
        [Choice(poll=poll, text=text, position=i) for i, text in enumerate(texts)]
    )


def _choice_texts(poll: Poll) -> list[str]:
    return list(
        Choice.objects.filter(poll=poll).order_by("position").values_list("text", flat=True)
    )
