"""Webhooks: hooks saved, and events written in the transaction of what
they announce (an outbox). webhooks.sweep sends them."""

import base64
import json
import logging
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework.utils.encoders import JSONEncoder

from nexus.errors import Invalid, NotAuthenticated, NotFound
from polls import selectors as poll_selectors
from polls.models import Poll

from .address import Refused, check_url
from .models import TEST_EVENT, Delivery, Webhook

log = logging.getLogger("nexus.webhooks")


def webhook_create(*, owner, url: str, events: list[str], description: str = "") -> Webhook:
    if not owner.is_authenticated:
        raise NotAuthenticated()
    _url_check(url)  # before the lock: it may wait on a name server
    with transaction.atomic():
        # The owner's row, locked: requests at once cannot pass the limit together.
        get_user_model().objects.select_for_update().filter(pk=owner.pk).exists()
        if Webhook.objects.filter(owner=owner).count() >= settings.NEXUS_WEBHOOKS_PER_USER:
            text = gettext("At most %(most)d webhooks per account.")
            raise Invalid(text % {"most": settings.NEXUS_WEBHOOKS_PER_USER})
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        return Webhook.objects.create(
            owner=owner, url=url, events=events, description=description, secret=secret
        )


def webhook_update(*, webhook_id, user, **changes) -> Webhook:
    hook = owned_webhook(webhook_id, user)
    if "url" in changes:
        _url_check(changes["url"])
    if changes.get("active") and not hook.active:  # switched back on: a clean slate
        hook.failing_since, hook.disabled_reason = None, ""
        changes["failing_since"], changes["disabled_reason"] = None, ""
    for field, value in changes.items():
        setattr(hook, field, value)
    hook.save(update_fields=list(changes))
    if changes.get("active") is False:
        deliveries_give_up(hook)
    return hook


def deliveries_give_up(hook: Webhook) -> None:
    """A hook switched off: its pending deliveries fail (test events stay:
    they are how its owner checks it works again)."""
    pending = Delivery.objects.filter(webhook=hook, status=Delivery.Status.PENDING)
    pending.exclude(event=TEST_EVENT).update(
        status=Delivery.Status.FAILED, next_attempt_at=None, error="the webhook was switched off"
    )


def webhook_delete(*, webhook_id, user) -> None:
    owned_webhook(webhook_id, user).delete()  # its deliveries with it


def webhook_test(*, webhook_id, user) -> Delivery:
    """A `webhook.test` message, sent by the next sweep (even to a hook that
    is switched off: that is how its owner finds out it works again)."""
    hook = owned_webhook(webhook_id, user)
    data = {"webhook": str(hook.id), "message": "A test event from Nexus."}
    return Delivery.objects.create(
        webhook=hook, event=TEST_EVENT, payload=envelope(TEST_EVENT, data)
    )


def owned_webhook(webhook_id, user) -> Webhook:
    """The caller's hook; anyone else's is as unknown as a missing one."""
    if not user.is_authenticated:
        raise NotAuthenticated()
    hook = Webhook.objects.filter(pk=webhook_id, owner=user).first()
    if hook is None:
        raise NotFound(gettext("No webhook with this id."))
    return hook


def _url_check(url: str) -> None:
    try:
        check_url(url)
    except Refused as exc:
        raise Invalid(fields={"url": str(exc)}) from exc


# --- Events, written in the transaction of what they announce ---------------


def poll_opened(poll: Poll) -> None:
    """In the opening's transaction."""
    data = {
        "poll": poll.pk,
        "question": poll.question,
        "status": "open",
        "version": poll.version,
        "closes_at": poll.closes_at,
    }
    _emit(poll, {"poll.opened": data})


def poll_closed(poll: Poll) -> None:
    """In the closing's transaction: `poll.closed`, and `poll.results` with
    the final results (read only if a hook asks for them)."""
    hooks = _hooks_for(poll.owner_id, ("poll.closed", "poll.results"))
    if not hooks:
        return
    data = {
        "poll": poll.pk,
        "question": poll.question,
        "status": "closed",
        "version": poll.version,
        "total_votes": poll.total_votes,
    }
    events: dict[str, dict] = {"poll.closed": data}
    if any("poll.results" in hook.events for hook in hooks):
        results = poll_selectors.results_get(poll_id=poll.pk, user=poll.owner, voter=None)
        events["poll.results"] = {"poll": poll.pk, "results": results}
    _emit(poll, events, hooks)


def _hooks_for(owner_id: int, events) -> list[Webhook]:
    hooks = Webhook.objects.filter(owner_id=owner_id, active=True).only("id", "events")
    return [hook for hook in hooks if set(events) & set(hook.events)]


def _emit(poll: Poll, events: dict[str, dict], hooks: list[Webhook] | None = None) -> None:
    if hooks is None:
        hooks = _hooks_for(poll.owner_id, events)
    left = room([hook.pk for hook in hooks])
    for hook_id in [pk for pk, n in left.items() if n <= 0]:
        log.warning(
            "webhook %s has %s pending deliveries; %s dropped",
            hook_id,
            settings.NEXUS_WEBHOOK_MAX_PENDING,
            ", ".join(events),
        )
    Delivery.objects.bulk_create(
        Delivery(webhook=hook, event=event, poll_id=poll.pk, payload=envelope(event, data))
        for hook in hooks
        if left[hook.pk] > 0
        for event, data in events.items()
        if event in hook.events
    )


def room(hook_ids: list) -> dict:
    """Pending deliveries each hook may still take (NEXUS_WEBHOOK_MAX_PENDING):
    a receiver that is down does not grow its queue without bound."""
    pending = dict(
        Delivery.objects.filter(webhook_id__in=hook_ids, status=Delivery.Status.PENDING)
        .values("webhook_id")
        .annotate(n=Count("id"))
        .values_list("webhook_id", "n")
    )
    return {pk: settings.NEXUS_WEBHOOK_MAX_PENDING - pending.get(pk, 0) for pk in hook_ids}


def envelope(event: str, data: dict) -> str:
    """The Standard Webhooks payload: type, timestamp, data (dates and
    numbers as the REST API writes them)."""
    body = {"type": event, "timestamp": timezone.now(), "data": data}
    return json.dumps(body, cls=JSONEncoder, ensure_ascii=False, separators=(",", ":"))
