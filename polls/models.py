import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

# No 0/O, 1/I/L: a join code is read off a projector and typed on a phone.
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 6
# What a join code may look like anywhere it is read (URLs in any case,
# sockets, the vote pipeline): anything else names no poll.
JOIN_CODE_PATTERN = "[A-Za-z0-9]{4,16}"


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


class Poll(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single"
        MULTIPLE = "multiple"
        RATING = "rating"
        RANKING = "ranking"
        TEXT = "text"
        QA = "qa"

    class Moderation(models.TextChoices):
        NONE = "none"  # answers show at once (the profanity filter still applies)
        PRE = "pre"  # every answer waits for the owner

    class Status(models.TextChoices):
        DRAFT = "draft"
        OPEN = "open"
        CLOSED = "closed"

    class Results(models.TextChoices):
        LIVE = "live"
        AFTER_VOTE = "after_vote"
        AFTER_CLOSE = "after_close"

    class Eligibility(models.TextChoices):
        ANYONE = "anyone"
        SIGNED_IN = "signed_in"
        PASSCODE = "passcode"
        INVITE = "invite"

    class Challenge(models.TextChoices):
        NONE = "none"
        POW = "pow"  # an anonymous first ballot carries a solved ALTCHA challenge

    id = models.CharField(primary_key=True, max_length=10, editable=False)
    # db_index=False here and on the foreign keys below: each is the first
    # column of a composite index or unique constraint, which serves its
    # lookups, so its own index was only written on every ballot (five index
    # writes less per vote) and weighed by the planner on every statement.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="polls", db_index=False
    )
    question = models.CharField(max_length=500)
    description = models.TextField(blank=True, default="")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SINGLE)
    max_choices = models.PositiveSmallIntegerField(default=1)
    # A rating poll's scale (min 0..1, max 2..10); null for the other kinds.
    scale_min = models.PositiveSmallIntegerField(null=True, blank=True)
    scale_max = models.PositiveSmallIntegerField(null=True, blank=True)
    # Text polls: who sees an answer first, how many answers one voter may
    # give, and the owner's own words to refuse beside the filter's lists.
    moderation = models.CharField(max_length=4, choices=Moderation.choices, default=Moderation.NONE)
    answers_per_voter = models.PositiveSmallIntegerField(default=1)
    blocked_words = models.TextField(blank=True, default="")
    anonymous = models.BooleanField(default=True)
    allow_vote_change = models.BooleanField(default=False)
    # Who sees the results when (polls.visibility); the API calls it `results`.
    results_visibility = models.CharField(
        db_column="results", max_length=12, choices=Results.choices, default=Results.LIVE
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    eligibility = models.CharField(
        max_length=10, choices=Eligibility.choices, default=Eligibility.ANYONE
    )
    # Shared with a room (on a slide, on the board): compared in constant time,
    # never echoed by the API. Not hashed: a slow hash on every ballot would
    # cost more than the vote itself, and this is not an account password.
    passcode = models.CharField(max_length=64, blank=True, default="")
    # Anonymous first ballots one client address (IPv4 /32, IPv6 /64) may cast
    # in this poll; 0 = no cap. Counted in AddressCount.
    max_ballots_per_address = models.PositiveIntegerField(default=200)
    challenge = models.CharField(max_length=4, choices=Challenge.choices, default=Challenge.NONE)
    # How many people the owner expects: stuffing detection flags no network
    # for bringing fewer new voters than this (a room behind one NAT).
    expected_audience = models.PositiveIntegerField(null=True, blank=True)
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    # Cached tally, bumped in the vote's own transaction with `version`, so a
    # read of (version, counts) in one statement is a consistent snapshot.
    # `manage.py recount` restores them from the ballot rows.
    version = models.BigIntegerField(default=1)
    total_votes = models.IntegerField(default=0)  # counted ballots: quarantined ones are not
    quarantined = models.IntegerField(default=0)  # ballots held out of the count (cached too)
    # Ballots in a cluster that looks stuffed, as the detector last found
    # (polls.services.integrity.integrity_sweep, in the worker; the owner's
    # report finds them again on demand).
    flagged = models.IntegerField(default=0)
    scanned_at = models.DateTimeField(null=True, blank=True, editable=False)  # by the detector
    # Has a voter withdrawn a quarantined ballot (HeldVoter)? The vote
    # pipeline looks them up only then: nothing to read for other polls.
    has_held_voters = models.BooleanField(default=False)
    results_emailed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The language the poll was made in (the request's): its results email's.
    language = models.CharField(max_length=8, default="en", editable=False)
    # When its opening was last announced (a new state for screens, and
    # `poll.opened` to webhooks): the clock's sweep announces an `opens_at`
    # that passed after it, once, whatever votes came first.
    open_announced_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Sites whose pages may show /p/{id}/embed/ in a frame (CSP frame-ancestors),
    # as origins: "https://blog.example.org". Public: the embed's header says them.
    embed_origins = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["status", "closes_at"]),  # the scheduled-close sweep
        ]

    def __str__(self) -> str:
        return f"{self.id}: {self.question[:60]}"

    # "Takes votes now", the one rule, in the three forms its callers need:
    # on a loaded poll, as an ORM filter, and as SQL for the vote's hand-
    # written statement. test_the_takes_votes_rule_agrees_in_every_form holds
    # them equal. A poll takes votes when its status is open and now is in
    # [opens_at, closes_at); an open poll past closes_at reads as closed.

    def effective_status(self, now=None) -> str:
        """The status clients see: an open poll past `closes_at` is closed."""
        now = now or timezone.now()
        if self.status == self.Status.OPEN and self.closes_at and now >= self.closes_at:
            return self.Status.CLOSED
        return self.status

    def accepts_votes(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.status == self.Status.OPEN
            and (self.opens_at is None or self.opens_at <= now)
            and (self.closes_at is None or now < self.closes_at)
        )

    @classmethod
    def accepting_votes(cls, now) -> models.Q:
        """Filter: polls that take votes at `now`."""
        return (
            models.Q(status=cls.Status.OPEN)
            & (models.Q(opens_at__isnull=True) | models.Q(opens_at__lte=now))
            & (models.Q(closes_at__isnull=True) | models.Q(closes_at__gt=now))
        )

    @classmethod
    def past_close(cls, now) -> models.Q:
        """Filter: open polls whose `closes_at` has passed (they read as closed)."""
        return models.Q(status=cls.Status.OPEN, closes_at__isnull=False, closes_at__lte=now)


