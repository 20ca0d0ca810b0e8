"""Stuffing detection: the signals a ballot keeps, the clusters they make,
and the owner's integrity report (polls/integrity.py)."""

import random
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from polls.integrity import Row, clusters
from polls.models import Ballot
from polls.services.integrity import signals_purge
from polls.voters import voter_id_issue
from tests.factories import make_poll
from tests.helpers import choice_ids, vote

pytestmark = pytest.mark.django_db

T0 = 1_795_000_000.0
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def kinds(found) -> list[tuple[str, int]]:
    return [(c.kind, len(c.ballots)) for c in found]


def room(n: int, *, seconds: float, net="nat", agents=("a", "b", "c"), seed=7) -> list[Row]:
    """`n` people behind one network, each with a new voter id, tapping when
    they are ready (random gaps) over about `seconds`."""
    rng = random.Random(seed)
    at, rows = T0, []
    for i in range(n):
        at += rng.expovariate(n / seconds)
        rows.append(Row(i, at, net, rng.choice(agents), voter_age=int(rng.uniform(5, 120))))
    return rows


# --- the rules ----------------------------------------------------------------------------


def test_a_script_with_a_hundred_new_ids_from_one_network_is_a_prefix_burst():
    script = [Row(i, T0 + i * 0.05, "attacker", "curl", voter_age=0) for i in range(100)]
    found = clusters(script, expected_audience=None)
    assert ("prefix_burst", 100) in kinds(found)
    assert ("lockstep", 100) in kinds(found)  # and one client on a clock


def test_a_room_of_300_behind_one_nat_is_not_flagged_when_the_poll_expects_500():
    assert clusters(room(300, seconds=60), expected_audience=500) == []


def test_the_same_room_is_flagged_under_the_default_when_the_poll_does_not_say(settings):
    found = clusters(room(300, seconds=60), expected_audience=None)
    assert kinds(found) == [("prefix_burst", 300)]
    assert "ids issued within 60 s of each other, more than 50" in found[0].detail


def test_returning_voters_whose_ids_were_issued_over_weeks_are_not_a_burst():
    rng = random.Random(5)
    rows = [
        Row(i, T0 + i * 0.5, "office", f"x{i}", voter_age=int(rng.uniform(3600, 30 * 86400)))
        for i in range(100)
    ]
    assert clusters(rows, expected_audience=None) == []


def test_ids_harvested_in_a_burst_and_spent_slowly_later_are_a_prefix_burst():
    """100 ids minted within 30 s, then cast an hour later at human-looking,
    random gaps over 50 minutes: no new ids, no rate burst, no lockstep."""
    rng, at, rows = random.Random(9), T0 + 3600, []
    minted = [T0 + rng.uniform(0, 30) for _ in range(100)]
    for i, issued in enumerate(minted):
        at += rng.uniform(5, 55)
        rows.append(Row(i, at, "attacker", f"agent {i % 9}", voter_age=int(at - issued)))
    assert kinds(clusters(rows, expected_audience=None)) == [("prefix_burst", 100)]


def test_expected_audience_raises_the_bar_for_the_venues_network_only():
    hall = room(300, seconds=60)
    script = [Row(1000 + i, T0 + 5 + i * 0.3, "attacker", f"a{i}", 0) for i in range(60)]
    found = clusters(hall + script, expected_audience=500)
    assert [(c.kind, c.id.split(":")[1], len(c.ballots)) for c in found] == [
        ("prefix_burst", "attacker", 60)
    ]


def test_a_lectures_first_wave_is_not_a_rate_burst_when_the_poll_expects_it():
    """300 phones in the first 20 s, then a straggler every half minute."""
    rng = random.Random(2)
    wave = [Row(i, T0 + rng.uniform(0, 20), f"n{i}", f"u{i}", 3600 * 24) for i in range(300)]
    late = [Row(400 + i, T0 + 30 + 30 * i, f"m{i}", f"v{i}", 3600 * 24) for i in range(40)]
    assert clusters(wave + late, expected_audience=400) == []
    assert {c.kind for c in clusters(wave + late, expected_audience=None)} == {"rate_burst"}


