"""A batch of ballot writes decided in Python, in arrival order, against
the state read under the polls' locks (batch_sql.load). Nothing here talks
to the database: the decisions are written by batch_sql.apply.

Each ballot's state is kept as what is committed (`original`) and what the
batch leaves (`final`); the rows, marks and counters to write are the
difference. A voter who appears twice in a batch sees the first write.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy

from nexus.errors import ApplicationError, NotFound

from ..challenges import PAYING, Proof
from ..eligibility import voter_admit
from ..errors import (
    AddressLimit,
    AlreadyVoted,
    ChallengeFailed,
    ChallengeRequired,
    IdempotencyMismatch,
    NotInvited,
    PollClosed,
    VoteChangeNotAllowed,
)
from ..integrity import NO_SIGNALS, Signals
from ..kinds import Mark, check_shape, checked_marks, in_order, ratings_of
from ..models import Answer, Poll
from ..serializers import ballot_answer
from ..text import checked_answer
from ..voters import Voter


@dataclass(frozen=True)
class BallotWrite:
    poll_id: str
    voter: Voter
    choice_ids: tuple[int, ...] | None  # None: withdraw the voter's ballot
    passcode: str | None = None
    address: str = ""  # the client's address prefix, for the address cap
    key: str | None = None  # Idempotency-Key
    fingerprint: str = ""
    # The body's shape (polls.kinds.SHAPES): "choices"; "ratings", with the
    # scores in `values` beside `choice_ids`; "ranking", `choice_ids` best first.
    shape: str = "choices"
    values: tuple[int, ...] = ()
    text: str | None = None  # a text poll's answer (shape "text"), as checked_text keeps it
    words: tuple[str, ...] = ()  # and the words it counts for
    challenge: Proof | None = None  # X-Challenge, checked (polls.challenges); None: not sent
    signals: Signals = NO_SIGNALS  # what a first ballot keeps for stuffing detection


@dataclass(frozen=True)
class VoteOutcome:
    """What a write did: the REST answer (`body`, replayed byte for byte for
    an Idempotency-Key) and the same ballot, typed, for GraphQL."""

    status: int  # 201 first ballot, 200 change, 204 withdrawn
    body: str
    poll_id: str = ""
    choice_ids: tuple[int, ...] = ()
    voter_id: str | None = None
    created_at: datetime | None = None
    ratings: dict[str, int] | None = None  # a rating poll's ballot
    ranking: tuple[int, ...] | None = None  # a ranking poll's ballot
    text: str | None = None  # a text poll's answer
    state: str | None = None  # and whether it shows or waits for the owner

    @classmethod
    def replayed(cls, status: int, body: str) -> "VoteOutcome":
        data = json.loads(body)
        created = datetime.fromisoformat(data["created_at"].replace("Z", "+00:00"))
        choices = tuple(data["choices"])
        ranking = tuple(data["ranking"]) if "ranking" in data else None
        return cls(
            status,
            body,
            data["poll"],
            choices,
            data.get("voter_id"),
            created,
            data.get("ratings"),
            ranking,
            data.get("text"),
            data.get("state"),
        )


@dataclass
class PollState:
    poll: Poll  # the fields a write is judged by (not saved)
    choices: set[int]
    open_now: bool


@dataclass
class BallotState:
    poll_id: str
    voter: Voter
    original_id: int | None = None  # the committed ballot, if any
    original_marks: frozenset[Mark] = frozenset()
    final_marks: frozenset[Mark] | None = None  # None: no ballot after the batch
    created_at: datetime | None = None  # of the final ballot
    new_row: bool = False  # the final ballot is a new row (a first ballot)
    signals: Signals = NO_SIGNALS  # a new row's (polls.integrity)
    id: int | None = None  # the final row's id, once written
    # A text poll's answers: committed ones {id: (words, state)}, those the
    # batch removes, and those it adds [(text, words, state)].
    answers: dict[int, tuple[str, str]] = field(default_factory=dict)
    answers_removed: set[int] = field(default_factory=set)
    answers_added: list[tuple[str, str, str]] = field(default_factory=list)
    # The owner's quarantine (IntegrityAction id) holding the committed row
    # out of the count, and one the voter carries from a quarantined ballot
    # withdrawn in an earlier batch (HeldVoter).
    quarantine: int | None = None
    inherited: int | None = None

    @property
    def final_quarantine(self) -> int | None:
        """The quarantine sticks to the voter: a changed ballot keeps its
        row's; a ballot cast again (after a withdrawal in this batch or an
        earlier one) takes the withdrawn one's."""
        if self.final_marks is None:
            return None
        return self.quarantine if self.quarantine is not None else self.inherited

    @property
    def counted_before(self) -> bool:
        return self.original_id is not None and self.quarantine is None

    @property
    def counted_after(self) -> bool:
        return self.final_marks is not None and self.final_quarantine is None

    @property
    def held_before(self) -> bool:
        return self.original_id is not None and self.quarantine is not None

    @property
    def held_after(self) -> bool:
        return self.final_quarantine is not None

    @property
    def leaves_held(self) -> bool:
        """A quarantined ballot withdrawn for good: its voter stays held."""
        return self.final_marks is None and self.quarantine is not None

    def answer_count(self) -> int:
        return len(self.answers) - len(self.answers_removed) + len(self.answers_added)

    def drop_answers(self) -> None:
        self.answers_removed = set(self.answers)
        self.answers_added = []