# The same rule as SQL, on the poll table's own columns; its parameters are
# ACCEPTS_VOTES_PARAMS(now), in order.
ACCEPTS_VOTES_SQL = (
    "status = %s AND (opens_at IS NULL OR opens_at <= %s) AND (closes_at IS NULL OR closes_at > %s)"
)


def ACCEPTS_VOTES_PARAMS(now) -> list:  # noqa: N802 (pairs with the constant above)
    return [Poll.Status.OPEN, now, now]


class Choice(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="choices", db_index=False)
    text = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField()
    votes = models.IntegerField(default=0)  # cached, see Poll.version

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["poll", "position"], name="choice_unique_position"),
        ]

    def __str__(self) -> str:
        return self.text


class Ballot(models.Model):
    """One voter's ballot in one poll; the unique constraint is the guard."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="ballots", db_index=False)
    # "user:<pk>" for accounts, "anon:<voter id>" for anonymous voters.
    voter_key = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Stuffing detection's signals (polls/integrity.py), blanked after
    # NEXUS_SIGNAL_RETENTION_DAYS: the address prefix and the user agent,
    # hashed with this poll's key, and the voter id's age (seconds).
    net = models.CharField(max_length=16, blank=True, default="")
    agent = models.CharField(max_length=16, blank=True, default="")
    voter_age = models.IntegerField(null=True, blank=True)
    # The owner's quarantine that holds this ballot out of the count (kept,
    # exported, marked); null: counted. DO_NOTHING and no index, as for
    # BallotChoice: a poll's ballots go before its records, and the vote
    # path should not pay for an index it never reads.
    quarantine = models.ForeignKey(
        "IntegrityAction",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "voter_key"], name="ballot_one_per_voter"),
        ]
        indexes = [
            # Only the quarantined few: a release finds them, and deleting a
            # quarantine's record checks its foreign key without a table scan.
            models.Index(
                fields=["quarantine"],
                name="ballot_quarantined",
                condition=models.Q(quarantine__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.poll_id} / {self.voter_key}"


class BallotChoice(models.Model):
    # DO_NOTHING: services delete a poll's ballot choices in one statement
    # before its ballots, so Django never loads ballots to cascade in Python.
    ballot = models.ForeignKey(
        Ballot, on_delete=models.DO_NOTHING, related_name="marks", db_index=False
    )
    poll = models.ForeignKey(Poll, on_delete=models.DO_NOTHING, related_name="+", db_index=False)
    choice = models.ForeignKey(Choice, on_delete=models.CASCADE, related_name="+")
    # What the mark says about its choice, for kinds that say more than
    # "chosen": a rating's score, a ranking's position. Null for single and
    # multiple choice.
    value = models.SmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ballot", "choice"], name="ballotchoice_unique"),
        ]
        indexes = [models.Index(fields=["poll", "choice"])]

    def __str__(self) -> str:
        return f"{self.ballot_id} -> {self.choice_id}"


class TallyLine(models.Model):
    """A cached count beside Choice.votes, for the kinds whose results need
    more than "how many named this choice" (polls.kinds): `m:<choice>:<value>`
    counts marks of one value (a rating's score, a ranking's place), and
    `r:<id>,<id>,...` counts ballots with that whole ranking (instant-runoff
    needs each ballot's order). Bumped in the ballot's own transaction with
    the poll's version; `manage.py recount` rebuilds them from the marks."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=1100)  # "r:" and 50 ids of up to 20 digits
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "key"], name="tallyline_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.poll_id} / {self.key}: {self.count}"


