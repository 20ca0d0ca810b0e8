"""Reads. Visibility rules live here: drafts are their owner's alone."""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Case, Count, Q, QuerySet, When
from django.utils import timezone
from django.utils.translation import gettext

from nexus.errors import Invalid, NotFound

from . import integrity, kinds, text
from .errors import ResultsHidden
from .kinds import Mark
from .models import (
    Answer,
    Ballot,
    Choice,
    Event,
    Export,
    IntegrityAction,
    Poll,
    Question,
    ResultSnapshot,
    TallyLine,
)
from .serializers import integrity_action
from .visibility import results_denial
from .voters import Voter


def _visible(user) -> Q:
    if user.is_authenticated:
        return ~Q(status=Poll.Status.DRAFT) | Q(owner_id=user.pk)
    return ~Q(status=Poll.Status.DRAFT)


def _with_details(queryset: QuerySet[Poll]) -> QuerySet[Poll]:
    return queryset.select_related("owner").prefetch_related("choices")


def poll_get(*, poll_id: str, user) -> Poll:
    """One visible poll with owner and choices loaded, or NotFound."""
    poll = _with_details(Poll.objects.filter(_visible(user), pk=poll_id)).first()
    if poll is None:
        raise NotFound(gettext("No poll with this id."))
    return poll


def pow_poll_check(*, poll_id: str, user) -> None:
    """NotFound unless `poll_id` is a visible poll that asks for proof of work
    (one column read): the one rule for handing out its challenges."""
    found = Poll.objects.filter(_visible(user), pk=poll_id).values_list("challenge", flat=True)
    challenge = found.first()
    if challenge is None:
        raise NotFound(gettext("No poll with this id."))
    if challenge != Poll.Challenge.POW:
        raise NotFound(gettext("This poll does not ask for proof of work."))


def poll_clusters(*, poll: Poll) -> tuple[list[integrity.Cluster], list[integrity.Row]]:
    """The clusters of `poll`'s ballots that look stuffed (polls/integrity.py),
    quarantined ones included, and the ballots' rows, by time."""
    rows = [
        integrity.Row(pk, at.timestamp(), net, agent, age, quarantine is not None)
        for pk, at, net, agent, age, quarantine in (
            Ballot.objects.filter(poll=poll)
            .order_by("created_at", "id")
            .values_list("id", "created_at", "net", "agent", "voter_age", "quarantine")
            .iterator(chunk_size=5000)
        )
    ]
    return integrity.clusters(rows, expected_audience=poll.expected_audience), rows


INTEGRITY_ACTIONS = 100  # the newest quarantines and releases the report lists


def poll_integrity(*, poll: Poll) -> dict:
    """The poll's integrity report: its clusters (with how many of their
    ballots are quarantined), every ballot's arrival on a timeline, and the
    owner's quarantines and releases, newest first."""
    found, rows = poll_clusters(poll=poll)
    held = {row.id for row in rows if row.held}
    flagged = integrity.flagged(found)
    actions = IntegrityAction.objects.filter(poll=poll).select_related("user")
    return {
        "flagged": len(flagged),
        "quarantined": len(held),
        "signals": [
            {**cluster.as_dict(), "quarantined": len(cluster.ballots & held)} for cluster in found
        ],
        "arrivals": integrity.timeline(rows, flagged),
        "actions": [
            integrity_action(a) for a in actions.order_by("-created_at", "-id")[:INTEGRITY_ACTIONS]
        ],
    }


def poll_list(
    *, user, status: str | None = None, mine: bool = False, search: str | None = None
) -> QuerySet[Poll]:
    """Visible polls, newest first, filtered like `GET /api/polls/`."""
    polls = Poll.objects.filter(_visible(user))
    if mine:
        polls = polls.filter(owner_id=user.pk)
    if status:
        polls = polls.filter(_status_is(status))
    if search:
        polls = polls.filter(Q(question__icontains=search) | Q(description__icontains=search))
    return _with_details(polls).order_by("-created_at", "id")


def _status_is(status: str) -> Q:
    """Filter on the status clients see (see Poll.effective_status)."""
    past_close = Poll.past_close(timezone.now())
    if status == Poll.Status.OPEN:
        return Q(status=Poll.Status.OPEN) & ~past_close
    if status == Poll.Status.CLOSED:
        return Q(status=Poll.Status.CLOSED) | past_close
    return Q(status=status)


def ballot_mine(*, poll_id: str, voter: Voter) -> tuple[Ballot, list[Mark]] | None:
    """The voter's ballot in the poll (its poll loaded) and its marks, if any."""
    ballot = Ballot.objects.select_related("poll").filter(poll_id=poll_id, voter_key=voter.key)
    found = ballot.first()
    if found is None:
        return None
    return found, list(found.marks.values_list("choice_id", "value"))


