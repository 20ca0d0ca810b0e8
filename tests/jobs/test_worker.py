"""Real Celery worker and beat processes on RabbitMQ, Postgres and Redis."""

import os
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.utils import timezone

from nexus.celery import app as celery_app
from polls.models import Poll
from tests.factories import UserFactory, make_poll
from tests.realtime.conftest import LAYERS, connect, receive_until, use_layer
from tests.servers import ROOT, wait_for
from tests.services import require_service

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker(settings):
    url = os.environ.get("NEXUS_TEST_BROKER_URL", "")
    require_service(bool(url), "RabbitMQ")
    require_service(connection.vendor == "postgresql", "Postgres")
    require_service(bool(os.environ.get("REDIS_URL")), "Redis")
    queue = f"nexus-test-{uuid.uuid4().hex[:8]}"  # this test's own queue
    settings.CELERY_TASK_ALWAYS_EAGER = False
    keys = ("broker_url", "task_always_eager", "task_default_queue")
    saved = {key: celery_app.conf[key] for key in keys}
    celery_app.conf.update(broker_url=url, task_always_eager=False, task_default_queue=queue)
    yield url, queue
    celery_app.conf.update(saved)


@pytest.fixture
def spawn(broker, tmp_path, settings):
    """Start `celery worker` / `celery beat` processes on the test database."""
    url, queue = broker
    db = connection.settings_dict
    settings.MEDIA_ROOT = tmp_path
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": url,
        "NEXUS_CELERY_QUEUE": queue,
        "SECRET_KEY": "test-only",
        "NEXUS_MEDIA_ROOT": str(tmp_path),
        "NEXUS_WEBHOOK_ALLOW_PRIVATE": "1",  # the tests' receivers listen on 127.0.0.1
    }
    celery = [sys.executable, "-m", "celery", "-A", "nexus"]
    commands = {
        "worker": [
            *celery,
            "worker",
            "--pool",
            "threads",
            "-c",
            "4",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "-l",
            "WARNING",
        ],
        "beat": [*celery, "beat", "-l", "WARNING", "-s", str(tmp_path / "beat-schedule")],
    }
    processes = []

    def start(kind: str) -> subprocess.Popen:
        processes.append(subprocess.Popen(commands[kind], cwd=ROOT, env=env))
        return processes[-1]

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.wait(15)


@pytest.fixture
def jobs(spawn):
    return [spawn("worker"), spawn("beat")]


async def test_a_poll_closes_on_time_and_subscribers_see_it_within_two_seconds(jobs, settings):
    use_layer(settings, LAYERS["redis"])
    owner = await database_sync_to_async(UserFactory)()
    closes_at = timezone.now() + timedelta(seconds=3)
    poll = await database_sync_to_async(make_poll)(owner=owner, closes_at=closes_at)
    comm = connect(f"/ws/polls/{poll.id}/")
    await comm.connect()
    assert (await comm.receive_json_from(timeout=5))["status"] == "open"
    messages = await receive_until(comm, lambda m: m["status"] == "closed", timeout=10)
    assert timezone.now() - closes_at <= timedelta(seconds=2)
    assert messages[-1]["version"] == 2
    await comm.disconnect()


def test_a_lost_timed_task_is_caught_by_the_beat_sweep(jobs):
    poll = make_poll(owner=UserFactory())
    # As if its timed task had been lost: the deadline passes with nothing queued.
    Poll.objects.filter(pk=poll.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    wait_for(lambda: Poll.objects.get(pk=poll.pk).status == "closed", 10, "the sweep")
    assert Poll.objects.get(pk=poll.pk).version == 2


def test_a_timed_close_reaches_a_webhook_receiver_signed_by_the_worker(jobs, settings):
    from tests.webhooks.receiver import Receiver
    from webhooks.services import webhook_create

    settings.NEXUS_WEBHOOK_ALLOW_PRIVATE = True
    receiver = Receiver().start()
    try:
        owner = UserFactory()
        hook = webhook_create(owner=owner, url=receiver.url, events=["poll.closed", "vote.batch"])
        receiver.secret = hook.secret
        poll = make_poll(owner=owner, closes_at=timezone.now() + timedelta(seconds=2))
        wait_for(lambda: receiver.of_type("poll.closed"), 15, "the worker's delivery")
        assert all(r.verified for r in receiver.received)
        closed = receiver.of_type("poll.closed")[0]["data"]
        assert (closed["poll"], closed["status"], closed["total_votes"]) == (poll.id, "closed", 0)
    finally:
        receiver.close()


def test_an_export_finishes_once_after_its_worker_is_killed(spawn, tmp_path):
    from django.db import transaction

    from polls.models import Ballot, BallotChoice, Export
    from polls.services import exports

    owner = UserFactory()
    poll = make_poll(owner=owner)
    choice = poll.choices.first()
    for start in range(0, 150_000, 10_000):
        ballots = Ballot.objects.bulk_create(
            Ballot(poll=poll, voter_key=f"anon:kill-{n:07}") for n in range(start, start + 10_000)
        )
        BallotChoice.objects.bulk_create(
            BallotChoice(ballot=b, poll=poll, choice=choice) for b in ballots
        )
    first = spawn("worker")
    with transaction.atomic():
        export = exports.export_start(poll=poll, user=owner)

    def export_row():
        return Export.objects.get(pk=export.pk)

    wait_for(lambda: export_row().rows > 0, 30, "the export to be under way")
    first.kill()  # SIGKILL in the middle of writing: the task was never acknowledged
    first.wait()
    assert export_row().status == "running"
    spawn("worker")
    wait_for(lambda: export_row().status == "done", 60, "the export to finish")
    done = export_row()
    assert (done.rows, done.attempts) == (150_000, 2)
    with (tmp_path / done.path).open() as f:
        assert sum(1 for _ in f) == 9 + 150_000
    assert not list(tmp_path.glob("exports/*.part"))
