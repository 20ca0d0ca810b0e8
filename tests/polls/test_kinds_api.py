"""Rating and ranking polls through the API: creating them, voting, results,
bad input (nothing counted), idempotency, recount and CSV (contract v2,
"Question kinds")."""

import csv
import io

import pytest
from django.core.management import call_command

from polls.models import Ballot, BallotChoice, Poll, TallyLine
from polls.selectors import live_state
from tests.factories import make_poll
from tests.helpers import cast, choice_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def rating(user):
    return make_poll(
        owner=user,
        question="How was the talk?",
        choices=["Content", "Delivery"],
        kind="rating",
        scale_min=1,
        scale_max=5,
        allow_vote_change=True,
        max_ballots_per_address=0,
    )


@pytest.fixture
def ranking(user):
    return make_poll(
        owner=user,
        question="Where do we eat?",
        choices=["Pizza", "Sushi", "Tacos"],
        kind="ranking",
        allow_vote_change=True,
        max_ballots_per_address=0,
    )


def results(api, poll) -> dict:
    response = api.get(f"/api/polls/{poll.id}/results/")
    assert response.status_code == 200
    return response.json()


# --- creating ----------------------------------------------------------------------


def test_a_rating_poll_takes_a_scale_and_defaults_to_one_to_five(owner_api):
    made = owner_api.post(
        "/api/polls/",
        {"question": "Rate it", "kind": "rating", "choices": ["Overall"]},
        format="json",
    )
    assert made.status_code == 201, made.json()
    assert (made.json()["kind"], made.json()["scale"]) == ("rating", {"min": 1, "max": 5})
    custom = owner_api.post(
        "/api/polls/",
        {
            "question": "Rate",
            "kind": "rating",
            "choices": ["A", "B"],
            "scale": {"min": 0, "max": 10},
        },
        format="json",
    )
    assert custom.json()["scale"] == {"min": 0, "max": 10}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "rating", "choices": ["A"], "scale": {"min": 2, "max": 5}}, "scale"),
        ({"kind": "rating", "choices": ["A"], "scale": {"min": 1, "max": 11}}, "scale"),
        ({"kind": "rating", "choices": ["A"], "scale": {"min": True, "max": 5}}, "scale"),
        ({"kind": "rating", "choices": ["A"], "scale": [1, 5]}, "scale"),
        ({"kind": "rating", "choices": ["A"], "max_choices": 1}, "max_choices"),
        ({"kind": "rating", "choices": [f"item {n}" for n in range(51)]}, "choices"),
        ({"kind": "rating", "choices": []}, "choices"),
        ({"kind": "single", "choices": ["A", "B"], "scale": {"min": 1, "max": 5}}, "scale"),
        ({"kind": "ranking", "choices": ["Only one"]}, "choices"),
        ({"kind": "ranking", "choices": ["A", "B"], "max_choices": 2}, "max_choices"),
        ({"kind": "borda", "choices": ["A", "B"]}, "kind"),
    ],
)
def test_a_kind_s_rules_are_checked_on_create(owner_api, body, field):
    response = owner_api.post("/api/polls/", {"question": "Q", **body}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and field in response.json()["fields"]
    assert not Poll.objects.exists()


def test_the_scale_is_frozen_once_votes_exist(owner_api, api, rating):
    content, _ = choice_ids(rating)
    assert cast(api, rating.id, {"ratings": {str(content): 4}}).status_code == 201
    response = owner_api.patch(
        f"/api/polls/{rating.id}/", {"scale": {"min": 0, "max": 10}}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "poll_has_votes")
    assert Poll.objects.values_list("scale_min", "scale_max").get() == (1, 5)


# --- rating --------------------------------------------------------------------------


def test_ratings_are_counted_with_mean_and_distribution(api, rating):
    content, delivery = choice_ids(rating)
    first = cast(api, rating.id, {"ratings": {str(content): 5, str(delivery): 3}}, voter="v1")
    assert first.status_code == 201
    body = first.json()
    assert (body["choices"], body["ratings"]) == (
        [content, delivery],
        {str(content): 5, str(delivery): 3},
    )
    cast(api, rating.id, {"ratings": {str(content): 2}}, voter="v2")
    shown = results(api, rating)
    assert shown["total_votes"] == 2
    assert shown["choices"] == [
        {
            "id": content,
            "text": "Content",
            "votes": 2,
            "share": 1.0,
            "count": 2,
            "mean": 3.5,
            "distribution": [0, 1, 0, 0, 1],
        },
        {
            "id": delivery,
            "text": "Delivery",
            "votes": 1,
            "share": 0.5,
            "count": 1,
            "mean": 3.0,
            "distribution": [0, 0, 1, 0, 0],
        },
    ]


def test_a_changed_rating_moves_its_counts_and_a_withdrawn_one_removes_them(api, rating):
    content, delivery = choice_ids(rating)
    cast(api, rating.id, {"ratings": {str(content): 5, str(delivery): 1}})
    version = results(api, rating)["version"]
    changed = cast(api, rating.id, {"ratings": {str(content): 4}})
    assert changed.status_code == 200 and changed.json()["ratings"] == {str(content): 4}
    after = results(api, rating)
    assert after["version"] == version + 1
    assert [(c["count"], c["distribution"]) for c in after["choices"]] == [
        (1, [0, 0, 0, 1, 0]),
        (0, [0, 0, 0, 0, 0]),
    ]
    mine = api.get(
        f"/api/polls/{rating.id}/votes/mine/", HTTP_X_VOTER_ID=changed.json()["voter_id"]
    )
    assert mine.json()["ratings"] == {str(content): 4}
    withdrawn = api.delete(
        f"/api/polls/{rating.id}/votes/mine/", HTTP_X_VOTER_ID=changed.json()["voter_id"]
    )
    assert withdrawn.status_code == 204
    gone = results(api, rating)
    assert gone["total_votes"] == 0 and [c["count"] for c in gone["choices"]] == [0, 0]
    assert not TallyLine.objects.filter(count__gt=0).exists()


def assert_nothing_counted(api, poll, version):
    shown = results(api, poll)
    assert (shown["total_votes"], shown["version"]) == (0, version)
    assert not Ballot.objects.exists() and not BallotChoice.objects.exists()
    assert not TallyLine.objects.filter(count__gt=0).exists()


@pytest.mark.parametrize(
    ("make_body", "code"),
    [
        (lambda c, d: {"ratings": {str(c): 6}}, "invalid_choice"),  # off the scale
        (lambda c, d: {"ratings": {str(c): 0}}, "invalid_choice"),
        (lambda c, d: {"ratings": {str(c): -32768}}, "invalid_choice"),
        (lambda c, d: {"ratings": {"999999": 3}}, "invalid_choice"),  # unknown item
        (lambda c, d: {"ratings": {}}, "invalid_choice"),
        (lambda c, d: {"ratings": {str(c): 3, "0" + str(c): 4}}, "invalid_choice"),  # repeat
        (lambda c, d: {"choices": [c]}, "invalid"),  # another kind's body
        (lambda c, d: {"ranking": [c, d]}, "invalid"),
        (lambda c, d: {"ratings": [c, 3]}, "invalid"),
        (lambda c, d: {"ratings": {str(c): True}}, "invalid"),
        (lambda c, d: {"ratings": {str(c): 4.5}}, "invalid"),
        (lambda c, d: {"ratings": {str(c): "4"}}, "invalid"),
        (lambda c, d: {"ratings": {str(c): 10**40}}, "invalid"),
        (lambda c, d: {"ratings": {"Content": 4}}, "invalid"),
        (lambda c, d: {"ratings": {f"{c}\u0000": 4}}, "invalid"),
        (lambda c, d: {"ratings": {str(c): {"nested": [4]}}}, "invalid"),
        (lambda c, d: {"ratings": {str(n): 1 for n in range(101)}}, "invalid"),
        (lambda c, d: {"ratings": {str(c): 4}, "choices": [c]}, "invalid"),
    ],
)
def test_a_bad_rating_is_refused_and_counts_nothing(api, rating, make_body, code):
    version = results(api, rating)["version"]
    response = cast(api, rating.id, make_body(*choice_ids(rating)))
    assert response.status_code == 400
    assert response.json()["code"] == code, response.json()
    assert_nothing_counted(api, rating, version)


def test_a_rating_of_another_poll_s_item_is_an_unknown_item(api, rating, user):
    other = make_poll(owner=user, kind="rating", choices=["Elsewhere"], scale_min=1, scale_max=5)
    version = results(api, rating)["version"]
    response = cast(api, rating.id, {"ratings": {str(choice_ids(other)[0]): 3}})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_choice")
    assert_nothing_counted(api, rating, version)


# --- ranking -------------------------------------------------------------------------


def test_rankings_give_borda_points_first_preferences_and_instant_runoff(api, ranking):
    pizza, sushi, tacos = choice_ids(ranking)
    ballots = [[pizza, sushi], [pizza], [sushi, tacos, pizza], [tacos, sushi]]
    for n, order in enumerate(ballots):
        answer = cast(api, ranking.id, {"ranking": order}, voter=f"v{n}")
        assert answer.status_code == 201 and answer.json()["ranking"] == order
    shown = results(api, ranking)
    assert shown["total_votes"] == 4
    by_id = {c["id"]: c for c in shown["choices"]}
    assert [
        (by_id[c]["borda"], by_id[c]["first"], by_id[c]["votes"]) for c in choice_ids(ranking)
    ] == [
        (4, 2, 3),  # pizza: 2 + 2 + 0
        (4, 1, 3),  # sushi: 1 + 2 + 1
        (3, 1, 2),  # tacos: 1 + 2
    ]
    # Round 1: pizza 2, sushi 1, tacos 1 of 4, no majority. Sushi and tacos
    # tie with no earlier round; sushi has more Borda points, so tacos goes
    # and its ballot moves to sushi. Round 2: pizza 2, sushi 2 of 4; sushi
    # had fewer in round 1, so sushi goes. Round 3: pizza has 3 of the 3
    # ballots still counted (tacos-then-sushi ranks nobody left).
    assert shown["irv"] == {
        "rounds": [
            {"counts": {str(pizza): 2, str(sushi): 1, str(tacos): 1}, "eliminated": tacos},
            {"counts": {str(pizza): 2, str(sushi): 2}, "eliminated": sushi},
            {"counts": {str(pizza): 3}, "eliminated": None},
        ],
        "winner": pizza,
    }


@pytest.mark.parametrize(
    ("make_body", "code"),
    [
        (lambda p, s, t: {"ranking": [p, s, p]}, "invalid_choice"),  # a repeat
        (lambda p, s, t: {"ranking": [p, 999999]}, "invalid_choice"),
        (lambda p, s, t: {"ranking": []}, "invalid_choice"),
        (lambda p, s, t: {"choices": [p]}, "invalid"),
        (lambda p, s, t: {"ratings": {str(p): 1}}, "invalid"),
        (lambda p, s, t: {"ranking": {str(p): 1}}, "invalid"),
        (lambda p, s, t: {"ranking": [str(p), "x"]}, "invalid"),
        (lambda p, s, t: {"ranking": [p, [s]]}, "invalid"),
        (lambda p, s, t: {"ranking": [p] * 101}, "invalid"),
        (lambda p, s, t: {"ranking": None}, "invalid"),
    ],
)
def test_a_bad_ranking_is_refused_and_counts_nothing(api, ranking, make_body, code):
    version = results(api, ranking)["version"]
    response = cast(api, ranking.id, make_body(*choice_ids(ranking)))
    assert response.status_code == 400
    assert response.json()["code"] == code, response.json()
    assert_nothing_counted(api, ranking, version)


def test_a_single_choice_poll_refuses_a_rating_or_ranking_body(api, poll):
    red = choice_ids(poll)[0]
    for body in ({"ratings": {str(red): 1}}, {"ranking": [red]}):
        response = cast(api, poll.id, body)
        assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert not Ballot.objects.exists()


def test_a_changed_ranking_moves_every_count(api, ranking):
    pizza, sushi, tacos = choice_ids(ranking)
    cast(api, ranking.id, {"ranking": [pizza, sushi, tacos]})
    cast(api, ranking.id, {"ranking": [tacos]})
    shown = results(api, ranking)
    assert [(c["borda"], c["first"]) for c in shown["choices"]] == [(0, 0), (0, 0), (2, 1)]
    assert shown["irv"]["rounds"] == [
        {"counts": {str(pizza): 0, str(sushi): 0, str(tacos): 1}, "eliminated": None}
    ]
    assert dict(TallyLine.objects.filter(count__gt=0).values_list("key", "count")) == {
        f"m:{tacos}:0": 1,
        f"r:{tacos}": 1,
    }


# --- the same everywhere -----------------------------------------------------------------


def test_the_live_state_carries_the_kind_s_results(api, ranking):
    pizza, sushi, _ = choice_ids(ranking)
    cast(api, ranking.id, {"ranking": [sushi, pizza]})
    message = live_state(poll_id=ranking.id).message
    rest = results(api, ranking)
    assert message["version"] == rest["version"] and message["irv"] == rest["irv"]
    assert message["choices"] == [
        {k: v for k, v in c.items() if k != "text"} for c in rest["choices"]
    ]
    assert message["choices"][1] == {"id": sushi, "votes": 1, "share": 1.0, "borda": 2, "first": 1}


def test_an_idempotent_rating_replays_and_a_different_one_is_a_mismatch(api, rating):
    content, delivery = choice_ids(rating)
    body = {"ratings": {str(content): 4, str(delivery): 2}}
    first = cast(api, rating.id, body, **{"Idempotency-Key": "k-1"})
    again = cast(api, rating.id, body, **{"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    other = cast(api, rating.id, {"ratings": {str(content): 1}}, **{"Idempotency-Key": "k-1"})
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_mismatch")
    assert results(api, rating)["total_votes"] == 1


def test_recount_rebuilds_drifted_rating_and_ranking_counts(api, rating, ranking, capsys):
    content, _ = choice_ids(rating)
    pizza, sushi, _ = choice_ids(ranking)
    cast(api, rating.id, {"ratings": {str(content): 4}})
    cast(api, ranking.id, {"ranking": [sushi, pizza]})
    TallyLine.objects.filter(poll=rating, key=f"m:{content}:4").update(count=9)
    TallyLine.objects.filter(poll=ranking, key=f"r:{sushi},{pizza}").delete()
    version = results(api, ranking)["version"]
    capsys.readouterr()
    call_command("recount", rating.id, ranking.id)
    assert capsys.readouterr().out.splitlines() == [
        f"{rating.id}: count m:{content}:4 was 9, counted 1",
        f"{ranking.id}: count r:{sushi},{pizza} was 0, counted 1",
        "Recounted 2 poll(s); fixed 2 drifted counter(s).",
    ]
    after = results(api, ranking)
    assert after["version"] == version + 1 and after["irv"]["winner"] == sushi
    assert results(api, rating)["choices"][0]["distribution"] == [0, 0, 0, 1, 0]


def test_a_reset_clears_the_kind_s_counts(owner_api, api, ranking):
    cast(api, ranking.id, {"ranking": choice_ids(ranking)})
    assert owner_api.post(f"/api/polls/{ranking.id}/reset/").status_code == 200
    shown = results(api, ranking)
    assert shown["irv"] == {"rounds": [], "winner": None}
    assert [c["borda"] for c in shown["choices"]] == [0, 0, 0]


def csv_rows(owner_api, poll, settings, tmp_path, capture) -> list[list[str]]:
    settings.MEDIA_ROOT = tmp_path
    with capture(execute=True):
        started = owner_api.post(f"/api/polls/{poll.id}/exports/").json()
    done = owner_api.get(started["url"]).json()
    response = owner_api.get(done["download"])
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_exports_a_rating_poll_s_scores(
    owner_api, api, rating, settings, tmp_path, django_capture_on_commit_callbacks
):
    content, delivery = choice_ids(rating)
    cast(api, rating.id, {"ratings": {str(content): 5, str(delivery): 2}})
    rows = csv_rows(owner_api, rating, settings, tmp_path, django_capture_on_commit_callbacks)
    assert rows[3:6] == [
        ["item", "ratings", "mean", "rated 1", "rated 2", "rated 3", "rated 4", "rated 5"],
        ["Content", "1", "5.0", "0", "0", "0", "0", "1"],
        ["Delivery", "1", "2.0", "0", "1", "0", "0", "0"],
    ]
    assert rows[-1][1] == "Content: 5; Delivery: 2"


def test_csv_exports_a_ranking_poll_s_points_and_rounds(
    owner_api, api, ranking, settings, tmp_path, django_capture_on_commit_callbacks
):
    pizza, sushi, tacos = choice_ids(ranking)
    cast(api, ranking.id, {"ranking": [tacos, pizza]})
    rows = csv_rows(owner_api, ranking, settings, tmp_path, django_capture_on_commit_callbacks)
    assert rows[3:7] == [
        ["candidate", "ranked", "borda", "first"],
        ["Pizza", "1", "1", "0"],
        ["Sushi", "0", "0", "0"],
        ["Tacos", "1", "2", "1"],
    ]
    assert rows[8:11] == [
        ["instant-runoff round", "Pizza", "Sushi", "Tacos", "eliminated"],
        ["1", "0", "0", "1", ""],
        ["winner", "Tacos"],
    ]
    assert rows[-1][1] == "1. Tacos; 2. Pizza"


@pytest.mark.parametrize("scale", [{"max": 7}, {"min": 0}, {}, {"min": None, "max": 5}], ids=str)
def test_a_patch_with_half_a_scale_is_refused_and_changes_nothing(owner_api, rating, scale):
    response = owner_api.patch(f"/api/polls/{rating.id}/", {"scale": scale}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "scale" in response.json()["fields"]
    assert Poll.objects.values_list("scale_min", "scale_max").get() == (1, 5)


def test_a_whole_scale_patches_before_votes(owner_api, rating):
    response = owner_api.patch(
        f"/api/polls/{rating.id}/", {"scale": {"min": 0, "max": 10}}, format="json"
    )
    assert response.status_code == 200 and response.json()["scale"] == {"min": 0, "max": 10}


def test_a_voter_trying_every_order_leaves_only_the_counts_that_are_not_zero(api, ranking):
    """One voter changing their ranking over and over must not grow the
    poll's counts by a row per order tried (every read would pay for them)."""
    import itertools

    ids = choice_ids(ranking)
    for order in itertools.permutations(ids):
        assert cast(api, ranking.id, {"ranking": list(order)}).status_code in (200, 201)
    last = list(order)
    lines = dict(TallyLine.objects.filter(poll=ranking).values_list("key", "count"))
    assert lines == {
        **{f"m:{c}:{place}": 1 for place, c in enumerate(last)},
        "r:" + ",".join(map(str, last)): 1,
    }


def test_hidden_results_are_refused_before_their_counts_are_read(
    api, user, django_assert_max_num_queries
):
    poll = make_poll(
        owner=user, kind="ranking", choices=["A", "B"], results_visibility="after_close"
    )
    cast(api, poll.id, {"ranking": choice_ids(poll)})
    with django_assert_max_num_queries(2):  # the choices with the poll; has this voter voted
        response = api.get(f"/api/polls/{poll.id}/results/")
    assert (response.status_code, response.json()["code"]) == (403, "results_hidden")


def test_the_admin_cannot_change_a_scale(admin_client, rating):
    from polls.admin import PollAdmin

    assert {"scale_min", "scale_max", "kind"} <= set(PollAdmin.readonly_fields)
    page = admin_client.get(f"/admin/polls/poll/{rating.id}/change/")
    assert page.status_code == 200 and b'name="scale_min"' not in page.content
    assert b'name="passcode"' not in page.content
