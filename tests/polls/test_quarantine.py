"""Quarantine and release: the owner holds a signal's ballots out of the
count and lets them back in (polls/services/integrity.py)."""

import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from polls.models import Answer, Ballot, IntegrityAction, Poll
from polls.services import poll_recount
from polls.services.integrity import integrity_sweep
from polls.voters import voter_id_issue
from tests.factories import make_poll
from tests.helpers import cast, choice_ids, vote, voter_id

from .test_integrity import IPHONE, cast_from_one_address

pytestmark = pytest.mark.django_db

STUFFER = "198.51.100.77"  # cast_from_one_address's


def people(poll, count: int, choice: int, **body) -> None:
    """`count` voters from addresses of their own, each with an id of long ago."""
    for n in range(count):
        client = APIClient(REMOTE_ADDR=f"203.0.{n // 250}.{n % 250 + 1}", HTTP_USER_AGENT=f"p{n}")
        payload = body or {"choices": [choice]}
        assert cast(client, poll.id, payload, voter=f"person-{n}").status_code == 201


def report(owner_api, poll) -> dict:
    return owner_api.get(f"/api/polls/{poll.id}/integrity/").json()


def results(api, poll) -> dict:
    return api.get(f"/api/polls/{poll.id}/results/").json()


def burst_of(found: dict) -> str:
    (signal,) = [s["id"] for s in found["signals"] if s["kind"] == "prefix_burst"]
    return signal


def post(owner_api, poll, what: str, body: dict):
    return owner_api.post(f"/api/polls/{poll.id}/integrity/{what}/", body, format="json")


@pytest.fixture
def stuffed(user):
    """Twenty people vote Green; a script casts 100 ballots for Red from one address."""
    poll = make_poll(owner=user, max_ballots_per_address=0)
    red, green, _ = choice_ids(poll)
    people(poll, 20, green)
    cast_from_one_address(poll, 100)
    return poll


def test_quarantine_removes_exactly_the_stuffers_ballots_and_release_restores_them(
    stuffed, owner_api, api, user
):
    poll = stuffed
    before = results(api, poll)
    assert before["total_votes"] == 120 and "quarantined" not in before
    signal = burst_of(report(owner_api, poll))

    done = post(owner_api, poll, "quarantine", {"signal": signal})
    assert done.status_code == 200
    body = done.json()
    assert (body["quarantined"], body["total_votes"]) == (100, 20)
    assert body["action"]["action"] == "quarantine" and body["action"]["ballots"] == 100
    assert body["action"]["by"] == user.username and body["action"]["signal"] == signal
    held = results(api, poll)
    assert held["version"] == body["version"] > before["version"]
    assert (held["total_votes"], held["quarantined"]) == (20, 100)
    assert [c["votes"] for c in held["choices"]] == [0, 20, 0]
    assert [c["share"] for c in held["choices"]] == [0.0, 1.0, 0.0]
    # Kept in the database, flagged still, and recorded for the owner.
    assert Ballot.objects.filter(poll=poll).count() == 120
    now = report(owner_api, poll)
    assert (now["flagged"], now["quarantined"]) == (100, 100)
    assert [s["quarantined"] for s in now["signals"] if s["id"] == signal] == [100]
    assert sum(now["arrivals"]["quarantined"]) == 100
    assert [(a["action"], a["ballots"]) for a in now["actions"]] == [("quarantine", 100)]
    assert poll_recount(poll_id=poll.id) == []  # the cached counts are the rows' counts

    released = post(owner_api, poll, "release", {"signal": signal}).json()
    assert (released["quarantined"], released["total_votes"]) == (0, 120)
    after = results(api, poll)
    assert after["version"] > held["version"] and "quarantined" not in after
    assert [c["votes"] for c in after["choices"]] == [100, 20, 0]
    assert [a["action"] for a in report(owner_api, poll)["actions"]] == ["release", "quarantine"]


