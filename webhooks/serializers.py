import json

from django.utils.translation import gettext
from rest_framework import serializers

from nexus.fields import StrictBooleanField, StrictCharField

from .address import MAX_URL
from .models import EVENTS, Delivery, Webhook


class WebhookWriteSerializer(serializers.Serializer):
    url = StrictCharField(
        max_length=MAX_URL,
        help_text="https://, resolving to public addresses"
        " (NEXUS_WEBHOOK_ALLOW_PRIVATE lifts both).",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENTS), min_length=1, max_length=len(EVENTS)
    )
    description = StrictCharField(max_length=200, required=False, allow_blank=True)
    active = StrictBooleanField(required=False, help_text="Switch a hook off, or back on.")

    def validate_events(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError(gettext("Name each event once."))
        return value


class WebhookSerializer(serializers.ModelSerializer):
    class Meta:
        model = Webhook
        fields = [
            "id",
            "url",
            "events",
            "description",
            "active",
            "failing_since",
            "disabled_reason",
            "created_at",
        ]
        read_only_fields = fields


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="Signs every delivery (Standard Webhooks). Shown only now."
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    poll = serializers.SerializerMethodField()
    payload = serializers.SerializerMethodField(help_text="The body as sent (or to be sent).")

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "poll",
            "status",
            "attempts",
            "created_at",
            "next_attempt_at",
            "last_attempt_at",
            "response_status",
            "response_ms",
            "error",
            "payload",
        ]
        read_only_fields = fields

    def get_poll(self, delivery: Delivery) -> str | None:
        return delivery.poll_id or None

    def get_payload(self, delivery: Delivery) -> dict:
        return json.loads(delivery.payload)
