"""Webhooks: a user's endpoints, and the deliveries the worker sends them.

A delivery is written in the same transaction as what it announces (an
outbox): a poll's close and its `poll.closed` commit together or not at
all. The worker's sweep sends what is due (webhooks.services).
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

EVENTS = ("poll.opened", "poll.closed", "poll.results", "vote.batch")
TEST_EVENT = "webhook.test"


class Webhook(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.CharField(max_length=2000)
    events = models.JSONField(default=list)  # a subset of EVENTS
    description = models.CharField(max_length=200, blank=True, default="")
    # Standard Webhooks' form, "whsec_" + base64 of 32 random bytes; shown
    # to the owner once. Kept in the clear: the worker signs with it.
    secret = models.CharField(max_length=80, editable=False)
    active = models.BooleanField(default=True)
    # Since when every attempt has failed (None: the last one worked). A hook
    # failing for NEXUS_WEBHOOK_DISABLE_AFTER_SECONDS is switched off.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.url} ({', '.join(self.events)})"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"  # to send, at next_attempt_at
        DELIVERED = "delivered"  # the receiver answered 2xx
        FAILED = "failed"  # out of attempts, or its hook was switched off

    # Also the message's `webhook-id`: the same on every retry, so a receiver
    # can drop a message it has already had.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=20)
    poll_id = models.CharField(
        max_length=10, blank=True, default=""
    )  # not a key: the log outlives the poll
    payload = models.TextField()  # the exact body signed and sent
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    # Taken by a sender until then; a sender that died leaves it to the next.
    leased_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["webhook", "-created_at"]),  # the log
            # What the sweep sends: pending ones by when they are due.
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.webhook_id}: {self.status}"


class BatchCursor(models.Model):
    """The last `vote.batch` announced for a poll: at most one a second."""

    poll = models.OneToOneField(
        "polls.Poll", on_delete=models.CASCADE, primary_key=True, related_name="webhook_cursor"
    )
    version = models.BigIntegerField()
    sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.poll_id} at version {self.version}"