class ResultSnapshot(models.Model):
    """The tally at the end of one second of voting (contract v2, "Results
    history"): upserted by the vote pipeline in each batch's transaction,
    under the poll's lock, so a second keeps its newest version. `counts` is
    "choice:votes,..." for every choice: a row is about 40 bytes whatever
    the number of ballots in its second. The composite key is the only
    index: a history is read by poll, in order."""

    pk = models.CompositePrimaryKey("poll_id", "second")
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="+", db_index=False)
    second = models.BigIntegerField()  # Unix time
    version = models.BigIntegerField()
    total_votes = models.IntegerField()
    counts = models.TextField()

    def __str__(self) -> str:
        return f"{self.poll_id} @ {self.second}: {self.total_votes}"


class Answer(models.Model):
    """One open answer of a text poll, on its voter's ballot. Only shown
    answers are counted into the poll's word counts (TallyLine `w:<word>`),
    shown anywhere, exported or sent to a socket."""

    class State(models.TextChoices):
        PENDING = "pending"
        SHOWN = "shown"
        HIDDEN = "hidden"

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="answers", db_index=False)
    # DO_NOTHING, as BallotChoice: services delete a poll's answers before its ballots.
    ballot = models.ForeignKey(Ballot, on_delete=models.DO_NOTHING, related_name="answers")
    text = models.CharField(max_length=200)
    words = models.CharField(max_length=400)  # polls.text.words_of(text), space-separated
    state = models.CharField(max_length=7, choices=State.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["poll", "state", "-created_at", "-id"])]

    def __str__(self) -> str:
        return f"{self.poll_id} / {self.text[:40]}"


class Question(models.Model):
    """One audience question of a Q&A poll. `upvotes` is cached: bumped with
    its Upvote row and the poll's version in one transaction under the poll's
    lock; `manage.py recount` restores it from the rows. Only shown and
    answered questions are shown anywhere, exported or sent to a socket."""

    class State(models.TextChoices):
        PENDING = "pending"
        SHOWN = "shown"
        ANSWERED = "answered"
        HIDDEN = "hidden"

    VISIBLE = (State.SHOWN, State.ANSWERED)

    poll = models.ForeignKey(
        Poll, on_delete=models.CASCADE, related_name="questions", db_index=False
    )
    voter_key = models.CharField(max_length=200)  # who asked (polls.voters.Voter.key)
    text = models.CharField(max_length=200)
    state = models.CharField(max_length=8, choices=State.choices)
    pinned = models.BooleanField(default=False)  # at most one per poll (services.questions)
    upvotes = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["poll", "state", "-upvotes", "id"]),
            models.Index(fields=["poll", "voter_key"]),
        ]

    def __str__(self) -> str:
        return f"{self.poll_id} / {self.text[:40]}"


class Upvote(models.Model):
    """One voter's upvote of one question; the unique constraint is the guard."""

    # The services delete a poll's upvotes in one statement first; CASCADE
    # for deletes outside them (the admin).
    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="+", db_index=False)
    voter_key = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["question", "voter_key"], name="upvote_one_per_voter"),
        ]
        indexes = [models.Index(fields=["poll", "voter_key"])]

    def __str__(self) -> str:
        return f"{self.question_id} ^ {self.voter_key}"


