"""GraphQL: the same polls, votes and live results as REST, through the same
selectors and services (no second copy of the rules). Errors carry the
contract's codes in `extensions.code`."""

import functools
import re
from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
import strawberry_django
from django.utils.translation import gettext
from graphql import GraphQLError
from rest_framework import exceptions as drf
from strawberry.scalars import JSON
from strawberry.types import Info

from nexus import links
from nexus.errors import (
    ApplicationError,
    Forbidden,
    Invalid,
    NotFound,
    error_body,
    exception_handler,
)
from nexus.outage import database_unavailable

from . import challenges, models, selectors, services
from .kinds import VoteBody
from .serializers import (
    MAX_MARKS,
    EventCurrentSerializer,
    EventPollsSerializer,
    EventWriteSerializer,
    InviteMintSerializer,
    PollWriteSerializer,
    QuarantineSerializer,
    ReleaseSerializer,
    event_data,
    quarantine_result,
)
from .services import answers, events, idempotency, integrity, invites, questions
from .voters import passcode_checked, voter_id_issue


def _graphql_error(exc: Exception) -> GraphQLError:
    """An error in the contract's terms: the REST handler decides code and detail."""
    response = exception_handler(exc, {"view": "graphql"})
    body = response.data if response is not None else error_body("server_error", str(exc))
    extensions = {"code": body["code"], **({"fields": body["fields"]} if "fields" in body else {})}
    if response is not None and "Retry-After" in response.headers:
        extensions["retryAfter"] = int(response.headers["Retry-After"])
    return GraphQLError(body["detail"], extensions=extensions)


def contract_errors(resolver):
    @functools.wraps(resolver)
    def wrapper(*args, **kwargs):
        try:
            return resolver(*args, **kwargs)
        except Exception as exc:
            if isinstance(exc, ApplicationError | drf.APIException) or database_unavailable(exc):
                raise _graphql_error(exc) from exc
            raise

    return wrapper


# --- types ----------------------------------------------------------------------


@strawberry_django.type(models.Choice)
class Choice:
    id: strawberry.ID
    text: str
    position: int


@strawberry.type
class Scale:
    min: int
    max: int


@strawberry.input
class ScaleInput:
    min: int
    max: int


@strawberry_django.type(models.Poll)
class Poll:
    id: strawberry.ID
    question: str
    description: str
    kind: str
    max_choices: int
    moderation: str
    answers_per_voter: int
    anonymous: bool
    allow_vote_change: bool
    results: str = strawberry_django.field(field_name="results_visibility")
    eligibility: str
    max_ballots_per_address: int
    challenge: str
    expected_audience: int | None
    opens_at: datetime | None
    closes_at: datetime | None
    created_at: datetime
    total_votes: int = strawberry_django.field(description="Ballots cast, even while hidden.")
    choices: list[Choice]

    @strawberry_django.field
    def status(self, root: models.Poll) -> str:
        return root.effective_status()

    @strawberry_django.field
    def owner(self, root: models.Poll) -> str:
        return root.owner.username

    @strawberry_django.field
    def has_passcode(self, root: models.Poll) -> bool:
        return bool(root.passcode)

    @strawberry_django.field(description="A rating poll's scale; null for other kinds.")
    def scale(self, root: models.Poll) -> Scale | None:
        if root.kind != models.Poll.Kind.RATING:
            return None
        return Scale(min=root.scale_min, max=root.scale_max)


@strawberry.type
class Event:
    """An event as REST answers it (polls.serializers.event_data)."""

    id: strawberry.ID
    title: str
    owner: str
    polls: list[strawberry.ID]
    current: strawberry.ID | None
    version: int
    created_at: datetime

    @classmethod
    def of(cls, event: models.Event, user) -> "Event":
        data = event_data(event, selectors.event_poll_ids(event=event, user=user))
        return cls(
            id=data["id"],
            title=data["title"],
            owner=data["owner"],
            polls=data["polls"],
            current=data["current"],
            version=data["version"],
            created_at=event.created_at,
        )


