"""Results history (contract v2): the vote pipeline keeps a ResultSnapshot
per poll per second; `GET /api/polls/{id}/results/history/` reads it back
interval by interval."""

import types
from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from polls import selectors
from polls.models import Poll, ResultSnapshot
from polls.services import batch_sql, integrity, poll_recount
from tests.factories import make_poll
from tests.helpers import cast, choice_ids, vote

from .test_quarantine import burst_of, cast_from_one_address, people, report

pytestmark = pytest.mark.django_db

START = 1_795_000_000  # 2026-11-18 09:46:40 UTC: not a round minute, on purpose


@pytest.fixture
def clock(monkeypatch):
    """The pipeline's clock, moved by hand: `clock.now` is Unix seconds."""
    fake = types.SimpleNamespace(now=float(START))
    monkeypatch.setattr(batch_sql, "time", types.SimpleNamespace(time=lambda: fake.now))
    return fake


def history(client, poll, **params):
    return client.get(f"/api/polls/{poll.id}/results/history/", params)


def at(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).isoformat().replace("+00:00", "Z")


def tally(point: dict) -> dict:
    return {c["id"]: c["votes"] for c in point["choices"]}


def test_a_thousand_vote_history_replays_to_the_exact_final_tally(api, owner_api, user, clock):
    """1,000 voters over 143 seconds, in bursts, with changed and withdrawn
    votes: every second's point is the tally then, and the last one is the
    final results, exactly."""
    poll = make_poll(owner=user, allow_vote_change=True)
    ids = choice_ids(poll)
    expected: dict[int, int] = {}
    for n in range(1000):
        clock.now = START + n // 7 + 0.5
        choice = ids[(n * n + n // 3) % 3]
        phone = APIClient(REMOTE_ADDR=f"203.0.{n // 250}.{n % 250 + 1}")
        assert vote(phone, poll.id, [choice], voter=f"v{n}").status_code == 201
        if n % 50 == 49:  # someone changes their mind, someone leaves
            assert vote(phone, poll.id, [ids[0]], voter=f"v{n - 1}").status_code == 200
            assert (
                phone.delete(
                    f"/api/polls/{poll.id}/votes/mine/", HTTP_X_VOTER_ID=_id(f"v{n - 2}")
                ).status_code
                == 204
            )
        expected[int(clock.now)] = _results_tally(api, poll)
    assert owner_api.post(f"/api/polls/{poll.id}/close/").status_code == 200
    final = api.get(f"/api/polls/{poll.id}/results/").json()

    points = history(api, poll).json()["points"]
    assert len(points) == 143
    assert [p["at"] for p in points] == [at(START + s + 1) for s in range(143)]
    assert [tally(p) for p in points] == [expected[START + s] for s in range(143)]
    versions = [p["version"] for p in points]
    assert versions == sorted(set(versions))  # strictly rising
    last = points[-1]
    assert last["total_votes"] == final["total_votes"] == 1000 - 20
    assert last["version"] == final["version"] - 1  # the close is one more version, not a tally
    assert tally(last) == {c["id"]: c["votes"] for c in final["choices"]}

    for every, count in (("10s", 15), ("1m", 4)):  # 09:46:40 to 09:49:02
        coarse = history(api, poll, every=every).json()["points"]
        assert len(coarse) == count
        assert coarse[-1] == last | {"at": coarse[-1]["at"]}
    # Coarse intervals end where fine ones do: a 10-second point is the tally
    # of the last second before it.
    ten = history(api, poll, every="10s").json()["points"]
    first_end = (START // 10 + 1) * 10
    assert ten[0]["at"] == at(first_end)
    assert tally(ten[0]) == expected[first_end - 1]


def _id(name: str) -> str:
    from tests.helpers import voter_id

    return voter_id(name)


def _results_tally(client, poll) -> dict:
    body = client.get(f"/api/polls/{poll.id}/results/").json()
    return {c["id"]: c["votes"] for c in body["choices"]}


def test_a_second_is_one_row_whatever_its_ballots(api, poll, clock):
    red, green, _ = choice_ids(poll)
    for n in range(30):
        vote(api, poll.id, [red if n % 3 else green], voter=f"v{n}")
    rows = list(ResultSnapshot.objects.filter(poll=poll).values_list("second", "total_votes"))
    assert rows == [(START, 30)]
    version = Poll.objects.get(pk=poll.pk).version
    (point,) = history(api, poll).json()["points"]
    assert point["version"] == version and tally(point)[red] == 20


def test_a_long_history_is_read_in_pages_that_join_up(api, poll, clock, monkeypatch):
    monkeypatch.setattr(selectors, "HISTORY_CELLS", 12)  # three choices: 4 points a page
    red = choice_ids(poll)[0]
    for n in range(10):
        clock.now = START + 3 * n
        vote(api, poll.id, [red], voter=f"v{n}")
    whole = []
    url = f"/api/polls/{poll.id}/results/history/?every=1s"
    pages = 0
    while url:
        body = api.get(url).json()
        whole += body["points"]
        url = body["next"]
        pages += 1
    assert pages == 3
    assert [p["total_votes"] for p in whole] == list(range(1, 11))
    assert [p["at"] for p in whole] == [at(START + 3 * n + 1) for n in range(10)]


def test_a_reset_starts_the_history_again(api, owner_api, poll, clock):
    red = choice_ids(poll)[0]
    vote(api, poll.id, [red], voter="a")
    assert owner_api.post(f"/api/polls/{poll.id}/reset/").status_code == 200
    assert history(api, poll).json()["points"] == []
    clock.now += 5
    vote(api, poll.id, [red], voter="b")
    (point,) = history(api, poll).json()["points"]
    assert point["total_votes"] == 1 and point["at"] == at(START + 6)


def test_a_quarantine_and_a_recount_show_in_the_history(owner_api, user, clock, monkeypatch):
    """The owner holding 100 stuffed ballots out of the count moves the tally:
    the history shows the drop at its second, like any other change."""
    poll = make_poll(owner=user, max_ballots_per_address=0)
    red, green, _ = choice_ids(poll)
    people(poll, 20, green)
    cast_from_one_address(poll, 100)
    integrity.integrity_scan(poll_id=poll.id)
    clock.now += 60
    body = {"signal": burst_of(report(owner_api, poll))}
    assert (
        owner_api.post(
            f"/api/polls/{poll.id}/integrity/quarantine/", body, format="json"
        ).status_code
        == 200
    )
    points = history(owner_api, poll).json()["points"]
    assert [p["total_votes"] for p in points] == [120, 20]
    assert tally(points[-1]) == {red: 0, green: 20, choice_ids(poll)[2]: 0}

    clock.now += 60  # drift found by a recount is a change too
    Poll.objects.filter(pk=poll.pk).update(total_votes=7)
    poll_recount(poll_id=poll.id)
    points = history(owner_api, poll).json()["points"]
    assert [p["total_votes"] for p in points] == [120, 20, 20]
    assert points[-1]["version"] == Poll.objects.get(pk=poll.pk).version


def test_history_is_hidden_where_results_are(api, other_api, owner_api, user, clock):
    hidden = make_poll(owner=user, results_visibility="after_close")
    vote(api, hidden.id, [choice_ids(hidden)[0]], voter="a")
    denied = history(api, hidden)
    assert denied.status_code == 403 and denied.json()["code"] == "results_hidden"
    assert history(other_api, hidden).status_code == 403
    assert history(owner_api, hidden).json()["points"][0]["total_votes"] == 1
    draft = make_poll(owner=user, status="draft")
    assert history(api, draft).json()["code"] == "not_found"
    empty = {"poll": draft.id, "every": 1, "points": [], "next": None}
    assert history(owner_api, draft).json() == empty
    assert api.get("/api/polls/ZZZZZZ/results/history/").status_code == 404


def test_after_vote_history_opens_to_a_voter(api, user, clock):
    poll = make_poll(owner=user, results_visibility="after_vote")
    red = choice_ids(poll)[0]
    voter = APIClient()
    assert history(voter, poll, HTTP_X_VOTER_ID=_id("x")).status_code == 403
    vote(voter, poll.id, [red], voter="x")
    seen = voter.get(f"/api/polls/{poll.id}/results/history/", HTTP_X_VOTER_ID=_id("x"))
    assert seen.status_code == 200 and seen.json()["points"][0]["total_votes"] == 1
    assert seen.json()["every"] == 60  # not live: told by the minute (see below)


def test_a_poll_not_live_is_told_by_the_minute_to_all_but_its_owner(api, owner_api, user, clock):
    """In a small room a second is often one ballot: after the close, its
    moment would say who chose what. The owner still sees every second."""
    poll = make_poll(owner=user, results_visibility="after_close")
    red, green, _ = choice_ids(poll)
    for n, choice in enumerate([red, green, green]):
        clock.now = START + 20 * n  # 09:46:40, 09:47:00, 09:47:20
        vote(APIClient(REMOTE_ADDR=f"203.0.113.{n + 1}"), poll.id, [choice], voter=f"v{n}")
    assert owner_api.post(f"/api/polls/{poll.id}/close/").status_code == 200
    public = history(api, poll, every="1s").json()
    assert public["every"] == 60
    assert [(p["at"], p["total_votes"]) for p in public["points"]] == [
        (at(START - 40 + 60), 1),
        (at(START - 40 + 120), 3),
    ]
    assert history(owner_api, poll, every="1s").json()["every"] == 1
    assert len(history(owner_api, poll, every="1s").json()["points"]) == 3
    live = make_poll(owner=user)
    assert history(api, live, every="1s").json()["every"] == 1


def test_a_page_stops_at_its_row_budget_on_an_interval_s_edge(api, poll, clock, monkeypatch):
    """Pages end after HISTORY_ROWS rows, never inside an interval: read
    page by page, the points are the ones read in one go."""
    red = choice_ids(poll)[0]
    for n in range(47):
        clock.now = START + n
        vote(APIClient(REMOTE_ADDR=f"203.0.113.{n + 1}"), poll.id, [red], voter=f"v{n}")
    whole = history(api, poll, every="10s").json()
    assert whole["next"] is None and len(whole["points"]) == 5
    monkeypatch.setattr(selectors, "HISTORY_ROWS", 7)
    pages, url = [], f"/api/polls/{poll.id}/results/history/?every=10s"
    while url:
        body = api.get(url).json()
        pages.append(body["points"])
        url = body["next"]
    assert len(pages) == 5  # 7 rows, then to the next ten seconds' edge
    assert [p for page in pages for p in page] == whole["points"]


def test_history_reads_are_rate_limited_per_address(api, poll, monkeypatch):
    from polls.throttles import HistoryThrottle

    monkeypatch.setattr(HistoryThrottle, "rate", "3/min", raising=False)
    assert [history(api, poll).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert history(api, poll).json()["code"] == "throttled"


def test_new_choices_start_a_new_history(api, owner_api, user, clock):
    """Every ballot withdrawn, the owner rewrites the choices: the old
    points named choices that are gone."""
    poll = make_poll(owner=user, allow_vote_change=True)
    vote(api, poll.id, [choice_ids(poll)[0]], voter="a")
    clock.now += 1
    assert (
        api.delete(f"/api/polls/{poll.id}/votes/mine/", HTTP_X_VOTER_ID=_id("a")).status_code == 204
    )
    assert len(history(api, poll).json()["points"]) == 2
    answer = owner_api.patch(
        f"/api/polls/{poll.id}/", {"choices": ["Tea", "Coffee"]}, format="json"
    )
    assert answer.status_code == 200
    assert history(api, poll).json()["points"] == []


@pytest.mark.parametrize(
    "params, field",
    [
        ({"every": "5s"}, "every"),
        ({"every": "1S"}, "every"),
        ({"every": "1s\x00"}, "every"),
        ({"every": "x" * 10_000}, "every"),
        ({"after": "-1"}, "after"),
        ({"after": "1e9"}, "after"),
        ({"after": "１２"}, "after"),  # full-width digits: isdigit() says yes
        ({"after": "9" * 40}, "after"),
        ({"after": "12\x00"}, "after"),
        ({"after": ""}, "after"),
    ],
)
def test_bad_history_parameters_are_refused(api, poll, params, field):
    response = history(api, poll, **params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    nul = "\x00" in "".join(params.values())  # refused before the view, with no fields
    assert nul or field in body["fields"]


def test_a_text_poll_has_totals_and_no_choices(api, user, clock):
    poll = make_poll(owner=user, kind="text", choices=())
    assert cast(api, poll.id, {"text": "hello world"}, voter="a").status_code == 201
    (point,) = history(api, poll).json()["points"]
    assert point["total_votes"] == 1 and point["choices"] == []


def test_a_rating_poll_counts_each_rated_item(api, user, clock):
    poll = make_poll(owner=user, kind="rating", scale_min=1, scale_max=5)
    a, b, _ = choice_ids(poll)
    cast(api, poll.id, {"ratings": {str(a): 5, str(b): 1}}, voter="a")
    cast(api, poll.id, {"ratings": {str(a): 2}}, voter="b")
    (point,) = history(api, poll).json()["points"]
    assert tally(point)[a] == 2 and tally(point)[b] == 1 and point["total_votes"] == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("postgres")
def test_racing_voters_leave_a_history_that_ends_on_the_results(user):
    """Twelve voters at once on real Postgres, then twelve more: the
    pipeline's batches take turns under the poll's lock, and the newest
    point is the results, whichever batch wrote it."""
    from .test_concurrency import run_together

    poll = make_poll(owner=user)
    ids = choice_ids(poll)

    def one(i):
        phone = APIClient(REMOTE_ADDR=f"198.18.0.{i + 1}")
        return vote(phone, poll.id, [ids[i % 3]], voter=f"racer-{i}").status_code

    assert run_together(12, one) == [201] * 12
    assert run_together(12, lambda i: one(i + 12)) == [201] * 12
    results = APIClient().get(f"/api/polls/{poll.id}/results/").json()
    points = history(APIClient(), poll).json()["points"]
    assert points[-1]["version"] == results["version"]
    assert points[-1]["total_votes"] == 24
    assert tally(points[-1]) == {c["id"]: c["votes"] for c in results["choices"]}
    versions = [p["version"] for p in points]
    assert versions == sorted(versions)
