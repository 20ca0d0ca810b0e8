"""Thin REST views: validate with a serializer, call one service, serialise."""

import csv
import io
import re
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.fields import ListField, empty
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSet

from nexus import links
from nexus.errors import Forbidden, Invalid, NotAuthenticated, NotFound
from nexus.fields import StrictIntegerField
from nexus.metrics import VOTES
from nexus.openapi import errors

from . import challenges, examples, selectors, services
from .eligibility import guarded
from .errors import ChallengeFailed, ChallengeRequired
from .kinds import VoteBody
from .models import Poll
from .serializers import (
    MAX_MARKS,
    BallotSerializer,
    ChallengeSerializer,
    ExportSerializer,
    IntegritySerializer,
    InviteBatchSerializer,
    InviteCountsSerializer,
    InviteMintSerializer,
    PollSerializer,
    PollWriteSerializer,
    QuarantineResultSerializer,
    QuarantineSerializer,
    ReleaseSerializer,
    ResultsSerializer,
    VoterSerializer,
    VoteSerializer,
    ballot_answer,
    quarantine_result,
)
from .services import exports, idempotency, integrity, invites
from .throttles import (
    WRITE_THROTTLES,
    ChallengeThrottle,
    ExportThrottle,
    HistoryThrottle,
    IntegrityThrottle,
    MyBallotThrottle,
    OneTripThrottling,
)
from .voters import (
    EXTERNAL_HEADER,
    PASSCODE_HEADER,
    VOTER_HEADER,
    address_prefix,
    passcode_from_request,
    set_voter_cookie,
    voter_from_request,
    voter_id_issue,
)

VOTER_PARAM = OpenApiParameter(
    VOTER_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "A voter id issued by POST /api/voters/ (else the nexus_voter cookie), or an invite"
        " token of an invite poll. Anything the server did not issue: 400 invalid_voter_id."
    ),
)
PASSCODE_PARAM = OpenApiParameter(
    PASSCODE_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The poll's passcode (polls with eligibility `passcode`).",
)
EXTERNAL_PARAM = OpenApiParameter(
    EXTERNAL_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="With the poll owner's token: vote for this id of the integration's own"
    " (1-128 printable characters); one ballot per external id.",
)
CHALLENGE_PARAM = OpenApiParameter(
    challenges.HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "A solved proof-of-work challenge (`GET challenge/`), base64 JSON"
        " `{challenge, solution}`: an anonymous first ballot of a `challenge: pow` poll."
    ),
)

VOTER_ERRORS = {
    "invalid_voter_id": (400, "This voter id was not issued here: get one from POST /api/voters/."),
}


def request_voter(request, *, create: bool):
    """The caller as a voter; forged ids count against the caller's address."""
    return guarded(
        "voter_id",
        address_prefix(request),
        lambda: voter_from_request(request, create=create),
        check_first=False,
    )


IDEMPOTENCY_PARAM = OpenApiParameter(
    idempotency.HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Replays the first answer for the same voter and key (kept 24 h).",
)
OWNER_CODES = ("not_authenticated", "forbidden", "not_found")
OWNER_ERRORS = errors(*OWNER_CODES)


def owner_action(summary: str):
    return extend_schema(
        summary=summary,
        request=None,
        examples=[examples.POLL],
        responses={200: PollSerializer, **OWNER_ERRORS},
    )


class PollPagination(LimitOffsetPagination):
    """`?limit=&offset=`; unlike DRF's, a bad value is an error, not ignored."""

    default_limit = 20
    max_limit = 100

    def get_limit(self, request) -> int:
        return self._int_param(request, self.limit_query_param, self.default_limit, 1)

    def get_offset(self, request) -> int:
        return self._int_param(request, self.offset_query_param, 0, 0)

    def _int_param(self, request, name: str, default: int, minimum: int) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or int(raw) < minimum:
            raise Invalid(
                fields={name: gettext("An integer >= %(minimum)d.") % {"minimum": minimum}}
            )
        return min(int(raw), self.max_limit) if name == self.limit_query_param else int(raw)


