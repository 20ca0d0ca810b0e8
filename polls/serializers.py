import json
import re
from urllib.parse import urlsplit

from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from nexus.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictRegexField,
)

from .kinds import in_order, ratings_of
from .models import JOIN_CODE_PATTERN, Choice, Poll

MAX_CHOICES = 50


class ChoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Choice
        fields = ["id", "text", "position"]


class PollUrlsSerializer(serializers.Serializer):
    vote = serializers.CharField()
    results = serializers.CharField()
    websocket = serializers.CharField()
    page = serializers.CharField()
    present = serializers.CharField()
    embed = serializers.CharField()


JOIN_CODE_REGEX = rf"^{JOIN_CODE_PATTERN}$"


class JoinCodeField(StrictRegexField):
    """A poll's or an event's join code, in any case."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "error_messages", {"invalid": gettext_lazy("A join code: 4 to 16 letters and digits.")}
        )
        super().__init__(JOIN_CODE_REGEX, max_length=16, **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(data).upper()


class OriginField(StrictCharField):
    """A web origin, written as browsers send it: scheme://host[:port]."""

    def __init__(self, **kwargs):
        super().__init__(max_length=200, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data).lower()
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            parts, port = None, None
        ok = (
            parts is not None
            and parts.scheme in {"http", "https"}
            and parts.hostname
            and parts.username is None
            and not (parts.path or parts.query or parts.fragment)
            and re.fullmatch(r"[a-z0-9.\-\[\]:]+", parts.netloc)
        )
        if not ok:
            text = gettext("An origin such as https://blog.example.org (no path), not %(given)s.")
            raise serializers.ValidationError(text % {"given": repr(data[:60])})
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


EMBED_ORIGINS_CHARS = 1000  # a poll's and its event's fit a proxy's 4 KB header buffer


def _origins_fit(origins: list[str]) -> None:
    if sum(len(o) + 1 for o in origins) > EMBED_ORIGINS_CHARS:
        text = gettext("At most %(count)s characters of origins in all.")
        raise serializers.ValidationError(text % {"count": f"{EMBED_ORIGINS_CHARS:,}"})


def embed_origins_field(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=OriginField(),
        max_length=20,
        required=False,
        validators=[_origins_fit],
        help_text="Sites whose pages may show the embed in a frame (frame-ancestors).",
        **kwargs,
    )


def poll_urls(poll_id: str) -> dict:
    return {
        "vote": f"/api/polls/{poll_id}/votes/",
        "results": f"/api/polls/{poll_id}/results/",
        "websocket": f"/ws/polls/{poll_id}/",
        "page": f"/p/{poll_id}/",
        "present": f"/p/{poll_id}/present/",
        "embed": f"/p/{poll_id}/embed/",
    }


class ScaleSerializer(serializers.Serializer):
    """A rating poll's scale: each item is rated from `min` to `max`."""

    min = StrictIntegerField(
        min_value=0,
        max_value=1,
        error_messages={"min_value": gettext_lazy("0 or 1."), "max_value": gettext_lazy("0 or 1.")},
    )
    max = StrictIntegerField(
        min_value=2,
        max_value=10,
        error_messages={
            "min_value": gettext_lazy("From 2 to 10."),
            "max_value": gettext_lazy("From 2 to 10."),
        },
    )

    def validate(self, attrs: dict) -> dict:
        # Both, even in a PATCH (a partial parent makes nested fields optional).
        if {"min", "max"} - attrs.keys():
            raise serializers.ValidationError(gettext('Give both, like {"min": 1, "max": 5}.'))
        return attrs


DEFAULT_SCALE = {"min": 1, "max": 5}
WRITTEN = (Poll.Kind.TEXT, Poll.Kind.QA)  # kinds whose voters write: no choices


class PollIntegritySerializer(serializers.Serializer):
    flagged = serializers.IntegerField(
        help_text="Ballots the worker's detector last found in a cluster that looks stuffed."
    )
    quarantined = serializers.IntegerField(help_text="Ballots held out of the count.")