@dataclass
class State:
    """What batch_sql.load read under the polls' locks."""

    polls: dict[str, PollState]
    ballots: dict[tuple[str, str], BallotState]
    invites: set[tuple[str, str]]  # (poll, nonce) of unrevoked invites
    address_counts: dict[tuple[str, str], int]
    spent: set[tuple[str, str]]  # (poll, signature) of challenges used already
    records: dict[tuple[str, str], tuple[str, int, str]]  # (scope, key) -> fp, status, body
    busy: set[str] = field(default_factory=set)  # polls locked elsewhere (skipped)
    held: dict[tuple[str, str], int] = field(default_factory=dict)  # (poll, voter) -> quarantine


@dataclass
class Batch:
    writes: list[BallotWrite]
    state: State
    now: datetime = field(default_factory=timezone.now)
    invites_used: set[tuple[str, str]] = field(default_factory=set)
    address_added: Counter = field(default_factory=Counter)
    spent_added: dict[tuple[str, str], Proof] = field(default_factory=dict)
    new_records: list[tuple[str, str, str, int, str]] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)  # polls whose tally or version moves

    def decide(self) -> list[VoteOutcome | Exception]:
        results: list[VoteOutcome | Exception] = []
        for write in self.writes:
            try:
                results.append(self._one(write))
            except ApplicationError as exc:  # this write's refusal; it wrote nothing
                results.append(exc)
        return results

    def _one(self, write: BallotWrite) -> VoteOutcome:
        scope_key = (write.voter.key, write.key) if write.key else None
        if scope_key and scope_key in self.state.records:
            fingerprint, status, body = self.state.records[scope_key]
            if fingerprint != write.fingerprint:
                raise IdempotencyMismatch()
            return VoteOutcome.replayed(status, body)
        poll = self._poll(write)
        if write.choice_ids is None:
            return self._withdraw(write, poll)
        outcome = self._cast(write, poll)
        if scope_key:
            record = (write.fingerprint, outcome.status, outcome.body)
            self.state.records[scope_key] = record
            self.new_records.append((*scope_key, *record))
        return outcome

    def _poll(self, write: BallotWrite) -> PollState:
        state = self.state.polls.get(write.poll_id)
        voter = write.voter
        if state is None or (
            state.poll.status == Poll.Status.DRAFT
            and (voter.kind != "user" or state.poll.owner_id != voter.user_id)
        ):
            raise NotFound(gettext_lazy("No poll with this id."))
        return state

    def _cast(self, write: BallotWrite, state: PollState) -> VoteOutcome:
        poll, voter = state.poll, write.voter
        voter_admit(poll, voter, write.passcode)
        if not state.open_now:
            raise PollClosed()
        if poll.kind == Poll.Kind.TEXT:
            return self._answer_text(write, state)
        chosen = checked_marks(
            poll, state.choices, write.shape, write.choice_ids or (), write.values
        )
        ballot = self._ballot(write)
        if ballot.final_marks is not None:
            if not poll.allow_vote_change:
                raise AlreadyVoted()
            if chosen != ballot.final_marks:
                ballot.final_marks = chosen
                self.touched.add(poll.id)
            return self._answer(write, ballot, created=False)
        self._admit_first(write, state)
        ballot.final_marks, ballot.created_at, ballot.new_row = chosen, self.now, True
        ballot.signals = write.signals
        self.touched.add(poll.id)
        return self._answer(write, ballot, created=True)

    def _answer_text(self, write: BallotWrite, state: PollState) -> VoteOutcome:
        """A text poll's answer: a first ballot, one more answer (up to
        answers_per_voter), or, with vote change and one answer each, a new
        answer in place of the old one."""
        poll = state.poll
        check_shape(poll, write.shape)
        checked_answer(poll, write.text)
        text, words = write.text or "", write.words
        shows = (
            Answer.State.PENDING if poll.moderation == Poll.Moderation.PRE else Answer.State.SHOWN
        )
        ballot = self._ballot(write)
        created = ballot.final_marks is None
        if created:
            self._admit_first(write, state)
            ballot.final_marks, ballot.created_at, ballot.new_row = frozenset(), self.now, True
            ballot.signals = write.signals
        elif ballot.answer_count() >= poll.answers_per_voter:
            if not (poll.allow_vote_change and poll.answers_per_voter == 1):
                raise AlreadyVoted()
            ballot.drop_answers()
        ballot.answers_added.append((text, " ".join(words), shows))
        self.touched.add(poll.id)
        status, body = ballot_answer(
            poll_id=poll.id,
            created_at=ballot.created_at,
            marks=frozenset(),
            kind=poll.kind,
            voter=write.voter,
            created=created,
            answer=(text, shows),
        )
        voter_id = write.voter.voter_id if write.voter.is_anonymous else None
        return VoteOutcome(
            status, body, poll.id, (), voter_id, ballot.created_at, text=text, state=shows
        )

    def _admit_first(self, write: BallotWrite, state: PollState) -> None:
        """A first ballot: its invite must still exist; an anonymous or an
        account's one brings an unspent proof of work where the poll asks for
        one; an anonymous one's address has room. Nothing is spent unless
        every check passes."""
        voter, poll = write.voter, state.poll
        if voter.kind == "invite":
            invite = (poll.id, voter.invite_nonce or "")
            if invite not in self.state.invites:
                raise NotInvited(gettext_lazy("This invite was revoked."))
            self.invites_used.add(invite)
        proof = None
        if voter.kind in PAYING and poll.challenge == Poll.Challenge.POW:
            proof = write.challenge
            if proof is None:
                raise ChallengeRequired()
            spend = (poll.id, proof.signature)
            if not proof.valid or spend in self.state.spent or spend in self.spent_added:
                raise ChallengeFailed()
        cap = poll.max_ballots_per_address
        if voter.is_anonymous and cap and write.address:
            where = (poll.id, write.address)
            if self.state.address_counts.get(where, 0) + self.address_added[where] >= cap:
                raise AddressLimit()
            self.address_added[where] += 1
        if proof is not None:
            self.spent_added[(poll.id, proof.signature)] = proof

    def _withdraw(self, write: BallotWrite, state: PollState) -> VoteOutcome:
        if not state.open_now:
            raise PollClosed()
        if not state.poll.allow_vote_change:
            raise VoteChangeNotAllowed()
        ballot = self._ballot(write)
        if ballot.final_marks is None:
            raise NotFound(gettext_lazy("You have no ballot in this poll."))
        ballot.final_marks, ballot.new_row = None, False
        ballot.drop_answers()
        self.touched.add(state.poll.id)
        return VoteOutcome(204, "", write.poll_id)

    def _ballot(self, write: BallotWrite) -> BallotState:
        where = (write.poll_id, write.voter.key)
        if where not in self.state.ballots:
            inherited = self.state.held.get(where)
            self.state.ballots[where] = BallotState(write.poll_id, write.voter, inherited=inherited)
        return self.state.ballots[where]

    def _answer(self, write: BallotWrite, ballot: BallotState, *, created: bool) -> VoteOutcome:
        marks, kind = ballot.final_marks or frozenset(), self.state.polls[write.poll_id].poll.kind
        status, body = ballot_answer(
            poll_id=write.poll_id,
            created_at=ballot.created_at,
            marks=marks,
            kind=kind,
            voter=write.voter,
            created=created,
        )
        return VoteOutcome(
            status,
            body,
            write.poll_id,
            tuple(sorted(c for c, _ in marks)),
            write.voter.voter_id if write.voter.is_anonymous else None,
            ballot.created_at,
            ratings_of(marks) if kind == Poll.Kind.RATING else None,
            tuple(in_order(marks)) if kind == Poll.Kind.RANKING else None,
        )