@strawberry.type
class EventState:
    """What `/ws/events/{id}/` sends as its `event` message."""

    event: strawberry.ID
    version: int
    current: strawberry.ID | None
    title: str


@strawberry.type
class ChoiceResult:
    id: strawberry.ID
    text: str
    votes: int
    share: float
    count: int | None = strawberry.field(default=None, description="rating: ratings given")
    mean: float | None = strawberry.field(default=None, description="rating: mean score")
    distribution: list[int] | None = strawberry.field(
        default=None, description="rating: how many gave each score, min to max"
    )
    borda: int | None = strawberry.field(default=None, description="ranking: Borda points")
    first: int | None = strawberry.field(default=None, description="ranking: ranked first")


@strawberry.type
class ChoiceCount:
    choice: strawberry.ID
    votes: int


@strawberry.type
class IrvRound:
    counts: list[ChoiceCount]
    eliminated: strawberry.ID | None


@strawberry.type
class Irv:
    """A ranking poll's instant-runoff count (docs/API.md: the tie rule)."""

    rounds: list[IrvRound]
    winner: strawberry.ID | None

    @classmethod
    def of(cls, data: dict) -> "Irv":
        rounds = [
            IrvRound(
                counts=[ChoiceCount(choice=c, votes=n) for c, n in r["counts"].items()],
                eliminated=r["eliminated"],
            )
            for r in data["rounds"]
        ]
        return cls(rounds=rounds, winner=data["winner"])


_KIND_FIELDS = ("count", "mean", "distribution", "borda", "first")


@strawberry.type
class WordCount:
    word: str
    count: int


@strawberry.type
class ShownAnswer:
    id: strawberry.ID
    text: str


@strawberry.type
class TopQuestion:
    id: strawberry.ID
    text: str
    upvotes: int
    state: str
    pinned: bool


@strawberry.type
class Question:
    """A Q&A question as REST answers it (polls.question_api.QuestionSerializer)."""

    id: strawberry.ID
    text: str
    state: str
    upvotes: int
    pinned: bool
    created_at: datetime

    @classmethod
    def of(cls, q: models.Question) -> "Question":
        return cls(
            id=strawberry.ID(str(q.id)),
            text=q.text,
            state=q.state,
            upvotes=q.upvotes,
            pinned=q.pinned,
            created_at=q.created_at,
        )


@strawberry.type
class MyQuestions:
    questions: list[Question]
    upvoted: list[strawberry.ID]


@strawberry.type
class Answer:
    id: strawberry.ID
    text: str
    state: str
    created_at: datetime


@strawberry.type
class Results:
    poll: strawberry.ID
    version: int
    status: str
    total_votes: int
    choices: list[ChoiceResult]
    irv: Irv | None = None
    words: list[WordCount] | None = strawberry.field(
        default=None, description="text polls: the top 100 words of shown answers"
    )
    shown: int | None = None
    pending: int | None = None
    answers: list[ShownAnswer] | None = strawberry.field(
        default=None, description="text polls: the 10 newest shown answers"
    )
    questions: list[TopQuestion] | None = strawberry.field(
        default=None, description="Q&A polls: the top 100 shown or answered questions"
    )
    quarantined: int = strawberry.field(
        default=0, description="Ballots the owner holds out of the count (not in total_votes)."
    )

    @classmethod
    def of(cls, data: dict, texts: dict[int, str]) -> "Results":
        return cls(
            poll=data["poll"],
            version=data["version"],
            status=data["status"],
            total_votes=data["total_votes"],
            choices=[
                ChoiceResult(
                    id=c["id"],
                    text=c.get("text", texts.get(c["id"], "")),
                    votes=c["votes"],
                    share=c["share"],
                    **{k: c[k] for k in _KIND_FIELDS if k in c},
                )
                for c in data["choices"]
            ],
            irv=Irv.of(data["irv"]) if "irv" in data else None,
            words=[WordCount(**w) for w in data["words"]] if "words" in data else None,
            shown=data.get("shown"),
            pending=data.get("pending"),
            answers=[ShownAnswer(**a) for a in data["answers"]] if "answers" in data else None,
            questions=[TopQuestion(**q) for q in data["questions"]]
            if "questions" in data
            else None,
            quarantined=data.get("quarantined", 0),
        )


