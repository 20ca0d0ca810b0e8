"""Events over REST: thin views, as polls/api.py (services.events writes,
selectors reads)."""

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status as http
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from nexus.errors import Invalid, NotAuthenticated
from nexus.openapi import errors

from . import examples, selectors
from .api import PollPagination
from .serializers import (
    EventCurrentSerializer,
    EventPollsSerializer,
    EventSerializer,
    EventWriteSerializer,
    event_data,
)
from .services import events
from .throttles import WRITE_THROTTLES, OneTripThrottling

OWNER_CODES = ("not_authenticated", "forbidden", "not_found")
OWNER_ERRORS = errors(*OWNER_CODES)


def _event_response(request, event_id: str, status: int = http.HTTP_200_OK) -> Response:
    event = selectors.event_get(event_id=event_id)
    poll_ids = selectors.event_poll_ids(event=event, user=request.user)
    return Response(event_data(event, poll_ids), status=status)


class EventListView(OneTripThrottling, APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]
    pagination_class = PollPagination

    def get_throttles(self):
        return [cls() for cls in WRITE_THROTTLES] if self.request.method == "POST" else []

    @extend_schema(
        summary="List events",
        examples=[examples.EVENT],
        parameters=[OpenApiParameter("mine", bool, description="Only the caller's events.")],
        responses={200: EventSerializer(many=True), **errors("invalid", "not_authenticated")},
    )
    def get(self, request):
        mine = request.query_params.get("mine", "false").lower()
        if mine not in {"true", "false"}:
            raise Invalid(fields={"mine": gettext("true or false.")})
        if mine == "true" and not request.user.is_authenticated:
            raise NotAuthenticated(gettext("Sign in to list your events."))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.event_list(user=request.user, mine=mine == "true"), request, view=self
        )
        body = [event_data(e, selectors.event_poll_ids(event=e, user=request.user)) for e in page]
        return paginator.get_paginated_response(body)

    @extend_schema(
        summary="Create an event",
        request=EventWriteSerializer,
        examples=[examples.EVENT_CREATE, examples.EVENT],
        responses={201: EventSerializer, **errors("invalid", "not_authenticated", "throttled")},
    )
    def post(self, request):
        serializer = EventWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = events.event_create(owner=request.user, **serializer.validated_data)
        return _event_response(request, event.id, status=http.HTTP_201_CREATED)


class EventDetailView(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(
        summary="Get an event",
        examples=[examples.EVENT],
        responses={200: EventSerializer, **errors("not_found")},
    )
    def get(self, request, event_id):
        return _event_response(request, event_id)

    @extend_schema(
        summary="Rename an event, or set the sites that may embed it",
        request=EventWriteSerializer(partial=True),
        examples=[examples.EVENT],
        responses={200: EventSerializer, **errors("invalid", *OWNER_CODES)},
    )
    def patch(self, request, event_id):
        serializer = EventWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if not serializer.validated_data:
            raise Invalid(gettext("Send title or embed_origins."))
        events.event_update(event_id=event_id, user=request.user, **serializer.validated_data)
        return _event_response(request, event_id)

    @extend_schema(
        summary="Delete an event (its polls stay)", responses={204: None, **OWNER_ERRORS}
    )
    def delete(self, request, event_id):
        events.event_delete(event_id=event_id, user=request.user)
        return Response(status=http.HTTP_204_NO_CONTENT)


class EventCurrentView(APIView):
    @extend_schema(
        summary="Switch the room to a poll of the event (null: between questions)",
        request=EventCurrentSerializer,
        examples=[examples.EVENT_CURRENT, examples.EVENT],
        responses={200: EventSerializer, **errors("invalid", *OWNER_CODES)},
    )
    def post(self, request, event_id):
        serializer = EventCurrentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        events.event_current_set(
            event_id=event_id, user=request.user, poll_id=serializer.validated_data["poll"]
        )
        return _event_response(request, event_id)


class EventPollsView(APIView):
    @extend_schema(
        summary="Reorder the event's polls (those left out leave the event)",
        request=EventPollsSerializer,
        examples=[examples.EVENT],
        responses={200: EventSerializer, **errors("invalid", *OWNER_CODES)},
    )
    def put(self, request, event_id):
        serializer = EventPollsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        events.event_polls_set(
            event_id=event_id, user=request.user, poll_ids=serializer.validated_data["polls"]
        )
        return _event_response(request, event_id)
