"""Scheduled open/close and the results email, run eagerly in-process."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from polls.models import Poll
from polls.services import timing as schedule
from tests.factories import UserFactory, make_poll
from tests.helpers import choice_ids, vote

pytestmark = pytest.mark.django_db


def test_sweep_closes_due_polls_once_and_emails_the_owner_once(
    api, django_capture_on_commit_callbacks
):
    owner = UserFactory(email="owner@example.com")
    poll = make_poll(owner=owner, question="Lunch?", choices=["Pizza", "Sushi"])
    vote(api, poll.id, choice_ids(poll)[:1])
    Poll.objects.filter(pk=poll.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    version = Poll.objects.get().version
    with django_capture_on_commit_callbacks(execute=True):
        assert schedule.polls_sweep() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert schedule.polls_sweep() == 0  # idempotent
    poll.refresh_from_db()
    assert (poll.status, poll.version) == ("closed", version + 1)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert (message.to, message.subject) == (["owner@example.com"], "Final results: Lunch?")
    assert "- Pizza: 1 vote (100%)" in message.body
    assert "- Sushi: 0 votes (0%)" in message.body
    html, mime = message.alternatives[0]
    assert mime == "text/html" and "<td" in html and "Pizza" in html
    assert schedule.poll_results_email(poll_id=poll.id) is False  # sent already


def test_an_opening_time_is_announced_once(user):
    poll = make_poll(owner=user)
    Poll.objects.filter(pk=poll.pk).update(
        opens_at=timezone.now() - timedelta(seconds=1),
        updated_at=timezone.now() - timedelta(minutes=1),
    )
    version = Poll.objects.get().version
    assert schedule.polls_due()[1] == [poll.id]
    assert schedule.polls_sweep() == 1
    assert schedule.polls_sweep() == 0
    assert Poll.objects.get().version == version + 1


def test_polls_not_yet_due_are_left_alone(user):
    make_poll(owner=user, closes_at=timezone.now() + timedelta(hours=1))
    assert schedule.polls_sweep() == 0
    assert Poll.objects.get().status == "open"


def test_results_email_goes_through_a_real_smtp_server(settings, user):
    from aiosmtpd.controller import Controller

    from tests.servers import free_port

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
            self.messages.append(envelope)
            return "250 OK"

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
        owner = UserFactory(email="host@example.com")
        poll = make_poll(owner=owner, question="Venue?", status="open")
        Poll.objects.filter(pk=poll.pk).update(status="closed")
        assert schedule.poll_results_email(poll_id=poll.id) is True
    finally:
        controller.stop()
    (envelope,) = inbox.messages
    assert envelope.rcpt_tos == ["host@example.com"]
    content = envelope.content.decode()
    assert "Subject: Final results: Venue?" in content
    assert "text/plain" in content and "text/html" in content