@strawberry.type
class HistoryChoice:
    id: strawberry.ID
    votes: int


@strawberry.type
class HistoryPoint:
    at: datetime = strawberry.field(description="the end of the interval")
    version: int
    total_votes: int
    choices: list[HistoryChoice]


@strawberry.type(description="How the tally moved (REST: GET /api/polls/{id}/results/history/).")
class ResultsHistory:
    poll: strawberry.ID
    every: int = strawberry.field(description="seconds per interval, as answered")
    points: list[HistoryPoint]
    after: str | None = strawberry.field(
        description="the next page's `after` (Unix seconds, a string: GraphQL's Int"
        " ends in 2038); null at the end"
    )


@strawberry.type
class Rating:
    choice: strawberry.ID
    score: int


@strawberry.input
class RatingInput:
    choice: strawberry.ID
    score: int


@strawberry.type
class Ballot:
    poll: strawberry.ID
    choices: list[strawberry.ID]
    voter_id: str | None
    created_at: datetime
    ratings: list[Rating] | None = None
    ranking: list[strawberry.ID] | None = None
    text: str | None = None
    state: str | None = None


@strawberry.type
class Invite:
    token: str
    url: str


@strawberry.type
class InviteCounts:
    issued: int
    used: int


@strawberry.type
class Signal:
    id: str = strawberry.field(description="What to quarantine or release it by.")
    kind: str = strawberry.field(description="prefix_burst, rate_burst or lockstep")
    detail: str
    ballots: int
    quarantined: int = strawberry.field(description="Of its ballots, how many are quarantined.")
    start: datetime
    end: datetime


@strawberry.type
class Arrivals:
    start: datetime | None
    seconds: int = strawberry.field(description="Each stretch's length.")
    ballots: list[int]
    flagged: list[int]
    quarantined: list[int]


@strawberry.type
class IntegrityAction:
    action: str = strawberry.field(description="quarantine or release")
    signal: str = strawberry.field(description='A signal\'s id, "all_flagged" or "all".')
    detail: str
    ballots: int = strawberry.field(description="How many ballots it moved.")
    by: str | None
    at: datetime


@strawberry.type
class Integrity:
    flagged: int
    quarantined: int
    signals: list[Signal]
    arrivals: Arrivals
    actions: list[IntegrityAction] = strawberry.field(description="Newest first, the last 100.")


@strawberry.type
class QuarantineResult:
    action: IntegrityAction
    quarantined: int
    total_votes: int
    version: int

    @classmethod
    def of(cls, record: models.IntegrityAction) -> "QuarantineResult":
        data = quarantine_result(record)
        return cls(**{**data, "action": IntegrityAction(**data["action"])})


@strawberry.input
class CreatePollInput:
    question: str
    choices: list[str]
    description: str | None = strawberry.UNSET
    kind: str | None = strawberry.UNSET
    max_choices: int | None = strawberry.UNSET
    scale: ScaleInput | None = strawberry.UNSET
    moderation: str | None = strawberry.UNSET
    answers_per_voter: int | None = strawberry.UNSET
    blocked_words: str | None = strawberry.UNSET
    anonymous: bool | None = strawberry.UNSET
    allow_vote_change: bool | None = strawberry.UNSET
    results: str | None = strawberry.UNSET
    status: str | None = strawberry.UNSET
    eligibility: str | None = strawberry.UNSET
    passcode: str | None = strawberry.UNSET
    max_ballots_per_address: int | None = strawberry.UNSET
    challenge: str | None = strawberry.UNSET
    expected_audience: int | None = strawberry.UNSET
    opens_at: datetime | None = strawberry.UNSET
    closes_at: datetime | None = strawberry.UNSET
    event: strawberry.ID | None = strawberry.UNSET


