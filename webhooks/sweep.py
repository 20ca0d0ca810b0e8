"""The worker's webhook sweep, every second: announce the polls whose tally
moved (`vote.batch`, at most once a second per poll), then send every
delivery that is due, all at once, and schedule the retries.

A delivery is leased before it is sent, so two sweeps never send it
together, and a sweep that died leaves it to the next once the lease ends
(receivers may get a message twice, with the same `webhook-id`; never
none).
"""

import asyncio
import logging
import queue
import random
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from polls.models import Choice, Poll

from . import sender, services
from .models import TEST_EVENT, BatchCursor, Delivery, Webhook

log = logging.getLogger("nexus.webhooks")
SEND_AT_ONCE = 100
PER_HOOK = 5  # deliveries to one hook per sweep: one owner's flood waits its turn
BATCH_POLLS = 500  # polls announced per sweep, at most
LEASE_MARGIN = timedelta(seconds=30)
_sending = threading.Lock()  # one sender per process: a slow receiver holds up one thread


def webhooks_sweep(*, now: datetime | None = None) -> int:
    """Announce moved polls; send what is due. Returns deliveries attempted.

    One sender per process (a receiver that hangs holds up this sweep's
    thread for NEXUS_WEBHOOK_TIMEOUT at most, not one thread per second);
    each attempt is recorded as soon as it ends, so a slow receiver delays
    nobody else's log or retry."""
    vote_batches(now=now or timezone.now())
    if not _sending.acquire(blocking=False):
        return 0
    try:
        due = deliveries_lease(now=timezone.now())
        _send_and_record(due)
        return len(due)
    finally:
        _sending.release()


def _send_and_record(due: list["Leased"]) -> None:
    """Send on an event loop in a thread of its own, and record each attempt
    here as it ends (this thread's database connection)."""
    if not due:
        return
    ended: queue.SimpleQueue = queue.SimpleQueue()

    async def send_all() -> None:
        async def one(leased: Leased) -> None:
            ended.put((leased, await sender.send(leased.message)))

        await asyncio.gather(*(one(leased) for leased in due))

    threading.Thread(target=asyncio.run, args=(send_all(),), daemon=True).start()
    for _ in due:
        try:  # send() never raises and ends within the timeout: this is a backstop
            leased, attempt = ended.get(timeout=settings.NEXUS_WEBHOOK_TIMEOUT + 30)
        except queue.Empty:
            log.error("webhook sender stopped answering; its leases run out")
            return
        try:
            delivery_record(delivery_id=leased.id, lease=leased.lease, attempt=attempt)
        except Exception:  # retried when its lease ends; the others are recorded
            log.warning("webhook delivery %s not recorded", leased.id, exc_info=True)


@transaction.atomic
def vote_batches(*, now: datetime) -> int:
    """A `vote.batch` for each poll whose version moved since its last one,
    a second ago or more, to its owner's hooks that want it."""
    if not _sole_batcher():
        return 0
    hooks = [h for h in Webhook.objects.filter(active=True) if "vote.batch" in h.events]
    by_owner: dict[int, list[Webhook]] = defaultdict(list)
    for hook in hooks:
        by_owner[hook.owner_id].append(hook)
    if not by_owner:
        return 0
    polls = list(
        Poll.objects.filter(owner_id__in=by_owner)
        .exclude(status=Poll.Status.DRAFT)
        .annotate(sent=F("webhook_cursor__version"), sent_at=F("webhook_cursor__sent_at"))
        .filter(
            # A poll never announced: only if it moved in the last minute (a
            # new hook is not told about every poll its owner ever had).
            Q(sent__isnull=True, total_votes__gt=0, updated_at__gte=now - timedelta(minutes=1))
            | Q(version__gt=F("sent"), sent_at__lte=now - timedelta(seconds=1))
        )
        .only("id", "owner_id", "version", "total_votes", "quarantined")[:BATCH_POLLS]
    )
    choices = defaultdict(list)
    for poll_id, choice_id, votes in Choice.objects.filter(poll__in=polls).values_list(
        "poll_id", "id", "votes"
    ):
        choices[poll_id].append({"id": choice_id, "votes": votes})
    waiting = _waiting_batches(hooks, [poll.pk for poll in polls], now)
    room = services.room([hook.pk for hook in hooks])
    rows = []
    for poll in polls:
        data = {
            "poll": poll.pk,
            "version": poll.version,
            "total_votes": poll.total_votes,
            "choices": choices[poll.pk],
        }
        if poll.quarantined:
            data["quarantined"] = poll.quarantined
        payload = services.envelope("vote.batch", data)
        for hook in by_owner[poll.owner_id]:
            # A newer batch replaces those still waiting to be sent, and takes
            # over their attempts and back-off: a receiver that is down gets
            # the newest tally when it is back, and is not called every
            # second meanwhile.
            old = waiting.get((hook.pk, poll.pk), [])
            if not old and room[hook.pk] <= 0:
                continue
            rows.append(
                Delivery(
                    webhook=hook,
                    event="vote.batch",
                    poll_id=poll.pk,
                    payload=payload,
                    attempts=max((d.attempts for d in old), default=0),
                    next_attempt_at=max((d.next_attempt_at for d in old), default=now),
                )
            )
    Delivery.objects.filter(pk__in=[d.pk for ds in waiting.values() for d in ds]).delete()
    Delivery.objects.bulk_create(rows)
    BatchCursor.objects.bulk_create(
        [BatchCursor(poll=poll, version=poll.version, sent_at=now) for poll in polls],
        update_conflicts=True,
        unique_fields=["poll"],
        update_fields=["version", "sent_at"],
    )
    return len(polls)


