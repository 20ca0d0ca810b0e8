"""Audience Q&A (`qa` polls): voters ask questions and upvote others', once
each; the owner shows, hides, marks answered and pins.

Every write takes the poll's row lock first (the vote pipeline's lock
order), changes its question and upvote rows, and bumps the poll's version
in the same transaction, so a live state (version, top questions) is one
consistent snapshot and every change reaches live screens. An upvote is a
row under a unique constraint (one per voter per question) and the
question's cached `upvotes` moves with it: exact, whatever the concurrency.
Questions are not ballots: they do not go through the ballot batches of
pipeline.py, whose decisions are about ballots; a question or an upvote is
one small transaction.
"""

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext

from nexus.errors import Invalid, NotFound

from .. import text
from ..challenges import PAYING, Proof
from ..eligibility import guarded, voter_admit
from ..errors import (
    AddressLimit,
    AlreadyVoted,
    ChallengeFailed,
    ChallengeRequired,
    NotInvited,
    PollClosed,
)
from ..models import AddressCount, Invite, Poll, Question, SpentChallenge, Upvote
from ..voters import Voter
from .common import bump, locked_owned_poll, locked_poll

S = Question.State
TOP = 100  # a voter's own questions listed


def question_ask(
    *,
    poll_id: str,
    voter: Voter,
    user,
    question: str,
    passcode: str | None,
    address: str,
    challenge: Proof | None = None,
) -> tuple[Question, bool]:
    """Post a question; (question, created). The same question again from
    the same voter (a retry) is the first one, not a second."""
    asked, _ = text.checked_text(question, noun="question")

    @transaction.atomic
    def ask() -> tuple[Question, bool]:
        poll = _voter_locked_poll(poll_id, voter, user, passcode)
        text.checked_answer(poll, asked, noun="question")
        same = Question.objects.filter(poll=poll, voter_key=voter.key, text=asked).first()
        if same is not None:
            if same.state == S.HIDDEN:  # asking again does not undo the owner's hide,
                same.state = S.PENDING  # nor tell its author it was hidden
            return same, False
        _admit_first(poll, voter, address, challenge)
        state = S.PENDING if poll.moderation == Poll.Moderation.PRE else S.SHOWN
        created = Question.objects.create(poll=poll, voter_key=voter.key, text=asked, state=state)
        bump(poll, fields=[])
        return created, True

    return guarded("passcode", address, ask, check_first=passcode is not None)


def question_upvote(
    *,
    poll_id: str,
    question_id: int,
    voter: Voter,
    user,
    up: bool,
    passcode: str | None,
    address: str,
    challenge: Proof | None = None,
) -> Question:
    """Add the voter's upvote (409 `already_voted` if there is one) or take
    it back (404 if there is none)."""

    @transaction.atomic
    def vote() -> Question:
        poll = _voter_locked_poll(poll_id, voter, user, passcode)
        question = _question(poll, question_id, visible=True)
        mine = Upvote.objects.filter(question=question, voter_key=voter.key)
        if up:
            if mine.exists():  # the poll's lock orders every upvote of this poll
                raise AlreadyVoted(gettext("You have already upvoted this question."))
            _admit_first(poll, voter, address, challenge)
            Upvote.objects.create(question=question, poll=poll, voter_key=voter.key)
        elif not mine.delete()[0]:
            raise NotFound(gettext("You have not upvoted this question."))
        else:
            _address_release(poll, voter, address)
        Question.objects.filter(pk=question.pk).update(upvotes=F("upvotes") + (1 if up else -1))
        question.refresh_from_db(fields=["upvotes"])
        bump(poll, fields=[])
        return question

    return guarded("passcode", address, vote, check_first=passcode is not None)


ACTIONS = ("show", "hide", "answered", "pin", "unpin")


@transaction.atomic
def question_moderate(*, poll_id: str, question_id: int, user, action: str) -> Question:
    """The owner's actions. Pinning shows the question and unpins any other;
    hiding or answering unpins it."""
    poll = locked_owned_poll(poll_id, user)
    question = _question(poll, question_id, visible=False)
    state, pinned = question.state, question.pinned
    if action == "pin":
        Question.objects.filter(poll=poll, pinned=True).exclude(pk=question.pk).update(pinned=False)
        state, pinned = S.SHOWN, True  # what the room is hearing about now
    elif action == "unpin":
        pinned = False
    else:
        state = {"show": S.SHOWN, "hide": S.HIDDEN, "answered": S.ANSWERED}[action]
        pinned = pinned and state == S.SHOWN
    if (state, pinned) != (question.state, question.pinned) or action == "pin":
        question.state, question.pinned = state, pinned
        question.save(update_fields=["state", "pinned"])
        bump(poll, fields=[])
    return question