# --- queries and mutations ------------------------------------------------------


def _user(info: Info):
    return info.context.user


_ID = re.compile(r"[0-9]{1,18}")


def _vote_body(choices, ratings, ranking, text) -> VoteBody:
    """The vote mutation's one ballot argument, as REST's body (polls.kinds)."""
    given = {
        name: value
        for name, value in (
            ("choices", choices),
            ("ratings", ratings),
            ("ranking", ranking),
            ("text", text),
        )
        if value is not None
    }
    if len(given) != 1:
        raise Invalid(gettext("Give one of choices, ratings, ranking or text."))
    ((shape, value),) = given.items()
    if shape == "text":
        return VoteBody("text", text=value)
    if len(value) > MAX_MARKS:
        raise Invalid(fields={shape: gettext("At most %(most)d.") % {"most": MAX_MARKS}})
    raw = [r.choice for r in value] if shape == "ratings" else value
    if not all(_ID.fullmatch(str(c)) for c in raw):  # not int(): " 1", "+1", "١" are no ids
        raise Invalid(fields={shape: gettext("Choice ids are integers.")})
    ids = tuple(int(c) for c in raw)
    if shape == "ratings":
        return VoteBody(shape, ids, tuple(r.score for r in value))
    return VoteBody(shape, ids)


