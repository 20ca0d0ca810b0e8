"""Webhooks over REST: thin views (webhooks.services writes, selectors read)."""

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status as http
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from nexus.errors import Invalid
from nexus.openapi import errors
from polls.api import PollPagination
from polls.throttles import OneTripThrottling, UserThrottle

from . import services
from .models import Delivery, Webhook
from .serializers import (
    DeliverySerializer,
    WebhookCreatedSerializer,
    WebhookSerializer,
    WebhookWriteSerializer,
)

OWNER_CODES = ("not_authenticated", "not_found")
OWNER_ERRORS = errors(*OWNER_CODES)


class WebhookTestThrottle(UserThrottle):
    scope = "webhook_test"


class WebhookWriteThrottle(UserThrottle):
    scope = "webhook_write"


class WriteThrottled(OneTripThrottling, APIView):
    """POST and PATCH count against webhook_write; reads are free."""

    def get_throttles(self):
        return [WebhookWriteThrottle()] if self.request.method in {"POST", "PATCH"} else []


def _page(view, request, rows, serializer):
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(rows, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


class WebhookListView(WriteThrottled):
    permission_classes = [IsAuthenticated]
    pagination_class = PollPagination

    @extend_schema(
        summary="Your webhooks",
        responses={200: WebhookSerializer(many=True), **errors("invalid", *OWNER_CODES)},
    )
    def get(self, request):
        return _page(self, request, Webhook.objects.filter(owner=request.user), WebhookSerializer)

    @extend_schema(
        summary="Add a webhook (its secret is in this answer only)",
        request=WebhookWriteSerializer,
        responses={
            201: WebhookCreatedSerializer,
            **errors("invalid", "not_authenticated", "throttled"),
        },
    )
    def post(self, request):
        serializer = WebhookWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        data.pop("active", None)  # a new hook is on
        hook = services.webhook_create(owner=request.user, **data)
        return Response(WebhookCreatedSerializer(hook).data, status=http.HTTP_201_CREATED)


class WebhookDetailView(WriteThrottled):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="A webhook", responses={200: WebhookSerializer, **OWNER_ERRORS})
    def get(self, request, webhook_id):
        hook = services.owned_webhook(webhook_id, request.user)
        return Response(WebhookSerializer(hook).data)

    @extend_schema(
        summary="Change a webhook's URL, events or description; switch it off or on",
        request=WebhookWriteSerializer(partial=True),
        responses={200: WebhookSerializer, **errors("invalid", "throttled", *OWNER_CODES)},
    )
    def patch(self, request, webhook_id):
        services.owned_webhook(webhook_id, request.user)  # a stranger learns nothing from a 400
        serializer = WebhookWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if not serializer.validated_data:
            raise Invalid(gettext("Send at least one of url, events, description, active."))
        hook = services.webhook_update(
            webhook_id=webhook_id, user=request.user, **serializer.validated_data
        )
        return Response(WebhookSerializer(hook).data)

    @extend_schema(summary="Delete a webhook and its log", responses={204: None, **OWNER_ERRORS})
    def delete(self, request, webhook_id):
        services.webhook_delete(webhook_id=webhook_id, user=request.user)
        return Response(status=http.HTTP_204_NO_CONTENT)


class DeliveryListView(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = PollPagination

    @extend_schema(
        summary="A webhook's deliveries, newest first",
        parameters=[OpenApiParameter("status", str, enum=Delivery.Status.values)],
        responses={200: DeliverySerializer(many=True), **errors("invalid", *OWNER_CODES)},
    )
    def get(self, request, webhook_id):
        hook = services.owned_webhook(webhook_id, request.user)
        rows = hook.deliveries.all()
        status = request.query_params.get("status")
        if status is not None:
            if status not in Delivery.Status.values:
                raise Invalid(fields={"status": gettext("pending, delivered or failed.")})
            rows = rows.filter(status=status)
        return _page(self, request, rows, DeliverySerializer)


class WebhookTestView(OneTripThrottling, APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [WebhookTestThrottle]

    @extend_schema(
        summary="Send the webhook a test event (within a second; see its deliveries)",
        request=None,
        responses={202: DeliverySerializer, **errors("throttled", *OWNER_CODES)},
    )
    def post(self, request, webhook_id):
        delivery = services.webhook_test(webhook_id=webhook_id, user=request.user)
        return Response(DeliverySerializer(delivery).data, status=http.HTTP_202_ACCEPTED)
