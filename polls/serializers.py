import json

from django.utils import timezone
from rest_framework import serializers

from nexus.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictRegexField,
)

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


JOIN_CODE_REGEX = rf"^{JOIN_CODE_PATTERN}$"


class JoinCodeField(StrictRegexField):
    """A poll's or an event's join code, in any case."""

    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {"invalid": "A join code: 4 to 16 letters and digits."})
        super().__init__(JOIN_CODE_REGEX, max_length=16, **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(data).upper()


def poll_urls(poll_id: str) -> dict:
    return {
        "vote": f"/api/polls/{poll_id}/votes/",
        "results": f"/api/polls/{poll_id}/results/",
        "websocket": f"/ws/polls/{poll_id}/",
        "page": f"/p/{poll_id}/",
        "present": f"/p/{poll_id}/present/",
    }


class PollSerializer(serializers.ModelSerializer):
    """A poll as answered by every endpoint (read-only)."""

    status = serializers.SerializerMethodField()
    has_passcode = serializers.SerializerMethodField()
    owner = serializers.CharField(source="owner.username")
    choices = ChoiceSerializer(many=True)
    urls = serializers.SerializerMethodField()
    results = serializers.ChoiceField(source="results_visibility", choices=Poll.Results.choices)

    class Meta:
        model = Poll
        fields = [
            "id",
            "question",
            "description",
            "kind",
            "max_choices",
            "anonymous",
            "allow_vote_change",
            "results",
            "status",
            "eligibility",
            "has_passcode",
            "max_ballots_per_address",
            "opens_at",
            "closes_at",
            "created_at",
            "owner",
            "choices",
            "urls",
        ]

    def get_has_passcode(self, poll: Poll) -> bool:
        return bool(poll.passcode)

    def get_status(self, poll: Poll) -> str:
        return poll.effective_status()

    def get_urls(self, poll: Poll) -> PollUrlsSerializer:
        return poll_urls(poll.id)


class PollWriteSerializer(serializers.Serializer):
    """Body of `POST /api/polls/` and, with partial=True, of `PATCH`."""

    # Messages in plain words: the pages show them beside the form's fields.
    question = StrictCharField(
        max_length=500,
        error_messages={
            "blank": "Write the question.",
            "required": "Write the question.",
            "max_length": "Keep the question under 500 characters.",
        },
    )
    description = StrictCharField(max_length=5000, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=Poll.Kind.choices, default=Poll.Kind.SINGLE)
    max_choices = serializers.IntegerField(min_value=1, max_value=MAX_CHOICES, required=False)
    choices = serializers.ListField(
        child=StrictCharField(
            max_length=200,
            error_messages={
                "blank": "A choice cannot be empty.",
                "max_length": "Keep each choice under 200 characters.",
            },
        ),
        min_length=2,
        max_length=MAX_CHOICES,
        error_messages={
            "min_length": "Give at least 2 choices, one per line.",
            "max_length": f"Give at most {MAX_CHOICES} choices.",
            "required": "Give at least 2 choices, one per line.",
        },
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
            "blank": "Choose a passcode of 4 to 64 characters.",
            "min_length": "Choose a passcode of 4 to 64 characters.",
            "max_length": "Choose a passcode of 4 to 64 characters.",
        },
    )
    max_ballots_per_address = StrictIntegerField(
        min_value=0,
        max_value=1_000_000,
        default=200,
        error_messages={
            "min_value": "Enter 0 (no limit) or a positive whole number.",
            "max_value": "Enter at most 1,000,000.",
        },
    )
    event = JoinCodeField(required=False, help_text="Add the poll to this event (its owner only).")
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
                raise serializers.ValidationError(f"Choices must be unique: {text!r} repeats.")
            seen.add(text.casefold())
        return texts

    def validate(self, attrs: dict) -> dict:
        merged = {**self._current(), **attrs}
        errors = {}
        limit = self._max_choices(attrs, merged, errors)
        if limit > len(merged["choices"]):
            errors["max_choices"] = f"At most {len(merged['choices'])}, the number of choices."
        attrs["max_choices"] = limit
        self._eligibility(attrs, merged, errors)
        opens_at, closes_at = merged["opens_at"], merged["closes_at"]
        if closes_at and opens_at and closes_at <= opens_at:
            errors["closes_at"] = "Must be later than opens_at."
        elif "closes_at" in attrs and closes_at and closes_at <= timezone.now():
            errors["closes_at"] = "Must be in the future."
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def _eligibility(self, attrs: dict, merged: dict, errors: dict) -> None:
        """`anonymous: false` (v1) is the `signed_in` mode; a passcode poll has one."""
        if "eligibility" not in attrs and attrs.get("anonymous") is False:
            attrs["eligibility"] = Poll.Eligibility.SIGNED_IN
        eligibility = attrs.get("eligibility", merged.get("eligibility", Poll.Eligibility.ANYONE))
        if not {**merged, **attrs}.get("anonymous", True) and eligibility != "signed_in":
            errors["anonymous"] = "anonymous: false means eligibility signed_in."
        if eligibility == Poll.Eligibility.PASSCODE and not merged.get("passcode"):
            errors["passcode"] = "A passcode poll needs a passcode (4-64 characters)."
        if "passcode" in attrs and eligibility != Poll.Eligibility.PASSCODE:
            errors["passcode"] = "Only polls with eligibility passcode take a passcode."

    def _max_choices(self, attrs: dict, merged: dict, errors: dict) -> int:
        if merged["kind"] == Poll.Kind.SINGLE:
            if attrs.get("max_choices", 1) != 1:
                errors["max_choices"] = "A single-choice poll takes exactly 1 choice."
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
            "choices": [c.text for c in poll.choices.all()],
            "opens_at": poll.opens_at,
            "closes_at": poll.closes_at,
        }