@strawberry.type
class Query:
    @strawberry.field
    @contract_errors
    def poll(self, info: Info, id: strawberry.ID) -> Poll | None:
        try:
            return selectors.poll_get(poll_id=str(id).upper(), user=_user(info))
        except ApplicationError:
            return None

    @strawberry.field
    @contract_errors
    def polls(
        self,
        info: Info,
        status: str | None = None,
        mine: bool = False,
        search: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> list[Poll]:
        if status is not None and status not in models.Poll.Status.values:
            raise Invalid(fields={"status": gettext("One of draft, open, closed.")})
        if not offset >= 0 or not 1 <= limit <= 100:
            raise Invalid(fields={"limit": gettext("1 to 100; offset >= 0.")})
        user = _user(info)
        if mine and not user.is_authenticated:
            raise drf.NotAuthenticated(gettext("Sign in to list your polls."))
        polls = selectors.poll_list(user=user, status=status, mine=mine, search=search)
        return list(polls[offset : offset + limit])

    @strawberry.field
    @contract_errors
    def event(self, info: Info, id: strawberry.ID) -> Event | None:
        try:
            return Event.of(selectors.event_get(event_id=str(id).upper()), _user(info))
        except ApplicationError:
            return None

    @strawberry.field
    @contract_errors
    def events(
        self, info: Info, mine: bool = False, offset: int = 0, limit: int = 20
    ) -> list[Event]:
        if not offset >= 0 or not 1 <= limit <= 100:
            raise Invalid(fields={"limit": gettext("1 to 100; offset >= 0.")})
        user = _user(info)
        if mine and not user.is_authenticated:
            raise drf.NotAuthenticated(gettext("Sign in to list your events."))
        found = selectors.event_list(user=user, mine=mine)[offset : offset + limit]
        return [Event.of(e, user) for e in found]

    @strawberry.field(
        description="A proof-of-work challenge for a `challenge: pow` poll (ALTCHA v2):"
        " solve it and pass it, with its solution, as the vote's `challenge` (base64 JSON)."
    )
    @contract_errors
    def challenge(self, info: Info, poll_id: strawberry.ID) -> JSON:
        info.context.throttle(challenge=True)
        poll_id = str(poll_id).upper()
        selectors.pow_poll_check(poll_id=poll_id, user=_user(info))
        return challenges.challenge_issue(poll_id)

    @strawberry.field
    @contract_errors
    def results(self, info: Info, poll_id: strawberry.ID) -> Results | None:
        voter = info.context.voter(None)
        data = selectors.results_get(poll_id=str(poll_id).upper(), user=_user(info), voter=voter)
        return Results.of(data, {})

    @strawberry.field
    @contract_errors
    def results_history(
        self, info: Info, poll_id: strawberry.ID, every: str = "1s", after: str | None = None
    ) -> ResultsHistory:
        info.context.throttle(history=True)
        seconds, start = selectors.history_params(every, after)
        data = selectors.results_history(
            poll_id=str(poll_id).upper(),
            user=_user(info),
            voter=info.context.voter(None),
            every=seconds,
            after=start,
        )
        points = [
            HistoryPoint(
                at=p["at"],
                version=p["version"],
                total_votes=p["total_votes"],
                choices=[HistoryChoice(id=c["id"], votes=c["votes"]) for c in p["choices"]],
            )
            for p in data["points"]
        ]
        rest = data["after"]
        return ResultsHistory(
            poll=data["poll"],
            every=data["every"],
            points=points,
            after=None if rest is None else str(rest),
        )

    @strawberry.field(description="A text poll's answers (owner), newest first: the queue.")
    @contract_errors
    def answers(
        self, info: Info, poll_id: strawberry.ID, state: str | None = None, limit: int = 50
    ) -> list[Answer]:
        poll = _owned_poll(info, poll_id)
        found = selectors.moderation_queue(
            poll=poll, model=models.Answer, state=_state(state, models.Answer.State)
        )
        return [
            Answer(id=strawberry.ID(str(a.id)), text=a.text, state=a.state, created_at=a.created_at)
            for a in found[: _limit(limit)]
        ]

    @strawberry.field(description="A Q&A poll's questions (owner), newest first: the queue.")
    @contract_errors
    def questions(
        self, info: Info, poll_id: strawberry.ID, state: str | None = None, limit: int = 50
    ) -> list[Question]:
        poll = _owned_poll(info, poll_id)
        found = selectors.moderation_queue(
            poll=poll, model=models.Question, state=_state(state, models.Question.State)
        )
        return [Question.of(q) for q in found[: _limit(limit)]]

    @strawberry.field(description="Ballot clusters that look stuffed (owner): docs/SECURITY.md.")
    @contract_errors
    def integrity(self, info: Info, poll_id: strawberry.ID) -> Integrity:
        info.context.throttle(integrity=True)  # each field: it reads every ballot
        report = selectors.poll_integrity(poll=_owned_poll(info, poll_id))
        return Integrity(
            flagged=report["flagged"],
            quarantined=report["quarantined"],
            signals=[Signal(**signal) for signal in report["signals"]],
            arrivals=Arrivals(**report["arrivals"]),
            actions=[IntegrityAction(**action) for action in report["actions"]],
        )

    @strawberry.field(description="My questions in a Q&A poll and the ones I upvoted.")
    @contract_errors
    def my_questions(
        self, info: Info, poll_id: strawberry.ID, voter_id: str | None = None
    ) -> MyQuestions:
        voter = info.context.voter(voter_id)
        own, upvoted = questions.questions_mine(poll_id=str(poll_id).upper(), voter=voter)
        return MyQuestions(
            questions=[Question.of(q) for q in own],
            upvoted=[strawberry.ID(str(i)) for i in upvoted],
        )

    @strawberry.field
    @contract_errors
    def invites(self, info: Info, poll_id: strawberry.ID) -> InviteCounts:
        poll = _owned_poll(info, poll_id)
        return InviteCounts(**invites.invite_counts(poll=poll))


@strawberry.type
class Mutation:
    @strawberry.mutation
    @contract_errors
    def create_poll(self, info: Info, input: CreatePollInput) -> Poll:
        info.context.throttle()
        if not _user(info).is_authenticated:
            raise drf.NotAuthenticated()
        data = {k: v for k, v in strawberry.asdict(input).items() if v is not strawberry.UNSET}
        serializer = PollWriteSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        poll = services.poll_create(owner=_user(info), **serializer.validated_data)
        return selectors.poll_get(poll_id=poll.id, user=_user(info))

    @strawberry.mutation
    @contract_errors
    def vote(
        self,
        info: Info,
        poll_id: strawberry.ID,
        choices: list[strawberry.ID] | None = None,
        ratings: list[RatingInput] | None = None,
        ranking: list[strawberry.ID] | None = None,
        text: str | None = None,
        voter_id: str | None = None,
        idempotency_key: str | None = None,
        passcode: str | None = None,
        external_voter: str | None = None,
        challenge: str | None = None,
    ) -> Ballot:
        info.context.throttle()
        poll_id = str(poll_id).upper()
        body = _vote_body(choices, ratings, ranking, text)
        voter = info.context.voter(voter_id, external=external_voter, create=True)
        key = idempotency.key_checked(idempotency_key, field="idempotencyKey")
        outcome = idempotency.vote_answer(
            poll_id=poll_id,
            voter=voter,
            body=body,
            key=key,
            passcode=passcode_checked(passcode, field="passcode"),
            address=info.context.address,
            challenge=challenges.proof_from_header(challenge, poll_id),
            user_agent=info.context.request.headers.get("User-Agent", ""),
            joined=getattr(_user(info), "date_joined", None),
        )
        if voter.generated:
            info.context.set_voter_cookie(voter.voter_id)
        ratings_out = outcome.ratings
        return Ballot(
            poll=outcome.poll_id,
            choices=list(outcome.choice_ids),
            voter_id=outcome.voter_id,
            created_at=outcome.created_at,
            ratings=None
            if ratings_out is None
            else [Rating(choice=c, score=n) for c, n in ratings_out.items()],
            ranking=None if outcome.ranking is None else list(outcome.ranking),
            text=outcome.text,
            state=outcome.state,
        )

    @strawberry.mutation(
        description="Hold one signal's ballots (`signal`) or every flagged one"
        " (`allFlagged: true`) out of the count (owner)."
    )
    @contract_errors
    def quarantine(
        self,
        info: Info,
        poll_id: strawberry.ID,
        signal: str | None = None,
        all_flagged: bool | None = None,
    ) -> QuarantineResult:
        info.context.throttle(integrity=True)  # it reads every ballot
        given = {"signal": signal, "all_flagged": all_flagged}
        data = {k: v for k, v in given.items() if v is not None}
        serializer = QuarantineSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        record = integrity.ballots_quarantine(
            poll_id=str(poll_id).upper(),
            user=_user(info),
            signal=serializer.validated_data.get("signal"),
        )
        return QuarantineResult.of(record)

    @strawberry.mutation(
        description="Count one signal's quarantined ballots (`signal`) or all of them"
        " (`all: true`) again (owner)."
    )
    @contract_errors
    def release(
        self, info: Info, poll_id: strawberry.ID, signal: str | None = None, all: bool | None = None
    ) -> QuarantineResult:
        info.context.throttle(integrity=True)
        given = {"signal": signal, "all": all}
        data = {k: v for k, v in given.items() if v is not None}
        serializer = ReleaseSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        record = integrity.ballots_release(
            poll_id=str(poll_id).upper(),
            user=_user(info),
            signal=serializer.validated_data.get("signal"),
        )
        return QuarantineResult.of(record)

    @strawberry.mutation(description="Show or hide a text poll's answer (owner).")
    @contract_errors
    def moderate_answer(
        self, info: Info, poll_id: strawberry.ID, answer_id: strawberry.ID, state: str
    ) -> Answer:
        info.context.throttle()
        if state not in ("shown", "hidden"):
            raise Invalid(fields={"state": gettext("shown or hidden.")})
        answer = answers.answer_moderate(
            poll_id=str(poll_id).upper(), answer_id=_id(answer_id), user=_user(info), state=state
        )
        return Answer(
            id=strawberry.ID(str(answer.id)),
            text=answer.text,
            state=answer.state,
            created_at=answer.created_at,
        )

    @strawberry.mutation(description="Ask a question in a Q&A poll.")
    @contract_errors
    def ask_question(
        self,
        info: Info,
        poll_id: strawberry.ID,
        text: str,
        voter_id: str | None = None,
        passcode: str | None = None,
        challenge: str | None = None,
    ) -> Question:
        info.context.throttle(question=True, question_by=voter_id)
        voter = info.context.voter(voter_id, create=True)
        poll_id = str(poll_id).upper()
        question, _ = questions.question_ask(
            poll_id=poll_id,
            voter=voter,
            user=_user(info),
            question=text,
            passcode=passcode_checked(passcode, field="passcode"),
            address=info.context.address,
            challenge=challenges.proof_from_header(challenge, poll_id),
        )
        if voter.generated:
            info.context.set_voter_cookie(voter.voter_id)
        return Question.of(question)

    @strawberry.mutation(description="Upvote a question (up: false takes the upvote back).")
    @contract_errors
    def upvote_question(
        self,
        info: Info,
        poll_id: strawberry.ID,
        question_id: strawberry.ID,
        up: bool = True,
        voter_id: str | None = None,
        passcode: str | None = None,
        challenge: str | None = None,
    ) -> Question:
        info.context.throttle()
        voter = info.context.voter(voter_id, create=up)
        if voter is None:
            raise NotFound(gettext("You have not upvoted this question."))
        poll_id = str(poll_id).upper()
        question = questions.question_upvote(
            poll_id=poll_id,
            question_id=_id(question_id),
            voter=voter,
            user=_user(info),
            up=up,
            passcode=passcode_checked(passcode, field="passcode"),
            address=info.context.address,
            challenge=challenges.proof_from_header(challenge, poll_id),
        )
        if voter.generated:
            info.context.set_voter_cookie(voter.voter_id)
        return Question.of(question)

    @strawberry.mutation(description="show, hide, answered, pin or unpin a question (owner).")
    @contract_errors
    def moderate_question(
        self, info: Info, poll_id: strawberry.ID, question_id: strawberry.ID, action: str
    ) -> Question:
        info.context.throttle()
        if action not in questions.ACTIONS:
            raise Invalid(fields={"action": ", ".join(questions.ACTIONS)})
        question = questions.question_moderate(
            poll_id=str(poll_id).upper(),
            question_id=_id(question_id),
            user=_user(info),
            action=action,
        )
        return Question.of(question)

    @strawberry.mutation
    @contract_errors
    def create_voter(self, info: Info) -> str:
        """A new anonymous voter id (also set as the nexus_voter cookie)."""
        info.context.throttle()
        voter_id = voter_id_issue()
        info.context.set_voter_cookie(voter_id)
        return voter_id

    @strawberry.mutation
    @contract_errors
    def create_invites(self, info: Info, poll_id: strawberry.ID, count: int) -> list[Invite]:
        info.context.throttle()
        serializer = InviteMintSerializer(data={"count": count})
        serializer.is_valid(raise_exception=True)
        poll_id = str(poll_id).upper()
        tokens = invites.invites_mint(poll_id=poll_id, user=_user(info), count=count)
        page = links.absolute(info.context.request, f"/p/{poll_id}/")
        return [Invite(token=t, url=f"{page}?invite={t}") for t in tokens]

    @strawberry.mutation
    @contract_errors
    def revoke_invite(self, info: Info, poll_id: strawberry.ID, token: str) -> bool:
        invites.invite_revoke(poll_id=str(poll_id).upper(), user=_user(info), token=token)
        return True

    @strawberry.mutation
    @contract_errors
    def open_poll(self, info: Info, id: strawberry.ID) -> Poll:
        services.poll_open(poll_id=str(id).upper(), user=_user(info))
        return selectors.poll_get(poll_id=str(id).upper(), user=_user(info))

    @strawberry.mutation
    @contract_errors
    def close_poll(self, info: Info, id: strawberry.ID) -> Poll:
        services.poll_close(poll_id=str(id).upper(), user=_user(info))
        return selectors.poll_get(poll_id=str(id).upper(), user=_user(info))

    @strawberry.mutation
    @contract_errors
    def create_event(self, info: Info, title: str) -> Event:
        info.context.throttle()
        if not _user(info).is_authenticated:
            raise drf.NotAuthenticated()
        serializer = EventWriteSerializer(data={"title": title})
        serializer.is_valid(raise_exception=True)
        event = events.event_create(owner=_user(info), **serializer.validated_data)
        return Event.of(selectors.event_get(event_id=event.id), _user(info))

    @strawberry.mutation
    @contract_errors
    def set_event_current(self, info: Info, id: strawberry.ID, poll: strawberry.ID | None) -> Event:
        serializer = EventCurrentSerializer(data={"poll": poll})
        serializer.is_valid(raise_exception=True)
        event_id = str(id).upper()
        events.event_current_set(
            event_id=event_id, user=_user(info), poll_id=serializer.validated_data["poll"]
        )
        return Event.of(selectors.event_get(event_id=event_id), _user(info))

    @strawberry.mutation
    @contract_errors
    def set_event_polls(self, info: Info, id: strawberry.ID, polls: list[strawberry.ID]) -> Event:
        serializer = EventPollsSerializer(data={"polls": polls})
        serializer.is_valid(raise_exception=True)
        event_id = str(id).upper()
        events.event_polls_set(
            event_id=event_id, user=_user(info), poll_ids=serializer.validated_data["polls"]
        )
        return Event.of(selectors.event_get(event_id=event_id), _user(info))

    @strawberry.mutation
    @contract_errors
    def delete_event(self, info: Info, id: strawberry.ID) -> bool:
        events.event_delete(event_id=str(id).upper(), user=_user(info))
        return True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def poll_results(
        self, info: Info, poll_id: strawberry.ID
    ) -> AsyncGenerator[Results, None]:
        from channels.db import database_sync_to_async

        from realtime.auth import voter_from_scope
        from realtime.streams import StateStream

        scope = info.context["ws"].scope
        user = scope.get("user")
        poll_id = str(poll_id).upper()
        texts: dict[int, str] = {}
        try:
            stream = StateStream(
                poll_id,
                user_id=user.pk if user and user.is_authenticated else None,
                voter=voter_from_scope(scope),
            )
            async for message in stream.states():
                if any(c["id"] not in texts for c in message["choices"]):
                    texts = await database_sync_to_async(selectors.choice_texts)(poll_id=poll_id)
                yield Results.of(message, texts)
        except ApplicationError as exc:
            raise _graphql_error(exc) from exc

    @strawberry.subscription
    async def event_state(
        self, info: Info, event_id: strawberry.ID
    ) -> AsyncGenerator[EventState, None]:
        """The event's state now, then at every change (the presenter moves on)."""
        from realtime.streams import EventStream

        try:
            async for message in EventStream(str(event_id).upper()).states():
                yield EventState(
                    event=message["event"],
                    version=message["version"],
                    current=message["current"],
                    title=message["title"],
                )
        except ApplicationError as exc:
            raise _graphql_error(exc) from exc


def _id(value) -> int:
    """A row id from a GraphQL ID: anything else is no such row."""
    text = str(value)
    if not (text.isascii() and text.isdigit() and 0 < int(text) < 2**63):
        raise NotFound(gettext("No such id in this poll."))
    return int(text)


def _state(state: str | None, states) -> str | None:
    if state is not None and state not in states.values:
        raise Invalid(
            fields={"state": gettext("One of %(values)s.") % {"values": ", ".join(states.values)}}
        )
    return state


def _limit(limit: int) -> int:
    if not 1 <= limit <= 200:
        raise Invalid(fields={"limit": gettext("1 to 200.")})
    return limit


def _owned_poll(info: Info, poll_id) -> models.Poll:
    user = _user(info)
    if not user.is_authenticated:
        raise drf.NotAuthenticated()
    poll = selectors.poll_get(poll_id=str(poll_id).upper(), user=user)
    if poll.owner_id != user.pk:
        raise Forbidden(gettext("Only the poll's owner may do this."))
    return poll