def test_all_flagged_and_release_all(stuffed, owner_api, api):
    assert (
        post(owner_api, stuffed, "quarantine", {"all_flagged": True}).json()["quarantined"] == 100
    )
    again = post(owner_api, stuffed, "quarantine", {"all_flagged": True}).json()
    assert again["action"]["ballots"] == 0 and again["quarantined"] == 100  # nothing twice
    assert results(api, stuffed)["total_votes"] == 20
    out = post(owner_api, stuffed, "release", {"all": True}).json()
    assert (out["action"]["ballots"], out["total_votes"], out["quarantined"]) == (100, 120, 0)
    post(owner_api, stuffed, "release", {"all": True})  # nothing left to release
    actions = report(owner_api, stuffed)["actions"]
    # What moved ballots is recorded; a request that moved none is not.
    assert [(a["action"], a["signal"], a["ballots"]) for a in actions] == [
        ("release", "all", 100),
        ("quarantine", "all_flagged", 100),
    ]


@pytest.mark.parametrize(
    ("what", "body"),
    [
        ("quarantine", {"signal": "prefix_burst:0000000000000000:1"}),
        ("release", {"signal": "prefix_burst:0000000000000000:1"}),
        ("quarantine", {}),
        ("quarantine", {"signal": "x", "all_flagged": True}),
        ("quarantine", {"all_flagged": False}),
        ("quarantine", {"all_flagged": "true"}),
        ("quarantine", {"signal": 7}),
        ("quarantine", {"signal": ["a"]}),
        ("quarantine", {"signal": "s" * 201}),
        ("quarantine", {"signal": "prefix\x00burst"}),
        ("release", {}),
        ("release", {"all": 1}),
        ("release", {"signal": {"$ne": ""}}),
    ],
)
def test_an_unknown_or_malformed_signal_is_400_and_changes_nothing(
    stuffed, owner_api, api, what, body
):
    version = results(api, stuffed)["version"]
    refused = post(owner_api, stuffed, what, body)
    assert refused.status_code == 400
    assert refused.json()["code"] in {"invalid", "bad_request"}
    assert results(api, stuffed)["version"] == version
    assert not IntegrityAction.objects.exists()
    assert not Ballot.objects.filter(quarantine__isnull=False).exists()


def test_only_the_owner_quarantines(stuffed, other_api, api, owner_api):
    for client, status in ((other_api, 403), (api, 401)):
        assert post(client, stuffed, "quarantine", {"all_flagged": True}).status_code == status
        assert post(client, stuffed, "release", {"all": True}).status_code == status
    missing = owner_api.post(
        "/api/polls/NOPE42/integrity/quarantine/", {"all_flagged": True}, format="json"
    )
    assert missing.status_code == 404
    assert Poll.objects.get(pk=stuffed.pk).quarantined == 0


def test_a_quarantined_ballot_changed_or_withdrawn_stays_out_of_the_count(user, owner_api, api):
    poll = make_poll(owner=user, max_ballots_per_address=0, allow_vote_change=True)
    red, green, blue = choice_ids(poll)
    people(poll, 5, green)
    vote(api, poll.id, [red], voter="suspect")
    suspect = Ballot.objects.filter(poll=poll).order_by("-id").first()
    record = IntegrityAction.objects.create(poll=poll, user=user, action="quarantine", signal="x")
    Ballot.objects.filter(pk=suspect.pk).update(quarantine=record)
    assert [(d.what, d.actual) for d in poll_recount(poll_id=poll.id)] == [
        (f"choice {red}", 0),
        ("total_votes", 5),
        ("quarantined", 1),
    ]
    assert vote(api, poll.id, [blue], voter="suspect").status_code == 200
    changed = results(api, poll)
    assert [c["votes"] for c in changed["choices"]] == [0, 5, 0]
    assert (changed["total_votes"], changed["quarantined"]) == (5, 1)
    assert Ballot.objects.get(pk=suspect.pk).quarantine_id == record.pk
    gone = api.delete(f"/api/polls/{poll.id}/votes/mine/", HTTP_X_VOTER_ID=voter_id("suspect"))
    assert gone.status_code == 204
    after = results(api, poll)
    assert (after["total_votes"], "quarantined" in after) == (5, False)
    assert poll_recount(poll_id=poll.id) == []
    # The quarantine sticks to the voter: cast again, from anywhere, it starts held.
    elsewhere = APIClient(REMOTE_ADDR="192.0.2.200")
    assert vote(elsewhere, poll.id, [red], voter="suspect").status_code == 201
    back = results(api, poll)
    assert (back["total_votes"], back["quarantined"]) == (5, 1)
    assert [c["votes"] for c in back["choices"]] == [0, 5, 0]
    assert poll_recount(poll_id=poll.id) == []
    # Released, the voter's new ballot counts, and a later one would too.
    out = post(owner_api, poll, "release", {"signal": "x"}).json()
    assert (out["total_votes"], out["quarantined"]) == (6, 0)
    assert not Poll.objects.get(pk=poll.pk).has_held_voters