class PollSerializer(serializers.ModelSerializer):
    """A poll as answered by every endpoint (read-only)."""

    status = serializers.SerializerMethodField()
    has_passcode = serializers.SerializerMethodField()
    owner = serializers.CharField(source="owner.username")
    choices = ChoiceSerializer(many=True)
    embed_origins = serializers.ListField(child=serializers.CharField(), read_only=True)
    scale = serializers.SerializerMethodField()
    urls = serializers.SerializerMethodField()
    integrity = serializers.SerializerMethodField(
        help_text="The owner's only (null for anyone else): the badge's counts"
        " (docs/SECURITY.md, stuffing detection)."
    )
    results = serializers.ChoiceField(source="results_visibility", choices=Poll.Results.choices)

    class Meta:
        model = Poll
        fields = [
            "id",
            "question",
            "description",
            "kind",
            "max_choices",
            "scale",
            "moderation",
            "answers_per_voter",
            "anonymous",
            "allow_vote_change",
            "results",
            "status",
            "eligibility",
            "has_passcode",
            "max_ballots_per_address",
            "challenge",
            "expected_audience",
            "opens_at",
            "closes_at",
            "created_at",
            "owner",
            "total_votes",
            "choices",
            "urls",
            "integrity",
            "embed_origins",
        ]
        extra_kwargs = {
            "total_votes": {"help_text": "Ballots cast: shown even while the results are hidden."}
        }

    @extend_schema_field(ScaleSerializer(allow_null=True))
    def get_scale(self, poll: Poll) -> dict | None:
        if poll.kind != Poll.Kind.RATING:
            return None
        return {"min": poll.scale_min, "max": poll.scale_max}

    def get_has_passcode(self, poll: Poll) -> bool:
        return bool(poll.passcode)

    def get_status(self, poll: Poll) -> str:
        return poll.effective_status()

    def get_urls(self, poll: Poll) -> PollUrlsSerializer:
        return poll_urls(poll.id)

    @extend_schema_field(PollIntegritySerializer(allow_null=True))
    def get_integrity(self, poll: Poll) -> dict | None:
        """The owner's (context `user`) and no one else's: null for others."""
        user = self.context.get("user")
        if user is None or poll.owner_id != user.pk:
            return None
        return {"flagged": poll.flagged, "quarantined": poll.quarantined}


