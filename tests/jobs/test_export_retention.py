"""Export files live as long as their poll and at most
NEXUS_EXPORT_RETENTION_DAYS; starting exports is throttled."""

import asyncio
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from nexus import celery as nexus_celery
from polls.models import Export
from polls.services import exports
from polls.throttles import ExportThrottle
from tests.helpers import vote
from webhooks import sweep as webhooks_sweep

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path / "exports"


def start(owner_api, poll, capture) -> dict:
    with capture(execute=True):  # eager: the job runs now
        response = owner_api.post(f"/api/polls/{poll.id}/exports/")
    assert response.status_code == 202
    return owner_api.get(response.json()["url"]).json()


def test_deleting_the_poll_deletes_its_files(
    owner_api, poll, media, django_capture_on_commit_callbacks
):
    done = start(owner_api, poll, django_capture_on_commit_callbacks)
    assert (media / f"{done['id']}.csv").is_file()
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_api.delete(f"/api/polls/{poll.id}/").status_code == 204
    assert list(media.iterdir()) == []
    assert not Export.objects.exists()
    assert owner_api.get(done["download"]).status_code == 404


def test_a_build_that_ends_after_its_poll_was_deleted_leaves_no_file(
    user, poll, media, monkeypatch
):
    export = Export.objects.create(poll=poll, owner=poll.owner)
    write = exports._write

    def write_then_lose_the_poll(writer, export):
        rows = write(writer, export)
        poll.delete()  # the owner deletes the poll while the file is written
        return rows

    monkeypatch.setattr(exports, "_write", write_then_lose_the_poll)
    assert exports.export_build(export_id=export.pk) is False
    assert list(media.iterdir()) == []
    assert exports.export_build(export_id=export.pk) is False  # a retry: nothing to do


def test_exports_past_the_retention_are_purged_with_their_files(
    owner_api, poll, media, settings, django_capture_on_commit_callbacks
):
    settings.NEXUS_EXPORT_RETENTION_DAYS = 3
    old = start(owner_api, poll, django_capture_on_commit_callbacks)
    Export.objects.filter(pk=old["id"]).update(
        created_at=timezone.now() - timedelta(days=3, seconds=1)
    )
    vote(owner_api, poll.id, [poll.choices.first().id], voter="voter-0001")
    recent = start(owner_api, poll, django_capture_on_commit_callbacks)
    (media / "0b0e5c4e-orphan.csv").write_text("left by a crash")
    (media / "another.part").write_text("half a file")
    assert exports.exports_purge() == 1
    assert sorted(p.name for p in media.iterdir()) == [f"{recent['id']}.csv"]
    assert list(Export.objects.values_list("pk", flat=True)) == [Export.objects.get().pk]
    assert str(Export.objects.get().pk) == recent["id"]
    gone = owner_api.get(old["download"])
    assert (gone.status_code, gone.json()["code"]) == (404, "not_found")
    assert owner_api.get(recent["download"]).status_code == 200


def test_a_file_purged_under_a_finished_export_is_a_404_not_a_500(
    owner_api, poll, media, django_capture_on_commit_callbacks
):
    done = start(owner_api, poll, django_capture_on_commit_callbacks)
    (media / f"{done['id']}.csv").unlink()
    response = owner_api.get(done["download"])
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "This export has expired."}


def test_starting_again_while_one_is_pending_answers_that_one(owner_api, poll):
    first = owner_api.post(f"/api/polls/{poll.id}/exports/").json()  # not run: still pending
    again = owner_api.post(f"/api/polls/{poll.id}/exports/").json()
    assert again == first
    assert Export.objects.count() == 1


def test_export_starts_are_throttled_per_account(
    owner_api, poll, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(ExportThrottle, "rate", "2/hour", raising=False)
    for _ in range(2):
        start(owner_api, poll, django_capture_on_commit_callbacks)
    refused = owner_api.post(f"/api/polls/{poll.id}/exports/")
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert Export.objects.count() == 2


async def test_the_embedded_beat_runs_the_purges_hourly_beside_the_sweep(monkeypatch):
    """Without a broker the server process runs the beat's jobs itself."""
    from polls.services import idempotency, integrity, timing

    calls: list[str] = []
    enough = threading.Event()

    def record(name):
        calls.append(name)
        if len(calls) >= 10:
            enough.set()

    monkeypatch.setattr(timing, "polls_sweep", lambda: record("sweep"))
    monkeypatch.setattr(idempotency, "idempotency_purge", lambda: record("idem"))
    monkeypatch.setattr(exports, "exports_purge", lambda: record("exports"))
    monkeypatch.setattr(idempotency, "spent_challenges_purge", lambda: record("spent"))
    monkeypatch.setattr(integrity, "signals_purge", lambda: record("signals"))
    monkeypatch.setattr(webhooks_sweep, "deliveries_purge", lambda: record("deliveries"))
    webhook_sweeps = threading.Event()  # in a loop of its own, off the requests' thread
    monkeypatch.setattr(webhooks_sweep, "webhooks_sweep", webhook_sweeps.set)
    beat = asyncio.ensure_future(nexus_celery.embedded_beat(interval=0.001, hourly=3))
    try:
        assert await asyncio.to_thread(enough.wait, 5)
        assert await asyncio.to_thread(webhook_sweeps.wait, 5)
    finally:
        beat.cancel()
    hour = ["sweep", "idem", "exports", "spent", "signals", "deliveries", "sweep", "sweep"]
    assert calls[:10] == [*hour, "sweep", "idem"]
