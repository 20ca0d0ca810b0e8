"""Polls that open and close by the clock, and the owner's results email.

Each is idempotent: a poll closes once (its status is the marker), an
opening is announced once (`open_announced_at` is the marker), and
the email is sent once (`results_emailed_at`, under a lock of its own).
"""

import functools

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from webhooks import services as webhooks

from .. import selectors
from ..models import Poll
from .common import announce_open, bump


def polls_due(now=None) -> tuple[list[str], list[str]]:
    """(ids of open polls past closes_at, ids of polls whose opens_at just passed)."""
    now = now or timezone.now()
    closing = Poll.objects.filter(Poll.past_close(now)).values_list("id", flat=True)
    opening = Poll.objects.filter(Poll.accepting_votes(now), opens_at__isnull=False).filter(
        Q(open_announced_at__isnull=True) | Q(open_announced_at__lt=F("opens_at"))
    )
    return list(closing), list(opening.values_list("id", flat=True))


@transaction.atomic
def poll_close_if_due(*, poll_id: str) -> bool:
    poll = Poll.objects.select_for_update().filter(pk=poll_id).first()
    now = timezone.now()
    if poll is None or poll.status != Poll.Status.OPEN:  # gone, or closed by its owner
        return False
    if poll.effective_status(now) != Poll.Status.CLOSED:  # not past closes_at
        return False
    poll.status = Poll.Status.CLOSED
    bump(poll, fields=["status"])
    webhooks.poll_closed(poll)
    transaction.on_commit(lambda: _results_email_later(poll_id), robust=True)
    return True


@transaction.atomic
def poll_open_if_due(*, poll_id: str) -> bool:
    """At `opens_at` the poll starts taking votes: a new state for subscribers."""
    poll = Poll.objects.select_for_update().filter(pk=poll_id).first()
    now = timezone.now()
    if poll is None or not poll.opens_at or not poll.accepts_votes(now):
        return False
    if poll.open_announced_at and poll.open_announced_at >= poll.opens_at:  # announced already
        return False
    bump(poll, fields=[])
    announce_open(poll)
    return True


def polls_sweep() -> int:
    """Catch every poll whose moment has passed (a lost timed task included)."""
    closing, opening = polls_due()
    done = sum(poll_close_if_due(poll_id=p) for p in closing)
    return done + sum(poll_open_if_due(poll_id=p) for p in opening)


def poll_results_email(*, poll_id: str) -> bool:
    """Email the owner the final results, once.

    Senders are kept apart by a lock of their own (Postgres: an advisory
    lock; SQLite: the transaction), not the poll's row: a row held during
    the SMTP exchange would hold up the poll's votes and edits for seconds.
    The row is only locked by the final update, until the commit.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"email\n{poll_id}"])
        poll = Poll.objects.select_related("owner").get(pk=poll_id)
        if poll.results_emailed_at or poll.status != Poll.Status.CLOSED or not poll.owner.email:
            return False
        with translation.override(poll.language):  # the worker has no request to follow
            _results_email(poll).send()
        Poll.objects.filter(pk=poll_id).update(results_emailed_at=timezone.now())
    return True


def _results_email(poll: Poll) -> EmailMultiAlternatives:
    results = selectors.results_get(poll_id=poll.pk, user=poll.owner, voter=None)
    context = {"poll": poll, "results": results, "percent": _percentages(results)}
    message = EmailMultiAlternatives(
        # one line, whatever the question holds (a header may not break)
        subject=gettext("Final results: %(question)s")
        % {"question": " ".join(poll.question.split())[:120]},
        body=render_to_string("polls/email/results.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[poll.owner.email],
    )
    message.attach_alternative(render_to_string("polls/email/results.html", context), "text/html")
    return message


def _percentages(results: dict) -> list[tuple[str, int, int]]:
    return [(c["text"], c["votes"], round(c["share"] * 100)) for c in results["choices"]]


def schedule_timed(poll: Poll) -> None:
    """After commit: a task at the exact moment; the sweep catches a lost one."""
    from .. import tasks

    for moment, task in (
        (poll.opens_at, tasks.poll_open_due),
        (poll.closes_at, tasks.poll_close_due),
    ):
        if moment and moment > timezone.now():
            send = functools.partial(task.apply_async, args=[poll.pk], eta=moment)
            transaction.on_commit(send, robust=True)


def _results_email_later(poll_id: str) -> None:
    from .. import tasks

    tasks.poll_results_email.delay(poll_id)