@extend_schema_view(
    list=extend_schema(
        summary="List polls",
        examples=[examples.POLL],
        parameters=[
            OpenApiParameter("status", str, enum=[s.value for s in Poll.Status]),
            OpenApiParameter("mine", bool, description="Only the caller's polls."),
            OpenApiParameter("search", str, description="Words in the question or description."),
        ],
        responses={200: PollSerializer(many=True), **errors("invalid", "not_authenticated")},
    ),
    create=extend_schema(
        summary="Create a poll",
        request=PollWriteSerializer,
        examples=[examples.POLL_CREATE, examples.POLL],
        responses={
            201: PollSerializer,
            **errors("invalid", "not_authenticated", "forbidden", "throttled"),
        },
    ),
    retrieve=extend_schema(
        summary="Get a poll",
        examples=[examples.POLL],
        responses={200: PollSerializer, **errors("not_found")},
    ),
    partial_update=extend_schema(
        summary="Edit a poll",
        examples=[examples.POLL_EDIT, examples.POLL],
        request=PollWriteSerializer(partial=True),
        responses={
            200: PollSerializer,
            **errors(
                "invalid",
                "not_authenticated",
                "forbidden",
                "not_found",
                poll_has_votes=(409, "Choices and kind cannot change once votes exist."),
            ),
        },
    ),
    destroy=extend_schema(summary="Delete a poll", responses={204: None, **OWNER_ERRORS}),
    open=owner_action("Open a poll now"),
    close=owner_action("Close a poll"),
    reset=owner_action("Delete every ballot; the tally goes to zero"),
)
class PollViewSet(OneTripThrottling, ViewSet):
    permission_classes = [IsAuthenticatedOrReadOnly]
    pagination_class = PollPagination
    lookup_field = "poll_id"

    def get_throttles(self):
        return [cls() for cls in WRITE_THROTTLES] if self.action == "create" else []

    def list(self, request):
        status = request.query_params.get("status")
        if status is not None and status not in Poll.Status.values:
            raise Invalid(
                fields={
                    "status": gettext("One of %(values)s.")
                    % {"values": ", ".join(Poll.Status.values)}
                }
            )
        mine = request.query_params.get("mine", "false").lower()
        if mine not in {"true", "false"}:
            raise Invalid(fields={"mine": "true or false."})
        mine = mine == "true"
        if mine and not request.user.is_authenticated:
            raise NotAuthenticated(gettext("Sign in to list your polls."))
        polls = selectors.poll_list(
            user=request.user, status=status, mine=mine, search=request.query_params.get("search")
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(polls, request, view=self)
        data = PollSerializer(page, many=True, context={"user": request.user}).data
        return paginator.get_paginated_response(data)

    def create(self, request):
        serializer = PollWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        poll = services.poll_create(owner=request.user, **serializer.validated_data)
        return self._poll_response(poll.id, status=http.HTTP_201_CREATED)

    def retrieve(self, request, poll_id):
        return self._poll_response(poll_id)

    def partial_update(self, request, poll_id):
        poll = selectors.poll_get(poll_id=poll_id, user=request.user)
        if poll.owner_id != request.user.pk:
            raise Forbidden(gettext("Only the poll's owner may do this."))
        serializer = PollWriteSerializer(instance=poll, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if "event" in serializer.validated_data:
            raise Invalid(fields={"event": gettext("A poll joins an event when it is created.")})
        services.poll_update(poll_id=poll_id, user=request.user, **serializer.validated_data)
        return self._poll_response(poll_id)

    def destroy(self, request, poll_id):
        services.poll_delete(poll_id=poll_id, user=request.user)
        return Response(status=http.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"])
    def open(self, request, poll_id):
        services.poll_open(poll_id=poll_id, user=request.user)
        return self._poll_response(poll_id)

    @action(detail=True, methods=["post"])
    def close(self, request, poll_id):
        services.poll_close(poll_id=poll_id, user=request.user)
        return self._poll_response(poll_id)

    @action(detail=True, methods=["post"])
    def reset(self, request, poll_id):
        services.poll_reset(poll_id=poll_id, user=request.user)
        return self._poll_response(poll_id)

    def _poll_response(self, poll_id: str, status: int = http.HTTP_200_OK) -> Response:
        poll = selectors.poll_get(poll_id=poll_id, user=self.request.user)
        data = PollSerializer(poll, context={"user": self.request.user}).data
        return Response(data, status=status)


JSON = JSONRenderer()
_IDS = ListField(child=StrictIntegerField(), allow_empty=True, max_length=MAX_MARKS)
_SCORE = StrictIntegerField(min_value=-32768, max_value=32767)
_ITEM = re.compile(r"[0-9]{1,18}")


def vote_body(data) -> VoteBody:
    """The vote's body, checked as VoteSerializer says: one of `choices`,
    `ratings` or `ranking`. Its fields are run directly: a serializer per
    request deep-copies its fields, which was a measurable part of the vote
    (docs/BENCHMARKS.md)."""
    if not isinstance(data, dict):
        message = VoteSerializer.default_error_messages["invalid"]
        raise ValidationError({"non_field_errors": [message.format(datatype=type(data).__name__)]})
    shapes = [shape for shape in ("choices", "ratings", "ranking", "text") if shape in data]
    if len(shapes) > 1:
        message = gettext("Send one of choices, ratings, ranking or text.")
        raise ValidationError({"non_field_errors": [message]})
    shape = shapes[0] if shapes else "choices"
    if shape == "text":  # checked with the poll (polls.text.checked_answer)
        return VoteBody("text", text=data["text"])
    try:
        if shape != "ratings":
            return VoteBody(shape, tuple(_IDS.run_validation(data.get(shape, empty))))
        return VoteBody("ratings", *_ratings(data["ratings"]))
    except ValidationError as exc:
        raise ValidationError({shape: exc.detail}) from None


def _ratings(ratings) -> tuple[tuple[int, ...], tuple[int, ...]]:
    if not isinstance(ratings, dict):
        raise ValidationError(gettext('An object of choice id to score, like {"11": 4}.'))
    if len(ratings) > _IDS.max_length:
        raise ValidationError(gettext("Rate at most %(count)d items.") % {"count": _IDS.max_length})
    if not all(isinstance(k, str) and _ITEM.fullmatch(k) for k in ratings):
        raise ValidationError(gettext('Each key is a choice id, like "11".'))
    return tuple(map(int, ratings)), tuple(_SCORE.run_validation(v) for v in ratings.values())


class VoteView(OneTripThrottling, APIView):
    throttle_classes = WRITE_THROTTLES

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        VOTES.labels(response.data.get("code", "error") if response.data else "error").inc()
        return response

    def perform_content_negotiation(self, request, force=False):
        # A vote answers JSON whatever the Accept header says (its only
        # renderer): skip DRF's negotiation, a measurable part of the vote.
        return JSON, JSON.media_type

    @extend_schema(
        summary="Cast or change a ballot",
        request=VoteSerializer,
        parameters=[
            VOTER_PARAM,
            IDEMPOTENCY_PARAM,
            PASSCODE_PARAM,
            EXTERNAL_PARAM,
            CHALLENGE_PARAM,
        ],
        examples=[examples.VOTE_REQUEST, examples.BALLOT],
        responses={
            201: BallotSerializer,
            200: BallotSerializer,
            **errors(
                "not_found",
                "not_authenticated",
                "throttled",
                "forbidden",
                **VOTER_ERRORS,
                passcode_required=(403, "This poll needs its passcode to vote."),
                wrong_passcode=(403, "The passcode is not right."),
                not_invited=(403, "This poll takes votes by invitation only."),
                challenge_required=(403, ChallengeRequired.detail),
                challenge_failed=(403, ChallengeFailed.detail),
                address_limit=(
                    429,
                    "This poll has taken as many ballots from your network as it allows.",
                ),
                invalid=(400, "Some fields are invalid."),
                invalid_choice=(400, "Pick at most 1 choice."),
                already_voted=(409, "You have already voted in this poll."),
                poll_closed=(409, "This poll is not open for voting."),
                idempotency_mismatch=(
                    422,
                    "This Idempotency-Key was already used with a different request.",
                ),
            ),
        },
    )
    def post(self, request, poll_id):
        body = vote_body(request.data)
        voter = request_voter(request, create=True)
        key = idempotency.key_from_request(request)

        outcome = idempotency.vote_answer(
            poll_id=poll_id,
            voter=voter,
            body=body,
            key=key,
            passcode=passcode_from_request(request),
            address=address_prefix(request),
            challenge=challenges.proof_from_header(request.headers.get(challenges.HEADER), poll_id),
            user_agent=request.headers.get("User-Agent", ""),
            joined=getattr(request.user, "date_joined", None),
        )
        response = HttpResponse(
            outcome.body, status=outcome.status, content_type="application/json"
        )
        VOTES.labels("accepted").inc()
        if voter.generated:
            set_voter_cookie(response, request, voter.voter_id)
        return response


class ChallengeView(OneTripThrottling, APIView):
    throttle_classes = [ChallengeThrottle]

    @extend_schema(
        summary="Get a proof-of-work challenge",
        description=(
            "For a poll with `challenge: pow`: an ALTCHA challenge (v2, PBKDF2/SHA-256)."
            " Solve it and send the challenge with its solution, base64 JSON, as"
            " `X-Challenge` with an anonymous first ballot. Single use; it expires."
        ),
        request=None,
        responses={
            200: ChallengeSerializer,
            **errors("not_found", "throttled"),
        },
    )
    def get(self, request, poll_id):
        selectors.pow_poll_check(poll_id=poll_id, user=request.user)
        response = Response(challenges.challenge_issue(poll_id))
        response["Cache-Control"] = "no-store"
        return response


class IntegrityView(OneTripThrottling, APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [IntegrityThrottle]

    @extend_schema(
        summary="Ballot clusters that look stuffed (owner)",
        description=(
            "Signals: `prefix_burst` (many voters from one network with ids issued together),"
            " `rate_burst` (far above the poll's own rate), `lockstep` (one user agent at"
            " clockwork-regular gaps). Thresholds: docs/SECURITY.md."
        ),
        responses={
            200: IntegritySerializer,
            **errors("not_authenticated", "forbidden", "not_found", "throttled"),
        },
    )
    def get(self, request, poll_id):
        poll = _owned_poll(request, poll_id)
        return Response(selectors.poll_integrity(poll=poll))


class QuarantineView(OneTripThrottling, APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [IntegrityThrottle]

    @extend_schema(
        summary="Hold a signal's ballots, or every flagged one, out of the count (owner)",
        description=(
            "The ballots stay, marked, in the database and the export. Results carry"
            " `quarantined`; the version goes up and screens update. Recorded in the"
            " integrity report's `actions`."
        ),
        request=QuarantineSerializer,
        responses={
            200: QuarantineResultSerializer,
            **errors("invalid", "not_authenticated", "forbidden", "not_found", "throttled"),
        },
    )
    def post(self, request, poll_id):
        serializer = QuarantineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = integrity.ballots_quarantine(
            poll_id=poll_id, user=request.user, signal=serializer.validated_data.get("signal")
        )
        return Response(quarantine_result(record))


class ReleaseView(OneTripThrottling, APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [IntegrityThrottle]

    @extend_schema(
        summary="Count a signal's quarantined ballots, or all of them, again (owner)",
        request=ReleaseSerializer,
        responses={
            200: QuarantineResultSerializer,
            **errors("invalid", "not_authenticated", "forbidden", "not_found", "throttled"),
        },
    )
    def post(self, request, poll_id):
        serializer = ReleaseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = integrity.ballots_release(
            poll_id=poll_id, user=request.user, signal=serializer.validated_data.get("signal")
        )
        return Response(quarantine_result(record))


class VoterView(OneTripThrottling, APIView):
    throttle_classes = WRITE_THROTTLES

    @extend_schema(
        summary="Get a new anonymous voter id",
        description="Also set as the `nexus_voter` cookie. Send it back as `X-Voter-Id`.",
        request=None,
        responses={201: VoterSerializer, **errors("throttled")},
    )
    def post(self, request):
        voter_id = voter_id_issue()
        response = Response({"voter_id": voter_id}, status=http.HTTP_201_CREATED)
        set_voter_cookie(response, request, voter_id)
        return response


class MyVoteView(OneTripThrottling, APIView):
    def get_throttles(self):
        if self.request.method == "DELETE":
            return [cls() for cls in WRITE_THROTTLES]
        return [MyBallotThrottle()]

    @extend_schema(
        summary="My ballot",
        parameters=[VOTER_PARAM],
        examples=[examples.BALLOT],
        responses={200: BallotSerializer, **errors("not_found", "throttled", **VOTER_ERRORS)},
    )
    def get(self, request, poll_id):
        voter = request_voter(request, create=False)
        mine = voter and selectors.ballot_mine(poll_id=poll_id, voter=voter)
        if not mine:
            raise NotFound(gettext("You have no ballot in this poll."))
        ballot, marks = mine
        _, body = ballot_answer(
            poll_id=poll_id,
            created_at=ballot.created_at,
            marks=marks,
            kind=ballot.poll.kind,
            voter=voter,
        )
        return HttpResponse(body, content_type="application/json")

    @extend_schema(
        summary="Withdraw my ballot",
        parameters=[VOTER_PARAM],
        responses={
            204: None,
            **errors(
                "not_found",
                "not_authenticated",
                "throttled",
                **VOTER_ERRORS,
                vote_change_not_allowed=(409, "This poll does not allow changing a vote."),
                poll_closed=(409, "This poll is not open for voting."),
            ),
        },
    )
    def delete(self, request, poll_id):
        voter = request_voter(request, create=False)
        if voter is None:
            raise NotAuthenticated(gettext("Send X-Voter-Id or sign in to withdraw a ballot."))
        services.vote_withdraw(poll_id=poll_id, voter=voter)
        return Response(status=http.HTTP_204_NO_CONTENT)


class ResultsView(APIView):
    @extend_schema(
        summary="Current results",
        parameters=[VOTER_PARAM],
        examples=[examples.RESULTS],
        responses={
            200: ResultsSerializer,
            **errors(
                "not_found",
                **VOTER_ERRORS,
                results_hidden=(403, "Results are shown after you vote."),
            ),
        },
    )
    def get(self, request, poll_id):
        voter = request_voter(request, create=False)
        results = selectors.results_get(poll_id=poll_id, user=request.user, voter=voter)
        return Response(ResultsSerializer(results).data)


class HistoryChoiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    votes = serializers.IntegerField()


class HistoryPointSerializer(serializers.Serializer):
    at = serializers.DateTimeField(help_text="the end of the interval")
    version = serializers.IntegerField()
    total_votes = serializers.IntegerField()
    choices = HistoryChoiceSerializer(many=True)


class ResultsHistorySerializer(serializers.Serializer):
    poll = serializers.CharField()
    every = serializers.IntegerField(help_text="seconds per interval, as answered")
    points = HistoryPointSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="the rest of a long history")


HISTORY_NAMES = {seconds: name for name, seconds in selectors.HISTORY_EVERY.items()}


class ResultsHistoryView(APIView):
    throttle_classes = [HistoryThrottle]

    @extend_schema(
        summary="How the tally moved, interval by interval",
        description=(
            "The tally at the end of each interval in which it changed, from the first"
            " ballot to now or the close; an interval with no point kept the tally of the"
            f" one before. A page holds at most {selectors.HISTORY_POINTS:,} points (fewer for"
            " many choices): `next` reads on. A poll whose results are not live is told by"
            " the minute to anyone but its owner."
        ),
        parameters=[
            VOTER_PARAM,
            OpenApiParameter("every", str, enum=list(selectors.HISTORY_EVERY), default="1s"),
            OpenApiParameter("after", int, description="from `next`: Unix seconds"),
        ],
        responses={
            200: ResultsHistorySerializer,
            **errors(
                "not_found",
                "invalid",
                "throttled",
                **VOTER_ERRORS,
                results_hidden=(403, "Results are shown after you vote."),
            ),
        },
    )
    def get(self, request, poll_id):
        every, after = selectors.history_params(
            request.query_params.get("every", "1s"), request.query_params.get("after")
        )
        voter = request_voter(request, create=False)
        history = selectors.results_history(
            poll_id=poll_id, user=request.user, voter=voter, every=every, after=after
        )
        rest, named = history.pop("after"), HISTORY_NAMES[history["every"]]
        history["next"] = (
            None
            if rest is None
            else f"/api/polls/{history['poll']}/results/history/?every={named}&after={rest}"
        )
        return Response(history)  # plain data: a page may hold 36,000 counts


def _export_body(export) -> dict:
    body = {
        "id": str(export.id),
        "status": export.status,
        "url": f"/api/exports/{export.id}/",
        "rows": export.rows,
    }
    if export.status == export.Status.DONE:
        body["download"] = f"/api/exports/{export.id}/download/"
    return body


class ExportStartView(OneTripThrottling, APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ExportThrottle]

    @extend_schema(
        summary="Export results and ballots as CSV",
        description="While an export of this poll is still pending or running, "
        "starting another answers that one.",
        request=None,
        responses={202: ExportSerializer, **errors(*OWNER_CODES, "throttled")},
    )
    def post(self, request, poll_id):
        poll = _owned_poll(request, poll_id)
        export = exports.export_start(poll=poll, user=request.user)
        return Response(_export_body(export), status=http.HTTP_202_ACCEPTED)


class ExportView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="An export job",
        responses={200: ExportSerializer, **errors("not_authenticated", "not_found")},
    )
    def get(self, request, export_id):
        return Response(_export_body(selectors.export_get(export_id=export_id, user=request.user)))


class ExportDownloadView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Download a finished export (CSV)",
        responses={(200, "text/csv"): bytes, **errors("not_authenticated", "not_found")},
    )
    def get(self, request, export_id):
        export = selectors.export_get(export_id=export_id, user=request.user)
        if export.status != export.Status.DONE:
            raise NotFound(gettext("This export is not finished."))
        try:
            csv_file = (Path(settings.MEDIA_ROOT) / export.path).open("rb")
        except FileNotFoundError:  # purged between the row's read and now
            raise NotFound(gettext("This export has expired.")) from None
        return FileResponse(
            csv_file,
            as_attachment=True,
            content_type="text/csv",
            filename=f"nexus-{export.poll_id}-results.csv",
        )


class CSVRenderer(BaseRenderer):
    """Rows (lists) as CSV, for `Accept: text/csv` on the invites endpoint."""

    media_type, format, charset = "text/csv", "csv", "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, dict):  # an error: keep the contract's JSON shape
            renderer_context["response"]["Content-Type"] = "application/json"
            return JSONRenderer().render(data)
        out = io.StringIO()
        csv.writer(out).writerows(data)
        return out.getvalue().encode()


def _invite_rows(request, poll_id: str, tokens) -> list[list[str]]:
    page = links.absolute(request, f"/p/{poll_id}/")
    return [["token", "url"]] + [[t, f"{page}?invite={t}"] for t in tokens]


class InviteListView(APIView):
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        summary="Mint invite tokens (owner)",
        description="`Accept: text/csv` answers a CSV with a header row and `token,url` rows.",
        request=InviteMintSerializer,
        responses={201: InviteBatchSerializer, **errors("invalid", *OWNER_CODES)},
    )
    def post(self, request, poll_id):
        serializer = InviteMintSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tokens = invites.invites_mint(
            poll_id=poll_id, user=request.user, count=serializer.validated_data["count"]
        )
        rows = _invite_rows(request, poll_id, tokens)
        if request.accepted_renderer.format == "csv":
            return Response(rows, status=http.HTTP_201_CREATED)
        body = {"invites": [{"token": token, "url": url} for token, url in rows[1:]]}
        return Response(body, status=http.HTTP_201_CREATED)

    @extend_schema(
        summary="How many invites were issued and used (owner)",
        description="`Accept: text/csv` lists the unused ones as `token,url` rows.",
        responses={200: InviteCountsSerializer, **OWNER_ERRORS},
    )
    def get(self, request, poll_id):
        poll = _owned_poll(request, poll_id)
        if request.accepted_renderer.format == "csv":
            unused = invites.invite_list(poll=poll, unused_only=True)
            return Response(_invite_rows(request, poll_id, [i.token for i in unused]))
        return Response(invites.invite_counts(poll=poll))


class InviteDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Revoke an unused invite (owner)",
        responses={
            204: None,
            **errors(*OWNER_CODES, invite_used=(409, "This invite has voted.")),
        },
    )
    def delete(self, request, poll_id, token):
        invites.invite_revoke(poll_id=poll_id, user=request.user, token=token)
        return Response(status=http.HTTP_204_NO_CONTENT)


def _owned_poll(request, poll_id: str) -> Poll:
    """The poll, read for its owner (invites, answers); 403 for anyone else."""
    poll = selectors.poll_get(poll_id=poll_id, user=request.user)
    if poll.owner_id != request.user.pk:
        raise Forbidden(gettext("Only the poll's owner may do this."))
    return poll