class PollWriteSerializer(serializers.Serializer):
    """Body of `POST /api/polls/` and, with partial=True, of `PATCH`."""

    # Messages in plain words: the pages show them beside the form's fields.
    question = StrictCharField(
        max_length=500,
        error_messages={
            "blank": gettext_lazy("Write the question."),
            "required": gettext_lazy("Write the question."),
            "max_length": gettext_lazy("Keep the question under 500 characters."),
        },
    )
    description = StrictCharField(max_length=5000, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=Poll.Kind.choices, default=Poll.Kind.SINGLE)
    max_choices = serializers.IntegerField(min_value=1, max_value=MAX_CHOICES, required=False)
    choices = serializers.ListField(
        child=StrictCharField(
            max_length=200,
            error_messages={
                "blank": gettext_lazy("A choice cannot be empty."),
                "max_length": gettext_lazy("Keep each choice under 200 characters."),
            },
        ),
        min_length=0,  # 2, but 1 for rating and none for text and Q&A polls (validate)
        max_length=MAX_CHOICES,
        required=False,
        error_messages={
            "min_length": gettext_lazy("Give at least 2 choices, one per line."),
            "max_length": format_lazy(gettext_lazy("Give at most {n} choices."), n=MAX_CHOICES),
            "required": gettext_lazy("Give at least 2 choices, one per line."),
        },
    )
    scale = ScaleSerializer(
        required=False, help_text="Rating polls only; default 1 to 5 (min 0..1, max 2..10)."
    )
    moderation = serializers.ChoiceField(
        choices=Poll.Moderation.choices,
        required=False,
        help_text="Text and Q&A polls: none (answers and questions show at once) or pre"
        " (each waits for the owner).",
    )
    answers_per_voter = StrictIntegerField(
        min_value=1,
        max_value=10,
        required=False,
        help_text="Text polls: how many answers one voter may give (1 to 10, default 1).",
    )
    blocked_words = StrictCharField(
        max_length=2000,
        allow_blank=True,
        required=False,
        write_only=True,
        help_text="Text and Q&A polls: words to refuse beside the filter's, one per line or comma.",
    )
    anonymous = StrictBooleanField(default=True)
    allow_vote_change = StrictBooleanField(default=False)
    results = serializers.ChoiceField(
        source="results_visibility", choices=Poll.Results.choices, default=Poll.Results.LIVE
    )
    status = serializers.ChoiceField(
        choices=[Poll.Status.DRAFT, Poll.Status.OPEN], default=Poll.Status.OPEN
    )
    eligibility = serializers.ChoiceField(choices=Poll.Eligibility.choices, required=False)
    passcode = StrictCharField(
        min_length=4,
        max_length=64,
        write_only=True,
        required=False,
        error_messages={
            "blank": gettext_lazy("Choose a passcode of 4 to 64 characters."),
            "min_length": gettext_lazy("Choose a passcode of 4 to 64 characters."),
            "max_length": gettext_lazy("Choose a passcode of 4 to 64 characters."),
        },
    )
    max_ballots_per_address = StrictIntegerField(
        min_value=0,
        max_value=1_000_000,
        default=200,
        error_messages={
            "min_value": gettext_lazy("Enter 0 (no limit) or a positive whole number."),
            "max_value": gettext_lazy("Enter at most 1,000,000."),
        },
    )
    challenge = serializers.ChoiceField(
        choices=Poll.Challenge.choices,
        required=False,
        help_text="pow: an anonymous first ballot must carry a solved proof-of-work"
        " challenge (X-Challenge); default none.",
    )
    expected_audience = StrictIntegerField(
        min_value=1,
        max_value=1_000_000,
        required=False,
        allow_null=True,
        help_text="How many people you expect: stuffing detection flags no network for"
        " bringing fewer new voters than this (a room behind one NAT).",
    )
    event = JoinCodeField(required=False, help_text="Add the poll to this event (its owner only).")
    embed_origins = embed_origins_field()
    opens_at = serializers.DateTimeField(allow_null=True, default=None)
    closes_at = serializers.DateTimeField(allow_null=True, default=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None:  # an edit may also close a poll
            self.fields["status"] = serializers.ChoiceField(choices=Poll.Status.choices)
            self.fields["max_ballots_per_address"].default = serializers.empty

    def validate_choices(self, texts: list[str]) -> list[str]:
        seen = set()
        for text in texts:
            if text.casefold() in seen:
                message = gettext("Choices must be unique: %(text)s repeats.")
                raise serializers.ValidationError(message % {"text": repr(text)})
            seen.add(text.casefold())
        return texts

    def validate(self, attrs: dict) -> dict:
        merged = {**self._current(), **attrs}
        errors = {}
        self._kind(attrs, merged, errors)
        limit = self._max_choices(attrs, merged, errors)
        if limit > max(1, len(merged["choices"])):
            message = gettext("At most %(n)d, the number of choices.")
            errors["max_choices"] = message % {"n": len(merged["choices"])}
        attrs["max_choices"] = limit
        self._eligibility(attrs, merged, errors)
        opens_at, closes_at = merged["opens_at"], merged["closes_at"]
        if closes_at and opens_at and closes_at <= opens_at:
            errors["closes_at"] = gettext("Must be later than opens_at.")
        elif "closes_at" in attrs and closes_at and closes_at <= timezone.now():
            errors["closes_at"] = gettext("Must be in the future.")
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def _eligibility(self, attrs: dict, merged: dict, errors: dict) -> None:
        """`anonymous: false` (v1) is the `signed_in` mode; a passcode poll has one."""
        if "eligibility" not in attrs and attrs.get("anonymous") is False:
            attrs["eligibility"] = Poll.Eligibility.SIGNED_IN
        eligibility = attrs.get("eligibility", merged.get("eligibility", Poll.Eligibility.ANYONE))
        if not {**merged, **attrs}.get("anonymous", True) and eligibility != "signed_in":
            errors["anonymous"] = gettext("anonymous: false means eligibility signed_in.")
        if eligibility == Poll.Eligibility.PASSCODE and not merged.get("passcode"):
            errors["passcode"] = gettext("A passcode poll needs a passcode (4-64 characters).")
        if "passcode" in attrs and eligibility != Poll.Eligibility.PASSCODE:
            errors["passcode"] = gettext("Only polls with eligibility passcode take a passcode.")

    def _kind(self, attrs: dict, merged: dict, errors: dict) -> None:
        """Rating polls rate 1..50 items on a scale; every other kind has 2..50 choices."""
        kind, scale = merged["kind"], attrs.pop("scale", None)
        merged.setdefault("choices", [])
        if kind == Poll.Kind.QA and merged.get("results_visibility", "live") != "live":
            # The room sees and upvotes the questions: there is nothing to hide
            # until a vote, and "after_vote" would hide them for good.
            errors["results"] = gettext("A Q&A poll shows its questions live.")
        if kind in WRITTEN:
            if merged["choices"]:
                errors["choices"] = gettext(
                    "Text and Q&A polls have no choices: voters write their own."
                )
            attrs.setdefault("choices", [])
        for field in ("moderation", "answers_per_voter", "blocked_words"):
            takes = kind == Poll.Kind.TEXT or (kind == "qa" and field != "answers_per_voter")
            if not takes and field in attrs and attrs[field] != getattr(self.instance, field, None):
                errors[field] = (
                    gettext("Only text polls take this.")
                    if field == "answers_per_voter"
                    else gettext("Only text and Q&A polls take this.")
                )
        if kind == Poll.Kind.RATING and not merged["choices"]:
            errors["choices"] = gettext("Give at least 1 item to rate, one per line.")
        elif kind not in (Poll.Kind.RATING, *WRITTEN) and len(merged["choices"]) < 2:
            errors["choices"] = gettext("Give at least 2 choices, one per line.")
        if kind != Poll.Kind.RATING:
            if scale is not None:
                errors["scale"] = gettext("Only rating polls have a scale.")
            attrs["scale_min"] = attrs["scale_max"] = None
            return
        if scale is None:
            scale = merged.get("scale") or DEFAULT_SCALE
        attrs["scale_min"], attrs["scale_max"] = scale["min"], scale["max"]

    def _max_choices(self, attrs: dict, merged: dict, errors: dict) -> int:
        if merged["kind"] in (Poll.Kind.RATING, Poll.Kind.RANKING, *WRITTEN):
            if "max_choices" in attrs:
                errors["max_choices"] = gettext("Only multiple-choice polls take max_choices.")
            return max(1, len(merged["choices"]))
        if merged["kind"] == Poll.Kind.SINGLE:
            if attrs.get("max_choices", 1) != 1:
                errors["max_choices"] = gettext("A single-choice poll takes exactly 1 choice.")
            return 1
        if "max_choices" in attrs:
            return attrs["max_choices"]
        if self.instance is not None and self.instance.kind == Poll.Kind.MULTIPLE:
            return self.instance.max_choices
        return len(merged["choices"])

    def _current(self) -> dict:
        poll = self.instance
        if poll is None:
            return {}
        return {
            "kind": poll.kind,
            "anonymous": poll.anonymous,
            "eligibility": poll.eligibility,
            "passcode": poll.passcode,
            "max_choices": poll.max_choices,
            "scale": None
            if poll.scale_min is None
            else {"min": poll.scale_min, "max": poll.scale_max},
            "choices": [c.text for c in poll.choices.all()],
            "opens_at": poll.opens_at,
            "closes_at": poll.closes_at,
            "results_visibility": poll.results_visibility,
        }


MAX_MARKS = 100  # ids in one vote body: a list longer than any poll is refused unread


class VoteSerializer(serializers.Serializer):
    """One of the three, as the poll's kind says (polls.api.vote_body checks it)."""

    choices = serializers.ListField(
        child=StrictIntegerField(),
        max_length=MAX_MARKS,
        required=False,
        help_text="single and multiple choice polls: the chosen choice ids.",
    )
    ratings = serializers.DictField(
        child=StrictIntegerField(),
        required=False,
        help_text='rating polls: {"<choice id>": score}, each within the poll\'s scale.',
    )
    ranking = serializers.ListField(
        child=StrictIntegerField(),
        max_length=MAX_MARKS,
        required=False,
        help_text="ranking polls: choice ids, best first, no repeats.",
    )
    text = serializers.CharField(
        required=False, max_length=200, help_text="text polls: the answer, 1 to 200 characters."
    )


class VoterSerializer(serializers.Serializer):
    voter_id = serializers.CharField(help_text="Send it back as X-Voter-Id (or the cookie).")


class ChallengeSerializer(serializers.Serializer):
    """ALTCHA's v2 challenge, as its client libraries take it (schema only)."""

    parameters = serializers.DictField(
        help_text="algorithm, nonce, salt, cost, keyLength, keyPrefix, keySignature,"
        " expiresAt, data"
    )
    signature = serializers.CharField(help_text="The server's HMAC of the parameters.")


class SignalSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="What to quarantine or release it by.")
    kind = serializers.ChoiceField(choices=["prefix_burst", "rate_burst", "lockstep"])
    detail = serializers.CharField()
    ballots = serializers.IntegerField()
    quarantined = serializers.IntegerField(help_text="Of its ballots, how many are quarantined.")
    start = serializers.DateTimeField(help_text="Its first ballot's time.")
    end = serializers.DateTimeField(help_text="Its last ballot's time.")