def test_a_ranking_polls_instant_runoff_leaves_quarantined_ballots_out(user, owner_api, api):
    poll = make_poll(owner=user, kind="ranking", max_ballots_per_address=0)
    a, b, c = choice_ids(poll)
    people(poll, 3, 0, ranking=[b, c, a])
    client = APIClient(REMOTE_ADDR=STUFFER, HTTP_USER_AGENT=IPHONE)
    for _ in range(60):
        fresh = voter_id_issue()
        body = {"ranking": [a, b, c]}
        assert cast(client, poll.id, body, voter=None, x_voter_id=fresh).status_code == 201
    assert results(api, poll)["irv"]["winner"] == a
    post(owner_api, poll, "quarantine", {"signal": burst_of(report(owner_api, poll))})
    held = results(api, poll)
    assert held["irv"]["winner"] == b and held["total_votes"] == 3
    assert poll_recount(poll_id=poll.id) == []


def test_a_text_polls_quarantined_answers_leave_the_words_and_the_screen_but_not_the_export(
    user, owner_api, api, settings, tmp_path, django_capture_on_commit_callbacks
):
    from tests.polls.test_kinds_api import csv_rows

    poll = make_poll(owner=user, choices=[], kind="text", max_ballots_per_address=0)
    people(poll, 2, 0, text="lovely demo")
    client = APIClient(REMOTE_ADDR=STUFFER, HTTP_USER_AGENT=IPHONE)
    for _ in range(60):
        fresh = voter_id_issue()
        body = {"text": "spam spam"}
        assert cast(client, poll.id, body, voter=None, x_voter_id=fresh).status_code == 201
    assert results(api, poll)["words"][0] == {"word": "spam", "count": 60}
    post(owner_api, poll, "quarantine", {"all_flagged": True})
    held = results(api, poll)
    assert [w["word"] for w in held["words"]] == ["demo", "lovely"]
    assert [a["text"] for a in held["answers"]] == ["lovely demo"] * 2
    assert held["shown"] == 2 and held["quarantined"] == 60
    # The owner hides a quarantined answer: its state moves, no count does.
    spam = Answer.objects.filter(text="spam spam").first()
    hidden = owner_api.post(f"/api/polls/{poll.id}/answers/{spam.id}/hide/")
    assert hidden.status_code == 200 and results(api, poll)["shown"] == 2
    assert poll_recount(poll_id=poll.id) == []
    rows = csv_rows(owner_api, poll, settings, tmp_path, django_capture_on_commit_callbacks)
    answers = rows[rows.index(["voter", "answer", "state", "answered_at", "quarantined"]) + 1 :]
    assert (
        sorted((a[1], a[4]) for a in answers)
        == [("lovely demo", "")] * 2 + [("spam spam", "yes")] * 59
    )


def test_the_export_marks_quarantined_ballots(
    stuffed, owner_api, settings, tmp_path, django_capture_on_commit_callbacks
):
    from tests.polls.test_kinds_api import csv_rows

    post(owner_api, stuffed, "quarantine", {"all_flagged": True})
    rows = csv_rows(owner_api, stuffed, settings, tmp_path, django_capture_on_commit_callbacks)
    assert rows[1][4:] == ["20", "100"]
    ballots = rows[rows.index(["voter", "choices", "voted_at", "quarantined"]) + 1 :]
    assert sorted((b[1], b[3]) for b in ballots) == [("Green", "")] * 20 + [("Red", "yes")] * 100