def test_a_burst_far_above_the_polls_own_rate_is_a_rate_burst():
    rng = random.Random(1)
    steady = [Row(i, T0 + i * 10 + rng.random(), f"n{i}", f"u{i}", 30) for i in range(60)]
    burst = [
        Row(1000 + i, T0 + 300 + rng.uniform(0, 9.9), f"m{i}", f"v{i % 7}", 30) for i in range(200)
    ]
    found = clusters(steady + burst, expected_audience=None)
    assert [(c.kind, c.ballots >= {r.id for r in burst}) for c in found] == [("rate_burst", True)]


def test_one_user_agent_at_clockwork_gaps_is_lockstep_and_people_are_not():
    clock = [Row(i, T0 + i * 2.0, f"n{i}", "bot", voter_age=900) for i in range(25)]
    assert kinds(clusters(clock, expected_audience=None)) == [("lockstep", 25)]
    people = room(25, seconds=50, net="", agents=("bot",))
    assert clusters(people, expected_audience=None) == []


# --- signals on ballots --------------------------------------------------------------------


def test_a_ballot_keeps_hashed_signals_unlinkable_across_polls(user):
    first, second = make_poll(owner=user), make_poll(owner=user)
    client = APIClient(REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT=IPHONE)
    fresh = voter_id_issue()
    for poll in (first, second):
        assert (
            vote(client, poll.id, choice_ids(poll)[:1], voter=None, x_voter_id=fresh).status_code
            == 201
        )
    a, b = (Ballot.objects.get(poll=p) for p in (first, second))
    assert len(a.net) == len(a.agent) == 16 and "203.0.113" not in a.net
    assert (a.net, a.agent) != (b.net, b.agent)
    assert 0 <= a.voter_age < 60


def test_a_missing_user_agent_is_an_agent_and_one_ipv6_site_is_one_network(user):
    poll = make_poll(owner=user, max_ballots_per_address=0)
    red = choice_ids(poll)[:1]
    for n, address in enumerate(("2001:db8:7:1::5", "2001:db8:7:ffff::9", "2001:db8:8::1")):
        bare = APIClient(REMOTE_ADDR=address)
        assert vote(bare, poll.id, red, voter=f"v6-{n}").status_code == 201
    first, second, elsewhere = Ballot.objects.filter(poll=poll).order_by("id")
    assert first.agent != "" and first.agent == second.agent
    assert first.net == second.net != elsewhere.net  # two /64s of one /48; another /48


def test_an_accounts_age_is_its_age_since_sign_up(user):
    from tests.conftest import client_for
    from tests.factories import UserFactory

    poll = make_poll(owner=user)
    voter = UserFactory()
    voter.date_joined = timezone.now() - timedelta(days=3)
    voter.save()
    assert vote(client_for(voter), poll.id, choice_ids(poll)[:1], voter=None).status_code == 201
    assert abs(Ballot.objects.get(poll=poll).voter_age - 3 * 86400) < 60


def test_signals_are_blanked_after_their_retention(user, settings):
    poll = make_poll(owner=user)
    vote(APIClient(HTTP_USER_AGENT=IPHONE), poll.id, choice_ids(poll)[:1])
    vote(APIClient(HTTP_USER_AGENT=IPHONE), poll.id, choice_ids(poll)[:1], voter="recent")
    old = Ballot.objects.order_by("id").first()
    Ballot.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    assert signals_purge() == 1
    old.refresh_from_db()
    assert (old.net, old.agent, old.voter_age) == ("", "", None)
    assert Ballot.objects.exclude(pk=old.pk).get().net != ""


# --- the owner's report --------------------------------------------------------------------


def cast_from_one_address(poll, count: int, *, agent=IPHONE) -> None:
    client = APIClient(REMOTE_ADDR="198.51.100.77", HTTP_USER_AGENT=agent)
    red = choice_ids(poll)[:1]
    for _ in range(count):
        response = vote(client, poll.id, red, voter=None, x_voter_id=voter_id_issue())
        assert response.status_code == 201