class Invite(models.Model):
    """A single-use right to vote in an `invite` poll. The token handed out is
    the nonce signed with the poll's id (polls.voters.invite_token); revoking
    an unused invite deletes its row."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="invites")
    nonce = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)  # its first ballot

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "nonce"], name="invite_unique_nonce"),
        ]

    def __str__(self) -> str:
        return f"{self.poll_id} / invite {self.nonce[:6]}…"


class AddressCount(models.Model):
    """Anonymous first ballots per (poll, client address prefix): the address
    cap. Bumped in the ballot's own transaction, so it counts only committed
    ballots and two concurrent ballots cannot both take the last place."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="+")
    prefix = models.CharField(max_length=64)
    ballots = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "prefix"], name="addresscount_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.poll_id} / {self.prefix}: {self.ballots}"


class SpentChallenge(models.Model):
    """A proof-of-work challenge an anonymous first ballot has used: written in
    the ballot's own transaction, under the poll's lock, so a challenge buys
    one ballot however many send it at once. Kept until the challenge expires
    (the hourly purge), after which the signature check refuses it anyway."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="+")
    signature = models.CharField(max_length=64)  # the challenge's HMAC, hex
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "signature"], name="spentchallenge_unique"),
        ]
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"{self.poll_id} / {self.signature[:12]}"


class IntegrityAction(models.Model):
    """One quarantine or release of a poll's ballots by its owner: who, when,
    which signal and how many. Shown with the poll's integrity report; kept
    until the poll goes."""

    class Action(models.TextChoices):
        QUARANTINE = "quarantine"
        RELEASE = "release"

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    signal = models.CharField(max_length=200)  # a signal's id, "all_flagged" or "all"
    detail = models.CharField(max_length=300, blank=True)  # the signal's, when acted on
    ballots = models.IntegerField(default=0)  # how many it moved
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.poll_id} / {self.action} {self.signal}: {self.ballots}"


class HeldVoter(models.Model):
    """A voter who withdrew a quarantined ballot. The quarantine stays with
    the voter, not the row: a ballot they cast again starts quarantined
    (services.batch_sql). Released with its quarantine; gone with the poll."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="+", db_index=False)
    voter_key = models.CharField(max_length=200)
    quarantine = models.ForeignKey(IntegrityAction, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "voter_key"], name="heldvoter_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.poll_id} / held {self.voter_key}"


class IdempotencyRecord(models.Model):
    """The first 2xx answer to (voter, Idempotency-Key), replayed verbatim."""

    scope = models.CharField(max_length=200)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.TextField()  # exact bytes sent (jsonb would reorder keys)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} / {self.key}"


class Export(models.Model):
    """A CSV of a poll's results and ballots, built by a background job."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="exports")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    path = models.CharField(max_length=300, blank=True)  # under MEDIA_ROOT
    rows = models.IntegerField(default=0)  # ballots written so far
    attempts = models.IntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"export {self.id} of {self.poll_id}"


class JoinCode(models.Model):
    """Every join code ever handed out, a poll's or an event's: one namespace,
    so `/p/{code}/` and the join box find either, and a code is never given
    twice (a QR code printed for a deleted poll never leads to a new one)."""

    code = models.CharField(primary_key=True, max_length=10)

    def __str__(self) -> str:
        return self.code


class Event(models.Model):
    """One join code for a series of polls that a presenter steps through."""

    id = models.CharField(primary_key=True, max_length=10, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    title = models.CharField(max_length=200)
    # The poll the room is on; null between questions (or when it was deleted).
    current = models.ForeignKey(
        Poll, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Bumped with every change the room sees (current poll, the polls' list).
    version = models.BigIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    embed_origins = models.JSONField(default=list, blank=True)  # as Poll's, for /e/{id}/embed/

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.id}: {self.title[:60]}"


class EventPoll(models.Model):
    """A poll's place in its event (a poll is in at most one)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="items", db_index=False)
    poll = models.OneToOneField(Poll, on_delete=models.CASCADE, related_name="event_item")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["event", "position"])]

    def __str__(self) -> str:
        return f"{self.event_id} #{self.position}: {self.poll_id}"