class ArrivalsSerializer(serializers.Serializer):
    start = serializers.DateTimeField(allow_null=True, help_text="The first stretch's start.")
    seconds = serializers.IntegerField(help_text="Each stretch's length.")
    ballots = serializers.ListField(child=serializers.IntegerField(), help_text="Per stretch.")
    flagged = serializers.ListField(child=serializers.IntegerField())
    quarantined = serializers.ListField(child=serializers.IntegerField())


class IntegrityActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["quarantine", "release"])
    signal = serializers.CharField(help_text='A signal\'s id, "all_flagged" or "all".')
    detail = serializers.CharField(help_text="The signal's detail when it was acted on.")
    ballots = serializers.IntegerField(help_text="How many ballots it moved.")
    by = serializers.CharField(allow_null=True, help_text="Who (null: account deleted).")
    at = serializers.DateTimeField()


class IntegritySerializer(serializers.Serializer):
    """Schema only: polls.selectors.poll_integrity builds the answer."""

    flagged = serializers.IntegerField(help_text="Ballots in at least one cluster.")
    quarantined = serializers.IntegerField(help_text="Ballots held out of the count.")
    signals = SignalSerializer(many=True)
    arrivals = ArrivalsSerializer(help_text="Ballot arrivals on a timeline, at most 60 stretches.")
    actions = IntegrityActionSerializer(
        many=True, help_text="Quarantines and releases, newest first (the last 100)."
    )