def test_a_scripted_stuffer_is_flagged_in_the_owners_report(user, owner_api):
    poll = make_poll(owner=user, max_ballots_per_address=0)
    cast_from_one_address(poll, 100)
    report = owner_api.get(f"/api/polls/{poll.id}/integrity/").json()
    assert report["flagged"] == 100 and report["quarantined"] == 0
    burst = [s for s in report["signals"] if s["kind"] == "prefix_burst"]
    assert len(burst) == 1 and burst[0]["ballots"] == 100
    assert burst[0]["id"].startswith("prefix_burst:") and burst[0]["start"] <= burst[0]["end"]


def test_a_paced_audience_of_300_from_one_address_is_not_flagged(user, owner_api):
    poll = make_poll(owner=user, max_ballots_per_address=0, expected_audience=500)
    cast_from_one_address(poll, 300)
    # People tap when they are ready: spread the arrivals as a room's are.
    rng, at = random.Random(3), time.time() - 120
    for pk in Ballot.objects.filter(poll=poll).order_by("id").values_list("id", flat=True):
        at += rng.expovariate(300 / 90)
        Ballot.objects.filter(pk=pk).update(created_at=datetime.fromtimestamp(at, UTC))
    report = owner_api.get(f"/api/polls/{poll.id}/integrity/").json()
    assert (report["flagged"], report["quarantined"], report["signals"]) == (0, 0, [])
    assert sum(report["arrivals"]["ballots"]) == 300 and not any(report["arrivals"]["flagged"])


def test_only_the_owner_reads_the_report(poll, other_api, api, owner_api):
    url = f"/api/polls/{poll.id}/integrity/"
    assert other_api.get(url).status_code == 403
    assert api.get(url).status_code == 401
    assert owner_api.get("/api/polls/NOPE42/integrity/").status_code == 404
    assert owner_api.get(url).json() == {
        "flagged": 0,
        "quarantined": 0,
        "signals": [],
        "arrivals": {"start": None, "seconds": 1, "ballots": [], "flagged": [], "quarantined": []},
        "actions": [],
    }


@pytest.mark.parametrize("bad", [0, -1, "500", 10**7, 1.5])
def test_expected_audience_takes_a_positive_whole_number_or_null(owner_api, bad):
    body = {"question": "Q?", "choices": ["a", "b"]}
    refused = owner_api.post("/api/polls/", {**body, "expected_audience": bad}, format="json")
    assert refused.status_code == 400 and "expected_audience" in refused.json()["fields"]
    made = owner_api.post("/api/polls/", {**body, "expected_audience": None}, format="json")
    assert made.status_code == 201 and made.json()["expected_audience"] is None


def test_graphql_gives_the_owner_the_same_report(user, owner_api, other_api):
    poll = make_poll(owner=user, max_ballots_per_address=0)
    cast_from_one_address(poll, 60)
    query = """query($p: ID!) { integrity(pollId: $p) {
        flagged quarantined signals { id kind ballots start end } } }"""
    got = owner_api.post("/graphql/", {"query": query, "variables": {"p": poll.id}}, format="json")
    report = got.json()["data"]["integrity"]
    rest = owner_api.get(f"/api/polls/{poll.id}/integrity/").json()
    assert report["flagged"] == rest["flagged"] == 60
    assert [s["id"] for s in report["signals"]] == [s["id"] for s in rest["signals"]]
    refused = other_api.post(
        "/graphql/", {"query": query, "variables": {"p": poll.id}}, format="json"
    )
    assert refused.json()["errors"][0]["extensions"]["code"] == "forbidden"


def test_reports_are_rate_limited_per_account_over_rest_and_graphql(poll, owner_api, monkeypatch):
    from polls.throttles import IntegrityThrottle

    monkeypatch.setattr(IntegrityThrottle, "rate", "3/min", raising=False)
    url = f"/api/polls/{poll.id}/integrity/"
    assert [owner_api.get(url).status_code for _ in range(3)] == [200, 200, 200]
    assert owner_api.get(url).status_code == 429
    one = "integrity(pollId: $p) { flagged }"
    aliased = f"query($p: ID!) {{ a: {one} b: {one} }}"
    got = owner_api.post(
        "/graphql/", {"query": aliased, "variables": {"p": poll.id}}, format="json"
    )
    assert got.json()["errors"][0]["extensions"]["code"] == "throttled"