def _sole_batcher() -> bool:
    """One batcher at a time (Postgres: an advisory lock for this
    transaction; SQLite: the transaction's own write lock), so two sweeps
    never announce one poll twice in a second."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext('nexus.webhooks.batches'))")
        return cursor.fetchone()[0]


def _waiting_batches(hooks: list[Webhook], poll_ids: list[str], now: datetime) -> dict:
    """(hook id, poll id) -> its pending `vote.batch`es that no sender holds,
    locked until this transaction ends (a sender's lease skips them)."""
    waiting = (
        Delivery.objects.select_for_update(skip_locked=True)
        .filter(
            webhook__in=hooks,
            poll_id__in=poll_ids,
            event="vote.batch",
            status=Delivery.Status.PENDING,
        )
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
    )
    found: dict = defaultdict(list)
    for delivery in waiting:
        found[(delivery.webhook_id, delivery.poll_id)].append(delivery)
    return found


@dataclass(frozen=True)
class Leased:
    id: object
    lease: datetime  # the lease's end, also its token: only its holder records
    message: sender.Message


@transaction.atomic
def deliveries_lease(*, now: datetime) -> list[Leased]:
    """Take up to SEND_AT_ONCE due deliveries, PER_HOOK at most per hook."""
    candidates = (
        Delivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("webhook")
        .filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(webhook__active=True) | Q(event=TEST_EVENT))
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .order_by("next_attempt_at")[: SEND_AT_ONCE * PER_HOOK]
    )
    per_hook: Counter = Counter()
    due: list[Delivery] = []
    for delivery in candidates:
        per_hook[delivery.webhook_id] += 1
        if per_hook[delivery.webhook_id] <= PER_HOOK and len(due) < SEND_AT_ONCE:
            due.append(delivery)
    until = now + timedelta(seconds=settings.NEXUS_WEBHOOK_TIMEOUT) + LEASE_MARGIN
    Delivery.objects.filter(pk__in=[d.pk for d in due]).update(leased_until=until)
    return [
        Leased(d.pk, until, sender.Message(str(d.pk), d.webhook.url, d.webhook.secret, d.payload))
        for d in due
    ]


@transaction.atomic
def delivery_record(*, delivery_id, lease: datetime, attempt: sender.Attempt) -> None:
    """Note an attempt: delivered, retried later, or given up; a hook that
    has failed for NEXUS_WEBHOOK_DISABLE_AFTER is switched off. Only by the
    lease's holder: after a lease ran out, another sender may hold it."""
    delivery = (
        Delivery.objects.select_for_update()
        .select_related("webhook")
        .filter(pk=delivery_id, status=Delivery.Status.PENDING, leased_until=lease)
        .first()
    )
    if delivery is None:  # deleted with its hook, superseded, or leased again
        return
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_attempt_at, delivery.leased_until = now, None
    delivery.response_status, delivery.response_ms = attempt.status, attempt.ms
    delivery.error = attempt.error[:300]
    if attempt.delivered:
        delivery.status, delivery.next_attempt_at = Delivery.Status.DELIVERED, None
    elif delivery.attempts >= settings.NEXUS_WEBHOOK_MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save()
    if delivery.event != TEST_EVENT:
        _hook_health(delivery.webhook, delivered=attempt.delivered, now=now)


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: RETRY * 2**(attempts - 1), at most
    an hour, ±10% so that hooks that failed together do not retry together."""
    seconds = min(settings.NEXUS_WEBHOOK_RETRY_SECONDS * 2 ** (attempts - 1), 3600)
    return timedelta(seconds=seconds * random.uniform(0.9, 1.1))


def _hook_health(hook: Webhook, *, delivered: bool, now: datetime) -> None:
    hook = Webhook.objects.select_for_update().get(pk=hook.pk)
    if delivered:
        if hook.failing_since:
            Webhook.objects.filter(pk=hook.pk).update(failing_since=None)
        return
    if hook.failing_since is None:
        Webhook.objects.filter(pk=hook.pk).update(failing_since=now)
    elif hook.active and now - hook.failing_since >= timedelta(
        seconds=settings.NEXUS_WEBHOOK_DISABLE_AFTER
    ):
        webhook_disable(
            hook, reason=f"Every delivery failed since {hook.failing_since:%Y-%m-%d %H:%M} UTC."
        )


def webhook_disable(hook: Webhook, *, reason: str) -> None:
    """In a transaction: switch the hook off, give up its pending
    deliveries, and email its owner after commit."""
    Webhook.objects.filter(pk=hook.pk).update(active=False, disabled_reason=reason)
    services.deliveries_give_up(hook)
    owner = hook.owner
    if owner.email:
        message = (
            f"Nexus switched off your webhook to {hook.url}.\n\n{reason}\n\n"
            "Fix the receiver, send it a test event, and switch the webhook back on "
            '(PATCH /api/webhooks/{id}/ with {"active": true}).\n'
        ).replace("{id}", str(hook.pk))
        transaction.on_commit(
            lambda: send_mail("Your Nexus webhook was switched off", message, None, [owner.email]),
            robust=True,
        )
    log.warning("webhook %s switched off: %s", hook.pk, reason)


def deliveries_purge(*, now: datetime | None = None) -> int:
    """Forget finished deliveries older than NEXUS_WEBHOOK_LOG_DAYS."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.NEXUS_WEBHOOK_LOG_DAYS)
    deleted, _ = (
        Delivery.objects.filter(created_at__lt=cutoff)
        .exclude(status=Delivery.Status.PENDING)
        .delete()
    )
    return deleted
