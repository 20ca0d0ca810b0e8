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


@pytest.mark.parametrize(
    "language, subject, line",
    [
        ("de", "Endergebnis: Mittag?", "- Pizza: 1 Stimme (100"),
        ("es", "Resultados finales: ¿Almuerzo?", "- Pizza: 1 voto (100"),
    ],
)
def test_the_results_email_is_in_the_language_the_poll_was_made_in(api, language, subject, line):
    """Made through the API with Accept-Language; the worker, with no request
    of its own, writes the email in that language."""
    from tests.conftest import client_for

    owner = UserFactory(email="owner@example.com")
    question = subject.split(": ", 1)[1]
    made = client_for(owner).post(
        "/api/polls/",
        {"question": question, "choices": ["Pizza", "Sushi"]},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert made.status_code == 201
    poll = Poll.objects.get(pk=made.json()["id"])
    assert poll.language == language
    vote(api, poll.id, choice_ids(poll)[:1])
    Poll.objects.filter(pk=poll.pk).update(status="closed")
    assert schedule.poll_results_email(poll_id=poll.id) is True
    (message,) = mail.outbox
    assert message.subject == subject
    assert line in message.body, message.body


def test_the_plain_text_email_says_an_ampersand_as_itself(api):
    owner = UserFactory(email="owner@example.com")
    poll = make_poll(owner=owner, question="Lunch <today>?", choices=["Fish & Chips", "Soup"])
    vote(api, poll.id, choice_ids(poll)[:1])
    Poll.objects.filter(pk=poll.pk).update(status="closed")
    assert schedule.poll_results_email(poll_id=poll.id) is True
    (message,) = mail.outbox
    assert "- Fish & Chips: 1 vote (100%)" in message.body
    assert "Lunch <today>?" in message.body and "&lt;" not in message.body
    html, _ = message.alternatives[0]
    assert "Fish &amp; Chips" in html  # the HTML part stays escaped


def test_an_opening_time_is_announced_once(user):
    poll = make_poll(owner=user)
    Poll.objects.filter(pk=poll.pk).update(
        opens_at=timezone.now() - timedelta(seconds=1),
        open_announced_at=timezone.now() - timedelta(minutes=1),  # before opens_at
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


@pytest.mark.django_db(transaction=True)
def test_the_results_email_is_sent_once_without_holding_the_poll_row(settings, postgres):
    import asyncio
    import threading

    from aiosmtpd.controller import Controller
    from django.db import connections

    from tests.polls.test_vote_races import holder
    from tests.servers import free_port

    entered, release = threading.Event(), threading.Event()

    class SlowInbox:  # an SMTP server that takes its time, as real ones can
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
            entered.set()
            await asyncio.get_running_loop().run_in_executor(None, release.wait, 30)
            self.messages.append(envelope)
            return "250 OK"

    inbox = SlowInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    poll = make_poll(owner=UserFactory(email="host@example.com"), status="open")
    Poll.objects.filter(pk=poll.pk).update(status="closed")
    sent: list[bool] = []

    def send() -> None:
        try:
            sent.append(schedule.poll_results_email(poll_id=poll.id))
        finally:
            connections.close_all()

    senders = [threading.Thread(target=send) for _ in range(2)]  # a task and its redelivery
    try:
        for sender in senders:
            sender.start()
        assert entered.wait(30)
        with holder() as other:  # votes and edits lock the row: it must be free
            other.execute("SELECT 1 FROM polls_poll WHERE id = %s FOR UPDATE NOWAIT", [poll.id])
            other.rollback()
        release.set()
        for sender in senders:
            sender.join(30)
    finally:
        release.set()
        controller.stop()
    assert sorted(sent) == [False, True]
    assert len(inbox.messages) == 1
    assert Poll.objects.get(pk=poll.pk).results_emailed_at is not None


@pytest.mark.parametrize(
    "question", ["Lunch\nor dinner?", "Lunch\r\nBcc: x@evil.example", "A\u2028B"]
)
def test_the_results_email_survives_any_question_text(question, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    owner = UserFactory(email="owner@example.com")
    poll = make_poll(owner=owner, question=question, choices=["Pizza", "Sushi"])
    Poll.objects.filter(pk=poll.pk).update(status=Poll.Status.CLOSED)
    assert schedule.poll_results_email(poll_id=poll.id) is True
    (message,) = mail.outbox
    assert message.subject == "Final results: " + " ".join(question.split())
    assert message.recipients() == ["owner@example.com"]  # no header smuggled in
    message.message()  # renders: no BadHeaderError