def _signal_or(attrs: dict, every: str) -> dict:
    """Quarantine's and release's one rule: a signal, or `every` set true."""
    if bool(attrs.get("signal")) == bool(attrs.get(every)):
        message = gettext('Send either "signal" or "%(every)s": true.')
        raise serializers.ValidationError(message % {"every": every})
    return attrs


class QuarantineSerializer(serializers.Serializer):
    signal = StrictCharField(
        required=False, max_length=200, help_text="A signal's id from the integrity report."
    )
    all_flagged = StrictBooleanField(required=False, help_text="Every flagged ballot.")

    def validate(self, attrs):
        return _signal_or(attrs, "all_flagged")


class ReleaseSerializer(serializers.Serializer):
    signal = StrictCharField(
        required=False, max_length=200, help_text="A signal's id, as quarantined."
    )
    all = StrictBooleanField(required=False, help_text="Every quarantined ballot.")

    def validate(self, attrs):
        return _signal_or(attrs, "all")


class QuarantineResultSerializer(serializers.Serializer):
    """Schema only: quarantine_result builds the answer."""

    action = IntegrityActionSerializer(help_text="The record of what was done.")
    quarantined = serializers.IntegerField(help_text="The poll's quarantined ballots now.")
    total_votes = serializers.IntegerField(help_text="Its counted ballots now.")
    version = serializers.IntegerField(help_text="Its results' version now.")