def test_recount_shows_the_tally_without_and_with_the_quarantined_ballots(stuffed, owner_api):
    post(owner_api, stuffed, "quarantine", {"all_flagged": True})
    Poll.objects.filter(pk=stuffed.pk).update(total_votes=999)  # drift, to be fixed
    out = io.StringIO()
    call_command("recount", stuffed.id, stdout=out)
    assert out.getvalue().splitlines() == [
        f"{stuffed.id}: total_votes was 999, counted 20",
        f"{stuffed.id}: 100 quarantined ballot(s); without them total 20 (Red 0, Green 20,"
        " Blue 0); with them total 120 (Red 100, Green 20, Blue 0)",
        "Recounted 1 poll(s); fixed 1 drifted counter(s).",
    ]


def test_graphql_quarantines_and_releases(stuffed, owner_api, other_api):
    def run(client, query, **variables):
        body = {"query": query, "variables": {"p": stuffed.id, **variables}}
        return client.post("/graphql/", body, format="json").json()

    signal = burst_of(report(owner_api, stuffed))
    held = run(
        owner_api,
        """mutation($p: ID!, $s: String) { quarantine(pollId: $p, signal: $s) {
            quarantined totalVotes version action { action signal ballots by } } }""",
        s=signal,
    )["data"]["quarantine"]
    assert (held["quarantined"], held["totalVotes"], held["action"]["ballots"]) == (100, 20, 100)
    read = run(
        owner_api,
        """query($p: ID!) { integrity(pollId: $p) { quarantined signals { id quarantined }
            arrivals { seconds ballots quarantined } actions { action ballots } }
            results(pollId: $p) { totalVotes quarantined } }""",
    )["data"]
    assert read["integrity"]["quarantined"] == 100 and read["results"]["quarantined"] == 100
    assert sum(read["integrity"]["arrivals"]["quarantined"]) == 100
    unknown = run(
        owner_api, 'mutation($p: ID!) { release(pollId: $p, signal: "nope") { version } }'
    )
    assert unknown["errors"][0]["extensions"]["code"] == "invalid"
    both = run(owner_api, "mutation($p: ID!) { release(pollId: $p) { version } }")
    assert both["errors"][0]["extensions"]["code"] == "invalid"
    refused = run(other_api, "mutation($p: ID!) { release(pollId: $p, all: true) { version } }")
    assert refused["errors"][0]["extensions"]["code"] == "forbidden"
    out = run(owner_api, "mutation($p: ID!) { release(pollId: $p, all: true) { totalVotes } }")
    assert out["data"]["release"]["totalVotes"] == 120


def test_the_workers_detector_keeps_the_owners_badge_counts_on_the_poll(
    stuffed, owner_api, other_api, api
):
    version = results(api, stuffed)["version"]
    assert integrity_sweep() == 1
    assert results(api, stuffed)["version"] == version  # a scan moves no tally
    assert integrity_sweep() == 0  # nothing moved since
    url = f"/api/polls/{stuffed.id}/"
    assert owner_api.get(url).json()["integrity"] == {"flagged": 100, "quarantined": 0}
    assert api.get(url).json()["integrity"] is None
    assert other_api.get(url).json()["integrity"] is None
    listed = owner_api.get("/api/polls/?mine=true").json()["results"]
    assert [p["integrity"]["flagged"] for p in listed] == [100]
    post(owner_api, stuffed, "quarantine", {"all_flagged": True})
    assert owner_api.get(url).json()["integrity"] == {"flagged": 100, "quarantined": 100}
    # Moved, but scanned under NEXUS_DETECT_SCAN_SECONDS ago: the next sweep after that.
    assert integrity_sweep() == 0
    assert integrity_sweep(now=timezone.now() + timedelta(seconds=31)) == 1
    assert "polls.tasks.integrity_sweep" in {
        job["task"] for job in settings.CELERY_BEAT_SCHEDULE.values()
    }


def test_a_reset_leaves_nothing_quarantined_but_keeps_the_record(stuffed, owner_api, api):
    post(owner_api, stuffed, "quarantine", {"all_flagged": True})
    integrity_sweep()
    assert owner_api.post(f"/api/polls/{stuffed.id}/reset/").status_code == 200
    after = results(api, stuffed)
    assert after["total_votes"] == 0 and "quarantined" not in after
    poll = Poll.objects.get(pk=stuffed.pk)
    assert (poll.quarantined, poll.flagged) == (0, 0)
    assert poll_recount(poll_id=stuffed.id) == []
    assert [a["action"] for a in report(owner_api, stuffed)["actions"]] == ["quarantine"]