def questions_mine(*, poll_id: str, voter: Voter | None) -> tuple[list[Question], list[int]]:
    """The voter's own questions (newest first; hidden ones are not shown
    even to their author) and the ids of the questions they upvoted."""
    if voter is None:
        return [], []
    own = Question.objects.filter(poll_id=poll_id, voter_key=voter.key).exclude(state=S.HIDDEN)
    upvoted = Upvote.objects.filter(
        poll_id=poll_id, voter_key=voter.key, question__state__in=Question.VISIBLE
    )
    return (
        list(own.order_by("-created_at", "-id")[:TOP]),
        list(upvoted.order_by("question_id").values_list("question_id", flat=True)),
    )


def _voter_locked_poll(poll_id: str, voter: Voter, user, passcode: str | None) -> Poll:
    """The Q&A poll, locked, once the voter may write to it now."""
    poll = locked_poll(poll_id, user)
    if poll.kind != Poll.Kind.QA:
        raise Invalid(
            gettext("This is a %(kind)s poll: questions are asked in Q&A polls.")
            % {"kind": poll.kind},
            fields={"poll": gettext("Not a Q&A poll.")},
        )
    if not poll.accepts_votes():
        raise PollClosed(gettext("This poll is not taking questions."))
    voter_admit(poll, voter, passcode)
    if (
        voter.kind == "invite"
        and not Invite.objects.filter(poll=poll, nonce=voter.invite_nonce).exists()
    ):
        raise NotInvited(gettext("This invite was revoked."))
    return poll


def _admit_first(poll: Poll, voter: Voter, address: str, challenge: Proof | None) -> None:
    """A voter's first question or upvote in this poll is admitted as a
    first ballot is: it spends a proof of work where the poll asks for one
    (anonymous voters and accounts), and counts against the poll's address
    cap (anonymous voters). Voter ids are free, so
    without these one address could upvote a question to the top."""
    if voter.kind not in PAYING or _seen(poll, voter):
        return
    pow = poll.challenge == Poll.Challenge.POW
    if pow:
        if challenge is None:
            raise ChallengeRequired()
        spent = SpentChallenge.objects.filter(poll=poll, signature=challenge.signature)
        if not challenge.valid or spent.exists():  # the poll's lock orders the spenders
            raise ChallengeFailed()
    if _capped(poll, voter, address):
        count, _ = AddressCount.objects.get_or_create(poll=poll, prefix=address)
        if count.ballots >= poll.max_ballots_per_address:
            raise AddressLimit(
                gettext("This poll has taken as many voters from your network as it allows.")
            )
        AddressCount.objects.filter(pk=count.pk).update(ballots=F("ballots") + 1)
    if pow and challenge is not None:
        SpentChallenge.objects.create(
            poll=poll, signature=challenge.signature, expires_at=challenge.expires_at
        )


def _address_release(poll: Poll, voter: Voter, address: str) -> None:
    """A voter whose last upvote went (and who asked nothing) gives its
    place back: toggling one upvote cannot use up a room's cap."""
    if _capped(poll, voter, address) and not _seen(poll, voter):
        counts = AddressCount.objects.filter(poll=poll, prefix=address, ballots__gt=0)
        counts.update(ballots=F("ballots") - 1)


def _capped(poll: Poll, voter: Voter, address: str) -> bool:
    return bool(voter.is_anonymous and poll.max_ballots_per_address and address)


def _seen(poll: Poll, voter: Voter) -> bool:
    """Has this voter asked or upvoted anything in this poll?"""
    asked = Question.objects.filter(poll=poll, voter_key=voter.key)
    return asked.exists() or Upvote.objects.filter(poll=poll, voter_key=voter.key).exists()


def _question(poll: Poll, question_id: int, *, visible: bool) -> Question:
    questions = Question.objects.filter(poll=poll, pk=question_id)
    if visible:
        questions = questions.filter(state__in=Question.VISIBLE)
    question = questions.first()
    if question is None:
        raise NotFound(gettext("No question with this id in this poll."))
    return question
