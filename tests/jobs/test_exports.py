"""CSV exports: the API, the file, and flat memory with 100,000 ballots."""

import csv
import io
import tracemalloc

import pytest
from django.db import transaction

from polls.models import Ballot, BallotChoice, Export
from polls.services import exports
from tests.conftest import client_for
from tests.factories import UserFactory, make_poll
from tests.helpers import choice_ids, vote

pytestmark = pytest.mark.django_db


def download(client, body) -> list[list[str]]:
    response = client.get(body["download"])
    assert response["Content-Type"] == "text/csv"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_owner_exports_results_and_pseudonymised_ballots(
    owner_api, api, poll, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    red, green, _ = choice_ids(poll)
    vote(api, poll.id, [red], voter="voter-0001")
    vote(api, poll.id, [green], voter="voter-0002")
    with django_capture_on_commit_callbacks(execute=True):  # eager: the job runs now
        started = owner_api.post(f"/api/polls/{poll.id}/exports/")
    assert started.status_code == 202
    body = started.json()
    assert (body["status"], body["url"]) == ("pending", f"/api/exports/{body['id']}/")
    done = owner_api.get(body["url"]).json()
    assert (done["status"], done["rows"]) == ("done", 2)
    rows = download(owner_api, done)
    assert rows[:2] == [
        ["poll", "question", "version", "status", "total_votes", "quarantined"],
        [poll.id, "Which colour?", "3", "open", "2", "0"],
    ]
    assert rows[4:7] == [["Red", "1", "0.5"], ["Green", "1", "0.5"], ["Blue", "0", "0.0"]]
    ballots = rows[rows.index(["voter", "choices", "voted_at", "quarantined"]) + 1 :]
    assert [b[1] for b in ballots] == ["Red", "Green"]
    assert all(len(b[0]) == 20 and "voter-000" not in b[0] for b in ballots)


def test_cells_a_spreadsheet_would_run_are_neutralised(
    user, api, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    hostile = ['=HYPERLINK("http://evil.example","x")', "+1+cmd|' /C calc'!A0", "@SUM(1)"]
    poll = make_poll(owner=user, question="-2+3", choices=[*hostile, "\tTab", "Plain = fine"])
    vote(api, poll.id, choice_ids(poll)[:1], voter="voter-0001")
    with django_capture_on_commit_callbacks(execute=True):
        body = client_for(user).post(f"/api/polls/{poll.id}/exports/").json()
    rows = download(client_for(user), client_for(user).get(body["url"]).json())
    assert rows[1][1] == "'-2+3"
    assert [row[0] for row in rows[4:9]] == [*("'" + h for h in hostile), "'\tTab", "Plain = fine"]
    assert rows[-1][1] == "'" + hostile[0]  # the ballot's choices too
    assert rows[4][1:] == ["1", "1.0"]  # numbers stay numbers


def test_only_the_owner_may_export_or_download(
    owner_api, poll, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    other = client_for(UserFactory())
    assert other.post(f"/api/polls/{poll.id}/exports/").json()["code"] == "forbidden"
    with django_capture_on_commit_callbacks(execute=True):
        body = owner_api.post(f"/api/polls/{poll.id}/exports/").json()
    assert other.get(body["url"]).status_code == 404
    assert other.get(f"/api/exports/{body['id']}/download/").status_code == 404


def test_an_export_of_100000_ballots_streams_in_flat_memory(user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    poll = make_poll(owner=user, kind="multiple", max_choices=2)
    ids = choice_ids(poll)
    with transaction.atomic():
        for start in range(0, 100_000, 10_000):
            ballots = Ballot.objects.bulk_create(
                Ballot(poll=poll, voter_key=f"anon:bulk-{n:07}")
                for n in range(start, start + 10_000)
            )
            BallotChoice.objects.bulk_create(
                BallotChoice(ballot=b, poll=poll, choice_id=ids[n % 3])
                for n, b in enumerate(ballots)
            )
    export = Export.objects.create(poll=poll, owner=user)
    tracemalloc.start()
    assert exports.export_build(export_id=export.pk) is True
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"export of 100,000 ballots: peak traced memory {peak / 2**20:.1f} MiB")
    export.refresh_from_db()
    assert (export.status, export.rows, export.attempts) == ("done", 100_000, 1)
    assert peak < 10 * 2**20, f"peak {peak / 2**20:.1f} MiB"  # measured: 2.3 MiB
    with (tmp_path / export.path).open() as f:
        assert sum(1 for _ in f) == 9 + 100_000  # 9 lines of results first
    assert exports.export_build(export_id=export.pk) is False  # done: nothing to redo