def integrity_action(record) -> dict:
    """An IntegrityAction as the integrity report lists it."""
    return {
        "action": record.action,
        "signal": record.signal,
        "detail": record.detail,
        "ballots": record.ballots,
        "by": record.user.get_username() if record.user else None,
        "at": record.created_at,
    }


def quarantine_result(record) -> dict:
    poll = record.poll  # as the action left it, under its lock
    return {
        "action": integrity_action(record),
        "quarantined": poll.quarantined,
        "total_votes": poll.total_votes,
        "version": poll.version,
    }


class InviteMintSerializer(serializers.Serializer):
    count = StrictIntegerField(
        min_value=1,
        max_value=10_000,
        error_messages={
            "min_value": gettext_lazy("Create between 1 and 10000 invites at a time."),
            "max_value": gettext_lazy("Create between 1 and 10000 invites at a time."),
            "invalid": gettext_lazy("Enter a whole number of invites."),
        },
    )


class InviteSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as X-Voter-Id; one ballot per token.")
    url = serializers.CharField(help_text="The voter page, opened with this token.")


class InviteBatchSerializer(serializers.Serializer):
    invites = InviteSerializer(many=True)


class InviteCountsSerializer(serializers.Serializer):
    issued = serializers.IntegerField()
    used = serializers.IntegerField()


class BallotSerializer(serializers.Serializer):
    poll = serializers.CharField()
    choices = serializers.ListField(child=serializers.IntegerField())
    ratings = serializers.DictField(
        child=serializers.IntegerField(), required=False, help_text="A rating poll's ballot."
    )
    ranking = serializers.ListField(
        child=serializers.IntegerField(), required=False, help_text="A ranking poll's, best first."
    )
    text = serializers.CharField(required=False, help_text="A text poll's answer, as kept.")
    state = serializers.ChoiceField(
        choices=["pending", "shown"], required=False, help_text="pending: waits for the owner."
    )
    voter_id = serializers.CharField(required=False)
    created_at = serializers.DateTimeField()


_DATETIME = serializers.DateTimeField()


def ballot_marks(marks, kind: str) -> dict:
    """What a ballot names: `choices` (ids in order), and a rating's scores
    or a ranking's order."""
    data: dict = {"choices": sorted(c for c, _ in marks)}
    if kind == Poll.Kind.RATING:
        data["ratings"] = ratings_of(marks)
    elif kind == Poll.Kind.RANKING:
        data["ranking"] = in_order(marks)
    return data


def ballot_answer(
    *,
    poll_id: str,
    created_at,
    marks,
    kind: str,
    voter,
    created: bool = False,
    answer: tuple[str, str] | None = None,
) -> tuple[int, str]:
    """(status, JSON text) of a vote's answer: what Idempotency-Key replays.

    BallotSerializer's output, built directly: instantiating a DRF serializer
    (it deep-copies its fields) was a tenth of a vote request's Python time.
    `test_the_vote_answer_is_what_the_ballot_serializer_renders` holds them equal.
    """
    data: dict = {"poll": poll_id, **ballot_marks(marks, kind)}
    if answer is not None:  # a text poll's: what was kept, and whether it shows yet
        data["text"], data["state"] = answer
    if voter.is_anonymous:
        data["voter_id"] = voter.voter_id
    data["created_at"] = _DATETIME.to_representation(created_at)
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (201 if created else 200), body


class ChoiceResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    votes = serializers.IntegerField(help_text="Ballots naming this choice (rating: rating it).")
    share = serializers.FloatField()
    # Rating polls (absent otherwise).
    count = serializers.IntegerField(required=False, help_text="rating: ratings of this item")
    mean = serializers.FloatField(required=False, allow_null=True, help_text="rating: mean score")
    distribution = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="rating: how many gave each score, scale min to max",
    )
    # Ranking polls (absent otherwise).
    borda = serializers.IntegerField(
        required=False, help_text="ranking: n-1 points for first of n, down to 0; unranked 0"
    )
    first = serializers.IntegerField(required=False, help_text="ranking: ballots ranking it first")

    def to_representation(self, instance: dict) -> dict:
        # Another kind's fields stay absent (a nullable one would show as null).
        return {k: v for k, v in super().to_representation(instance).items() if k in instance}