def results_get(*, poll_id: str, user, voter: Voter | None) -> dict:
    """The poll's results, honouring visibility. One query for the snapshot
    (a rating or ranking poll's counts: one transaction)."""
    poll, choices = _results_visible(poll_id, user, voter)
    tally = _tally(poll_id, (poll, choices))  # read only for who may see them
    if tally is None:  # deleted since
        raise NotFound(gettext("No poll with this id."))
    return results_snapshot(tally)


HISTORY_EVERY = {"1s": 1, "10s": 10, "1m": 60}
HISTORY_POINTS = 3600  # points per answer at most: an hour by the second
HISTORY_CELLS = 36_000  # points x choices per answer: HISTORY_POINTS of ten choices
HISTORY_ROWS = 50_000  # snapshot rows read per answer, whatever the interval
HIDDEN_EVERY = 60  # the finest interval of a non-live poll's history, but to its owner


def history_params(every: str, after: str | None) -> tuple[int, int | None]:
    """A history request's `every` (seconds) and `after` (Unix seconds, from
    `next`), for REST and GraphQL alike; or 400 `invalid` naming the field."""
    if every not in HISTORY_EVERY:
        raise Invalid(gettext("Unknown interval."), fields={"every": gettext("Use 1s, 10s or 1m.")})
    if after is not None and not (after.isascii() and after.isdigit() and len(after) < 16):
        raise Invalid(
            gettext("Bad `after`."), fields={"after": gettext("Unix seconds, from `next`.")}
        )
    return HISTORY_EVERY[every], None if after is None else int(after)


