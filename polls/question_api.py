"""Audience Q&A over REST (thin views; services.questions writes): voters
ask and upvote, the owner moderates."""

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.response import Response
from rest_framework.views import APIView

from nexus.errors import Invalid, NotAuthenticated, NotFound
from nexus.openapi import errors

from . import challenges
from .answer_api import queue_page
from .api import (
    CHALLENGE_PARAM,
    PASSCODE_PARAM,
    VOTER_ERRORS,
    VOTER_PARAM,
    PollPagination,
    request_voter,
)
from .errors import ChallengeFailed, ChallengeRequired
from .models import Question
from .services import questions
from .throttles import (
    WRITE_THROTTLES,
    MyBallotThrottle,
    OneTripThrottling,
    QuestionAddressThrottle,
    QuestionThrottle,
)
from .voters import address_prefix, passcode_from_request, set_voter_cookie


class QuestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Question
        fields = ["id", "text", "state", "upvotes", "pinned", "created_at"]


class AskSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="The question, 1 to 200 characters.")


class MineSerializer(serializers.Serializer):
    questions = QuestionSerializer(many=True, help_text="Mine, newest first (not hidden ones).")
    upvoted = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of the questions I upvoted."
    )


def write_errors(**extra):
    return errors(
        "not_found",
        "not_authenticated",
        "throttled",
        "forbidden",
        **VOTER_ERRORS,
        invalid=(400, "Some fields are invalid."),
        passcode_required=(403, "This poll needs its passcode to vote."),
        wrong_passcode=(403, "The passcode is not right."),
        not_invited=(403, "This poll takes votes by invitation only."),
        challenge_required=(403, ChallengeRequired.detail),
        challenge_failed=(403, ChallengeFailed.detail),
        poll_closed=(409, "This poll is not taking questions."),
        **extra,
    )


def _question_id(question_id: int) -> int:
    if not 0 < question_id < 2**63:
        raise NotFound(gettext("No question with this id in this poll."))
    return question_id


def _answer(response: Response, request, voter) -> Response:
    if voter.generated:
        set_voter_cookie(response, request, voter.voter_id)
    return response


class QuestionListView(OneTripThrottling, APIView):
    pagination_class = PollPagination  # the schema documents the paginated shape by it

    def get_throttles(self):
        if self.request.method == "POST":
            return [cls() for cls in (QuestionThrottle, QuestionAddressThrottle, *WRITE_THROTTLES)]
        return []

    @extend_schema(
        summary="A Q&A poll's questions (owner): the moderation queue",
        parameters=[
            OpenApiParameter("state", str, enum=Question.State.values, description="Only these.")
        ],
        responses={
            200: QuestionSerializer(many=True),
            **errors("invalid", "not_authenticated", "forbidden", "not_found"),
        },
    )
    def get(self, request, poll_id):
        if not request.user.is_authenticated:
            raise NotAuthenticated()
        return queue_page(self, request, poll_id, Question, QuestionSerializer)

    @extend_schema(
        summary="Ask a question (Q&A polls)",
        description="The same question again from the same voter answers 200 with the first.",
        request=AskSerializer,
        parameters=[VOTER_PARAM, PASSCODE_PARAM, CHALLENGE_PARAM],
        responses={
            201: QuestionSerializer,
            200: QuestionSerializer,
            **write_errors(not_allowed=(400, "That question uses words this poll does not take.")),
        },
    )
    def post(self, request, poll_id):
        if not isinstance(request.data, dict):
            raise Invalid(fields={"text": 'Send {"text": "your question"}.'})
        voter = request_voter(request, create=True)
        question, created = questions.question_ask(
            poll_id=poll_id,
            voter=voter,
            user=request.user,
            question=request.data.get("text"),
            passcode=passcode_from_request(request),
            address=address_prefix(request),
            challenge=challenges.proof_from_header(request.headers.get(challenges.HEADER), poll_id),
        )
        status = http.HTTP_201_CREATED if created else http.HTTP_200_OK
        return _answer(Response(QuestionSerializer(question).data, status=status), request, voter)


class MyQuestionsView(OneTripThrottling, APIView):
    throttle_classes = [MyBallotThrottle]

    @extend_schema(
        summary="My questions in a Q&A poll, and the ones I upvoted",
        parameters=[VOTER_PARAM],
        responses={200: MineSerializer, **errors("not_found", "throttled", **VOTER_ERRORS)},
    )
    def get(self, request, poll_id):
        voter = request_voter(request, create=False)
        own, upvoted = questions.questions_mine(poll_id=poll_id, voter=voter)
        return Response(MineSerializer({"questions": own, "upvoted": upvoted}).data)


class UpvoteView(OneTripThrottling, APIView):
    throttle_classes = WRITE_THROTTLES

    @extend_schema(
        summary="Upvote a question (one per voter)",
        request=None,
        parameters=[VOTER_PARAM, PASSCODE_PARAM, CHALLENGE_PARAM],
        responses={
            200: QuestionSerializer,
            **write_errors(already_voted=(409, "You have already upvoted this question.")),
        },
    )
    def post(self, request, poll_id, question_id):
        return self._vote(request, poll_id, question_id, up=True)

    @extend_schema(
        summary="Take my upvote back",
        request=None,
        parameters=[VOTER_PARAM, PASSCODE_PARAM],
        responses={200: QuestionSerializer, **write_errors()},
    )
    def delete(self, request, poll_id, question_id):
        return self._vote(request, poll_id, question_id, up=False)

    def _vote(self, request, poll_id, question_id, *, up: bool) -> Response:
        voter = request_voter(request, create=up)
        if voter is None:
            raise NotFound(gettext("You have not upvoted this question."))
        question = questions.question_upvote(
            poll_id=poll_id,
            question_id=_question_id(question_id),
            voter=voter,
            user=request.user,
            up=up,
            passcode=passcode_from_request(request),
            address=address_prefix(request),
            challenge=challenges.proof_from_header(request.headers.get(challenges.HEADER), poll_id),
        )
        return _answer(Response(QuestionSerializer(question).data), request, voter)


class QuestionModerateView(OneTripThrottling, APIView):
    throttle_classes = WRITE_THROTTLES
    action = ""  # set by as_view: one of services.questions.ACTIONS

    @extend_schema(
        summary="Moderate a question (owner): show, hide, answered, pin",
        request=None,
        responses={
            200: QuestionSerializer,
            **errors("not_authenticated", "forbidden", "not_found", "throttled"),
        },
    )
    def post(self, request, poll_id, question_id):
        return _moderate(request, poll_id, question_id, self.action)


class QuestionPinView(QuestionModerateView):
    action = "pin"

    @extend_schema(
        summary="Unpin a question (owner)",
        request=None,
        responses={
            200: QuestionSerializer,
            **errors("not_authenticated", "forbidden", "not_found", "throttled"),
        },
    )
    def delete(self, request, poll_id, question_id):
        return _moderate(request, poll_id, question_id, "unpin")


def _moderate(request, poll_id, question_id, action: str) -> Response:
    question = questions.question_moderate(
        poll_id=poll_id, question_id=_question_id(question_id), user=request.user, action=action
    )
    return Response(QuestionSerializer(question).data)
