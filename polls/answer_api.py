"""A text poll's answers for its owner: the moderation queue and its two
actions (thin views; services.answers writes)."""

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from nexus.errors import Invalid, NotFound
from nexus.openapi import errors

from . import selectors
from .api import PollPagination, _owned_poll
from .models import Answer
from .services import answers
from .throttles import WRITE_THROTTLES, OneTripThrottling


class AnswerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Answer
        fields = ["id", "text", "state", "created_at"]


def queue_page(view, request, poll_id, model, serializer_class):
    """The owner's moderation queue of a text or Q&A poll, a page of it."""
    poll = _owned_poll(request, poll_id)
    state = request.query_params.get("state")
    if state is not None and state not in model.State.values:
        raise Invalid(
            fields={
                "state": gettext("One of %(values)s.") % {"values": ", ".join(model.State.values)}
            }
        )
    queue = selectors.moderation_queue(poll=poll, model=model, state=state)
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(queue, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


class AnswerListView(OneTripThrottling, APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = PollPagination  # the schema documents the paginated shape by it

    @extend_schema(
        summary="A text poll's answers (owner): the moderation queue",
        parameters=[
            OpenApiParameter("state", str, enum=Answer.State.values, description="Only these.")
        ],
        responses={
            200: AnswerSerializer(many=True),
            **errors("invalid", "not_authenticated", "forbidden", "not_found"),
        },
    )
    def get(self, request, poll_id):
        return queue_page(self, request, poll_id, Answer, AnswerSerializer)


class AnswerModerateView(OneTripThrottling, APIView):
    throttle_classes = WRITE_THROTTLES
    state = ""  # set by as_view

    @extend_schema(
        summary="Show or hide an answer (owner)",
        request=None,
        responses={
            200: AnswerSerializer,
            **errors("not_authenticated", "forbidden", "not_found", "throttled"),
        },
    )
    def post(self, request, poll_id, answer_id):
        if not 0 < answer_id < 2**63:
            raise NotFound(gettext("No answer with this id in this poll."))
        answer = answers.answer_moderate(
            poll_id=poll_id, answer_id=answer_id, user=request.user, state=self.state
        )
        return Response(AnswerSerializer(answer).data)