def results_history(
    *, poll_id: str, user, voter: Voter | None, every: int, after: int | None = None
) -> dict:
    """The tally at the end of each `every`-second interval in which it
    moved, oldest first, from the poll's ResultSnapshot rows (contract v2,
    "Results history"); an interval without a change has no point, as its
    tally is the one before. A page ends at HISTORY_CELLS values or after
    HISTORY_ROWS rows, on an interval's edge; `after` (Unix seconds, the
    next interval's start) reads on, or is None at the end.

    A poll whose results were not live is told a minute at a time to anyone
    but its owner: a second in a small room is often one ballot, and its
    moment would say who chose what."""
    poll, choices = _results_visible(poll_id, user, voter)
    is_owner = user.is_authenticated and poll.owner_id == user.pk
    if poll.results_visibility != Poll.Results.LIVE and not is_owner:
        every = max(every, HIDDEN_EVERY)
    page = max(1, min(HISTORY_POINTS, HISTORY_CELLS // max(1, len(choices))))
    rows = ResultSnapshot.objects.filter(poll_id=poll.pk).order_by("second")
    if after is not None:
        rows = rows.filter(second__gte=after)
    points: list[dict] = []
    newest = (-1, 0, "")  # (version, total, counts) of the newest row so far
    bucket = None
    for read, (second, version, total, counts) in enumerate(
        # A page ends on an interval's edge: at most 60 rows past the cap
        # finish its interval, and the next one's first row says so.
        rows.values_list("second", "version", "total_votes", "counts")[: HISTORY_ROWS + 2 * 60]
    ):
        if bucket is not None and second // every != bucket:
            points.append(_history_point(bucket, every, newest, choices))
            if len(points) == page or read >= HISTORY_ROWS:
                return {
                    "poll": poll.pk,
                    "every": every,
                    "points": points,
                    "after": second // every * every,
                }
        bucket = second // every
        # Seconds rise with versions under the poll's lock; should two
        # servers' clocks disagree, the newer version wins all the same.
        newest = max(newest, (version, total, counts))
    if bucket is not None:
        points.append(_history_point(bucket, every, newest, choices))
    return {"poll": poll.pk, "every": every, "points": points, "after": None}


def _history_point(bucket: int, every: int, row: tuple, choices: list[Choice]) -> dict:
    version, total, counts = row
    votes = dict(pair.split(":") for pair in counts.split(",")) if counts else {}
    return {
        "at": datetime.fromtimestamp((bucket + 1) * every, UTC),
        "version": version,
        "total_votes": total,
        "choices": [{"id": c.id, "votes": int(votes.get(str(c.id), 0))} for c in choices],
    }


def _results_visible(poll_id: str, user, voter: Voter | None) -> tuple[Poll, list[Choice]]:
    """The poll and its choices, if this caller may see its results; else
    the contract's error."""
    poll, choices = _poll_with_choices(poll_id)
    if poll is None:
        raise NotFound(gettext("No poll with this id."))
    is_owner = user.is_authenticated and poll.owner_id == user.pk
    closed = poll.effective_status() == Poll.Status.CLOSED
    denial = results_denial(
        is_owner=is_owner,
        draft=poll.status == Poll.Status.DRAFT,
        closed=closed,
        results=poll.results_visibility,
        # Only asked when it decides: one query for the other polls.
        voted=poll.results_visibility == Poll.Results.AFTER_VOTE
        and not (is_owner or closed)
        and voter_has_ballot(poll_id=poll.pk, voter=voter),
    )
    if denial == "not_found":
        raise NotFound(gettext("No poll with this id."))
    if denial:
        raise ResultsHidden(_hidden_reason(poll))
    return poll, choices


@dataclass
class Tally:
    """What results are built from, read at one moment."""

    poll: Poll
    choices: list[Choice]
    lines: dict[str, int]  # TallyLine counts (rating, ranking, text)
    answers: list[dict]  # a text poll's newest shown answers
    questions: list[dict] = field(default_factory=list)  # a Q&A poll's top questions
    counts: dict[str, int] = field(default_factory=dict)  # a Q&A poll's questions per state


RECENT_ANSWERS = 10  # with 100 words, a state stays under 8 KB
TOP_QUESTIONS = 100  # the contract's "at most its top 100"


def _tally(poll_id: str, first: tuple[Poll | None, list[Choice]] | None = None) -> Tally | None:
    """The poll with its choices (tally and version in one statement: all a
    single or multiple-choice poll needs) and, for the kinds that keep more
    counts, those counts and a text poll's newest shown answers or a Q&A
    poll's top questions, from the same snapshot: on Postgres in one
    statement (_TALLY_SQL), elsewhere in one transaction. `first`: the
    poll's read, if made already."""
    poll, choices = _poll_with_choices(poll_id) if first is None else first
    if poll is None:
        return None
    if poll.kind in kinds.CHOICES_ONLY:
        return Tally(poll, choices, {}, [])
    if connection.vendor == "postgresql":
        return _tally_one_statement(poll_id)
    return _tally_transaction(poll_id)


def _tally_transaction(poll_id: str) -> Tally | None:
    """_tally's reads as ORM queries in one transaction (SQLite: a read
    transaction is one snapshot)."""
    with transaction.atomic():
        poll, choices = _poll_with_choices(poll_id)
        if poll is None:
            return None
        if poll.kind == Poll.Kind.QA:
            per_state = Question.objects.filter(poll_id=poll_id).values_list("state")
            counts = dict(per_state.annotate(n=Count("id")).order_by())
            return Tally(poll, choices, {}, [], top_questions(poll_id), counts)
        lines = TallyLine.objects.filter(poll_id=poll_id, count__gt=0).values_list("key", "count")
        answers = []
        if poll.kind == Poll.Kind.TEXT:
            shown = Answer.objects.filter(
                poll_id=poll_id, state=Answer.State.SHOWN, ballot__quarantine__isnull=True
            )
            newest = shown.order_by("-created_at", "-id").values("id", "text")
            answers = [dict(a) for a in newest[:RECENT_ANSWERS]]
        return Tally(poll, choices, dict(lines), answers)


# The whole tally of a poll in one statement, on Postgres: one snapshot
# without a transaction, one round trip instead of seven (docs/BENCHMARKS.md).
# Each subquery is gated on the poll's kind (a one-time filter: the others
# are not scanned). Text polls read only their top words, Q&A polls their
# top questions, in the order text.results and top_questions give them.
_TALLY_SQL = f"""
SELECT p.*,
  (SELECT coalesce(json_agg(json_build_array(c.id, c.text, c.position, c.votes)
                            ORDER BY c.position), '[]')::text
     FROM polls_choice c WHERE c.poll_id = p.id) AS choice_rows,
  (SELECT coalesce(json_object_agg(t.key, t.count), '{{}}')::text FROM (
     SELECT key, count FROM polls_tallyline
      WHERE poll_id = p.id AND count > 0 AND p.kind IN ('rating', 'ranking')
     UNION ALL
     (SELECT key, count FROM polls_tallyline
       WHERE poll_id = p.id AND count > 0 AND p.kind = 'text' AND key LIKE 'w:%%'
       ORDER BY count DESC, key COLLATE "C" LIMIT {text.TOP_WORDS})
     UNION ALL
     SELECT key, count FROM polls_tallyline
      WHERE poll_id = p.id AND count > 0 AND p.kind = 'text' AND key LIKE 'n:%%'
  ) t) AS line_rows,
  (SELECT coalesce(json_agg(json_build_object('id', a.id, 'text', a.text)
                            ORDER BY a.created_at DESC, a.id DESC), '[]')::text FROM (
     SELECT a.id, a.text, a.created_at FROM polls_answer a
       JOIN polls_ballot b ON b.id = a.ballot_id AND b.quarantine_id IS NULL
      WHERE a.poll_id = p.id AND p.kind = 'text' AND a.state = 'shown'
      ORDER BY a.created_at DESC, a.id DESC LIMIT {RECENT_ANSWERS}) a) AS answer_rows,
  (SELECT coalesce(json_agg(json_build_object('id', q.id, 'text', q.text, 'upvotes', q.upvotes,
                                              'state', q.state, 'pinned', q.pinned)
                            ORDER BY q.upvotes DESC, q.id), '[]')::text FROM (
     SELECT id, text, upvotes, state, pinned FROM polls_question
      WHERE poll_id = p.id AND p.kind = 'qa' AND state IN ('shown', 'answered')
      ORDER BY pinned DESC, state = 'shown' DESC, upvotes DESC, id
      LIMIT {TOP_QUESTIONS}) q) AS question_rows,
  (SELECT coalesce(json_object_agg(s.state, s.n), '{{}}')::text FROM (
     SELECT state, count(*) AS n FROM polls_question
      WHERE poll_id = p.id AND p.kind = 'qa' GROUP BY state) s) AS question_counts
FROM polls_poll p WHERE p.id = %s
"""


# _TALLY_SQL's columns beside the poll's own, each a JSON text.
_TALLY_JSON = ("choice_rows", "line_rows", "answer_rows", "question_rows", "question_counts")


def _tally_one_statement(poll_id: str) -> Tally | None:
    poll = next(iter(Poll.objects.raw(_TALLY_SQL, [poll_id])), None)
    if poll is None:
        return None
    read = {name: json.loads(value) for name, value in vars(poll).items() if name in _TALLY_JSON}
    choices = [
        Choice(id=id_, poll=poll, text=text_, position=position, votes=votes)
        for id_, text_, position, votes in read["choice_rows"]
    ]
    for choice in choices:
        choice._state.adding = False  # as if loaded: rows, not new objects
    return Tally(
        poll,
        choices,
        read["line_rows"],
        read["answer_rows"],
        read["question_rows"],
        read["question_counts"],
    )


def top_questions(poll_id: str) -> list[dict]:
    """The results' `questions`: the pinned one, then the most upvoted shown
    ones, then answered ones, TOP_QUESTIONS in all (so questions answered
    long ago do not crowd new ones out), sent most upvoted first (oldest
    first in a tie)."""
    visible = Question.objects.filter(poll_id=poll_id, state__in=Question.VISIBLE)
    open_first = Case(When(state=Question.State.SHOWN, then=0), default=1)
    top = visible.order_by("-pinned", open_first, "-upvotes", "id")[:TOP_QUESTIONS]
    fields = ("id", "text", "upvotes", "state", "pinned")
    return sorted(top.values(*fields), key=lambda q: (-q["upvotes"], q["id"]))


def _poll_with_choices(poll_id: str) -> tuple[Poll | None, list[Choice]]:
    """The poll and its choices: one statement (the choices with the poll
    joined: tally and version together); a text poll has none, so it is read
    alone."""
    choices = list(
        Choice.objects.filter(poll_id=poll_id).select_related("poll").order_by("position")
    )
    if choices:
        return choices[0].poll, choices
    return Poll.objects.filter(pk=poll_id).first(), []


def _hidden_reason(poll: Poll) -> str:
    if poll.results_visibility == Poll.Results.AFTER_VOTE:
        return gettext("Results are shown after you vote.")
    return gettext("Results are shown when the poll closes.")


def results_snapshot(tally: Tally) -> dict:
    """Results as the contract spells them, from one consistent read; a
    rating, ranking or text poll's own fields come from its counts."""
    poll, choices, lines = tally.poll, tally.choices, tally.lines
    total = poll.total_votes
    low, high = poll.scale_min, poll.scale_max
    scale = None if low is None or high is None else (low, high)
    per_choice, extra = kinds.results(poll.kind, scale, [c.id for c in choices], lines)
    if poll.kind == Poll.Kind.TEXT:
        extra = {**text.results(lines), "answers": tally.answers}
    elif poll.kind == Poll.Kind.QA:
        counts = tally.counts
        extra = {
            "questions": tally.questions,
            "shown": counts.get("shown", 0) + counts.get("answered", 0),
            "pending": counts.get("pending", 0),
        }
    return {
        "poll": poll.id,
        "version": poll.version,
        "status": poll.effective_status(),
        "total_votes": total,
        "choices": [
            {
                "id": c.id,
                "text": c.text,
                "votes": c.votes,
                "share": round(c.votes / total, 4) if total else 0.0,
                **per_choice.get(c.id, {}),
            }
            for c in choices
        ],
        **extra,
        # Only when the owner holds ballots out: results of v1 stay as they were.
        **({"quarantined": poll.quarantined} if poll.quarantined else {}),
        "updated_at": poll.updated_at,
    }


@dataclass(frozen=True)
class LiveState:
    """What a live subscriber may be sent, and what decides who may see it."""

    message: dict  # the contract's WebSocket `results` message
    owner_id: int
    results: str  # the poll's results visibility
    draft: bool

    @property
    def version(self) -> int:
        return self.message["version"]

    @property
    def closed(self) -> bool:
        return self.message["status"] == Poll.Status.CLOSED


def live_state(*, poll_id: str) -> LiveState | None:
    """The poll's live-results message from one consistent read; None if gone."""
    tally = _tally(poll_id)
    if tally is None:
        return None
    poll = tally.poll
    snapshot = results_snapshot(tally)
    message = {
        "type": "results",
        "poll": poll.id,
        "version": poll.version,
        "status": snapshot["status"],
        "total_votes": poll.total_votes,
        "choices": [{k: v for k, v in c.items() if k != "text"} for c in snapshot["choices"]],
    }
    for extra in ("irv", "words", "shown", "pending", "answers", "questions", "quarantined"):
        if extra in snapshot:
            message[extra] = snapshot[extra]
    return LiveState(
        message, poll.owner_id, poll.results_visibility, poll.status == Poll.Status.DRAFT
    )


def moderation_queue(*, poll: Poll, model: type[Answer] | type[Question], state: str | None):
    """A text poll's answers or a Q&A poll's questions, for the owner: newest
    first, in one state (checked by the caller against `model.State`) or all."""
    items = model.objects.filter(poll=poll)
    if state:
        items = items.filter(state=state)
    return items.order_by("-created_at", "-id")


def voter_has_ballot(*, poll_id: str, voter: Voter | None) -> bool:
    if voter is None:
        return False
    return Ballot.objects.filter(poll_id=poll_id, voter_key=voter.key).exists()


def poll_versions(*, poll_ids: list[str]) -> dict[str, int]:
    """{poll id: version} for the polls that still exist; one query."""
    return dict(Poll.objects.filter(pk__in=poll_ids).values_list("id", "version"))


def choice_texts(*, poll_id: str) -> dict[int, str]:
    return dict(Choice.objects.filter(poll_id=poll_id).values_list("id", "text"))


def export_get(*, export_id, user) -> Export:
    """The caller's export job, or NotFound (others' exports do not exist for them)."""
    export = Export.objects.filter(pk=export_id, owner_id=user.pk).first()
    if export is None:
        raise NotFound(gettext("No export with this id."))
    return export


def event_get(*, event_id: str) -> Event:
    event = Event.objects.select_related("owner").filter(pk=event_id).first()
    if event is None:
        raise NotFound(gettext("No event with this id."))
    return event


def event_list(*, user, mine: bool = False) -> QuerySet[Event]:
    events = Event.objects.select_related("owner")
    if mine:
        events = events.filter(owner_id=user.pk)
    return events.order_by("-created_at", "id")


def event_poll_ids(*, event: Event, user) -> list[str]:
    """The event's polls in order; drafts only for their owner, as everywhere."""
    items = event.items.filter(poll__in=Poll.objects.filter(_visible(user)))
    return list(items.order_by("position", "id").values_list("poll_id", flat=True))


def event_live_state(*, event_id: str) -> dict | None:
    """The event socket's `event` message (contract: "Events"); None if gone.
    `current` is a draft's code only for nobody: a socket shows the room,
    and a draft is the owner's alone."""
    row = (
        Event.objects.filter(pk=event_id)
        .values("id", "title", "version", "current_id", "current__status")
        .first()
    )
    if row is None:
        return None
    current = None if row["current__status"] == Poll.Status.DRAFT else row["current_id"]
    return {
        "type": "event",
        "event": row["id"],
        "version": row["version"],
        "current": current,
        "title": row["title"],
    }


def event_versions(*, event_ids: list[str]) -> dict[str, int]:
    """{event id: version} for the events that still exist; one query."""
    return dict(Event.objects.filter(pk__in=event_ids).values_list("id", "version"))