class IrvRoundSerializer(serializers.Serializer):
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="choice id: ballots")
    eliminated = serializers.IntegerField(allow_null=True)


class IrvSerializer(serializers.Serializer):
    """A ranking poll's instant-runoff count; docs/API.md gives the tie rule."""

    rounds = IrvRoundSerializer(many=True)
    winner = serializers.IntegerField(allow_null=True)


class WordCountSerializer(serializers.Serializer):
    word = serializers.CharField()
    count = serializers.IntegerField()


class ShownAnswerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()


class TopQuestionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    upvotes = serializers.IntegerField()
    state = serializers.ChoiceField(choices=["shown", "answered"])
    pinned = serializers.BooleanField(help_text="The one the presenter pinned, if any.")


class ResultsSerializer(serializers.Serializer):
    poll = serializers.CharField()
    version = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Poll.Status.choices)
    total_votes = serializers.IntegerField()
    choices = ChoiceResultSerializer(many=True)
    irv = IrvSerializer(required=False, help_text="ranking polls only")
    words = WordCountSerializer(
        many=True, required=False, help_text="text polls: the top 100 words of shown answers"
    )
    shown = serializers.IntegerField(
        required=False, help_text="text and Q&A polls: answers or questions shown (or answered)"
    )
    pending = serializers.IntegerField(
        required=False, help_text="text and Q&A polls: answers or questions waiting for the owner"
    )
    answers = ShownAnswerSerializer(
        many=True, required=False, help_text="text polls: the 10 newest shown answers"
    )
    questions = TopQuestionSerializer(
        many=True,
        required=False,
        help_text="Q&A polls: the top 100 shown or answered questions, most upvoted first",
    )
    quarantined = serializers.IntegerField(
        required=False,
        help_text="Ballots the owner holds out of the count (not in total_votes); only when > 0",
    )
    updated_at = serializers.DateTimeField()


class ExportSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["pending", "running", "done", "failed"])
    url = serializers.CharField()
    rows = serializers.IntegerField(help_text="Ballots written so far.")
    download = serializers.CharField(required=False)


def event_urls(event_id: str) -> dict:
    return {
        "page": f"/e/{event_id}/",
        "present": f"/e/{event_id}/present/",
        "embed": f"/e/{event_id}/embed/",
        "websocket": f"/ws/events/{event_id}/",
    }


class EventUrlsSerializer(serializers.Serializer):
    page = serializers.CharField()
    present = serializers.CharField()
    embed = serializers.CharField()
    websocket = serializers.CharField()


class EventSerializer(serializers.Serializer):
    """An event as `GET /api/events/{id}/` answers it; built by `event_data`."""

    id = serializers.CharField()
    title = serializers.CharField()
    owner = serializers.CharField()
    polls = serializers.ListField(child=serializers.CharField())
    current = serializers.CharField(allow_null=True)
    version = serializers.IntegerField()
    urls = EventUrlsSerializer()
    embed_origins = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()


def event_data(event, poll_ids: list[str]) -> dict:
    """`poll_ids`: the polls this caller may see, in order (selectors)."""
    return EventSerializer(
        {
            "id": event.id,
            "title": event.title,
            "owner": event.owner.username,
            "polls": poll_ids,
            # A draft's code stays hidden from all but its owner, as in `polls`.
            "current": event.current_id if event.current_id in poll_ids else None,
            "version": event.version,
            "urls": event_urls(event.id),
            "embed_origins": event.embed_origins,
            "created_at": event.created_at,
        }
    ).data


class EventWriteSerializer(serializers.Serializer):
    title = StrictCharField(
        max_length=200,
        error_messages={
            "blank": gettext_lazy("Give the event a title."),
            "required": gettext_lazy("Give the event a title."),
            "max_length": gettext_lazy("Keep the title under 200 characters."),
        },
    )
    embed_origins = embed_origins_field()


class EventCurrentSerializer(serializers.Serializer):
    poll = JoinCodeField(allow_null=True)


class EventPollsSerializer(serializers.Serializer):
    polls = serializers.ListField(
        child=JoinCodeField(),
        max_length=500,
        help_text="The event's polls in their new order; those left out leave the event.",
    )