class VoteSerializer(serializers.Serializer):
    choices = serializers.ListField(child=StrictIntegerField(), allow_empty=True, max_length=100)


class VoterSerializer(serializers.Serializer):
    voter_id = serializers.CharField(help_text="Send it back as X-Voter-Id (or the cookie).")


class InviteMintSerializer(serializers.Serializer):
    count = StrictIntegerField(
        min_value=1,
        max_value=10_000,
        error_messages={
            "min_value": "Create between 1 and 10000 invites at a time.",
            "max_value": "Create between 1 and 10000 invites at a time.",
            "invalid": "Enter a whole number of invites.",
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
    voter_id = serializers.CharField(required=False)
    created_at = serializers.DateTimeField()


_DATETIME = serializers.DateTimeField()


def ballot_answer(
    *, poll_id: str, created_at, choice_ids: list[int], voter, created: bool = False
) -> tuple[int, str]:
    """(status, JSON text) of a vote's answer: what Idempotency-Key replays.

    BallotSerializer's output, built directly: instantiating a DRF serializer
    (it deep-copies its fields) was a tenth of a vote request's Python time.
    `test_the_vote_answer_is_what_the_ballot_serializer_renders` holds them equal.
    """
    data = {"poll": poll_id, "choices": choice_ids}
    if voter.is_anonymous:
        data["voter_id"] = voter.voter_id
    data["created_at"] = _DATETIME.to_representation(created_at)
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (201 if created else 200), body


class ChoiceResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    votes = serializers.IntegerField()
    share = serializers.FloatField()


class ResultsSerializer(serializers.Serializer):
    poll = serializers.CharField()
    version = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Poll.Status.choices)
    total_votes = serializers.IntegerField()
    choices = ChoiceResultSerializer(many=True)
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
        "websocket": f"/ws/events/{event_id}/",
    }


class EventUrlsSerializer(serializers.Serializer):
    page = serializers.CharField()
    present = serializers.CharField()
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
            "created_at": event.created_at,
        }
    ).data


class EventWriteSerializer(serializers.Serializer):
    title = StrictCharField(
        max_length=200,
        error_messages={
            "blank": "Give the event a title.",
            "required": "Give the event a title.",
            "max_length": "Keep the title under 200 characters.",
        },
    )


class EventCurrentSerializer(serializers.Serializer):
    poll = JoinCodeField(allow_null=True)


class EventPollsSerializer(serializers.Serializer):
    polls = serializers.ListField(
        child=JoinCodeField(),
        max_length=500,
        help_text="The event's polls in their new order; those left out leave the event.",
    )
