"""Rating and ranking polls over GraphQL: created, voted and counted as REST does."""

import pytest

from polls.models import Ballot
from tests.graphql.test_http import codes, gql
from tests.helpers import voter_id

pytestmark = pytest.mark.django_db

CREATE = """mutation($input: CreatePollInput!) { createPoll(input: $input) {
  id kind scale { min max } choices { id } } }"""

RATE = """mutation($poll: ID!, $ratings: [RatingInput!], $voter: String) {
  vote(pollId: $poll, ratings: $ratings, voterId: $voter) {
    choices ratings { choice score } ranking } }"""

RANK = """mutation($poll: ID!, $ranking: [ID!], $choices: [ID!], $voter: String) {
  vote(pollId: $poll, ranking: $ranking, choices: $choices, voterId: $voter) {
    choices ranking } }"""

RESULTS = """query($id: ID!) { results(pollId: $id) { totalVotes
  choices { id votes count mean distribution borda first }
  irv { winner rounds { eliminated counts { choice votes } } } } }"""


def test_a_rating_poll_over_graphql(owner_api, api):
    made = gql(
        owner_api,
        CREATE,
        input={
            "question": "Rate the talk",
            "kind": "rating",
            "choices": ["Content", "Delivery"],
            "scale": {"min": 0, "max": 3},
        },
    )["data"]["createPoll"]
    assert (made["kind"], made["scale"]) == ("rating", {"min": 0, "max": 3})
    content, delivery = (c["id"] for c in made["choices"])
    ratings = [{"choice": content, "score": 3}, {"choice": delivery, "score": 0}]
    ballot = gql(api, RATE, poll=made["id"], ratings=ratings, voter=voter_id("g1"))
    assert ballot["data"]["vote"] == {
        "choices": [content, delivery],
        "ratings": ratings,
        "ranking": None,
    }
    shown = gql(api, RESULTS, id=made["id"])["data"]["results"]
    assert shown["totalVotes"] == 1 and shown["irv"] is None
    assert shown["choices"][0] | {"id": "x"} == {
        "id": "x",
        "votes": 1,
        "count": 1,
        "mean": 3.0,
        "distribution": [0, 0, 0, 1],
        "borda": None,
        "first": None,
    }
    off = gql(
        api, RATE, poll=made["id"], ratings=[{"choice": content, "score": 4}], voter=voter_id("g2")
    )
    assert codes(off) == ["invalid_choice"]
    assert Ballot.objects.count() == 1


def test_a_ranking_poll_over_graphql(owner_api, api):
    made = gql(
        owner_api,
        CREATE,
        input={"question": "Lunch?", "kind": "ranking", "choices": ["Pizza", "Sushi", "Tacos"]},
    )["data"]["createPoll"]
    pizza, sushi, tacos = (c["id"] for c in made["choices"])
    ballot = gql(api, RANK, poll=made["id"], ranking=[tacos, pizza], voter=voter_id("g1"))
    assert ballot["data"]["vote"] == {
        "choices": sorted([pizza, tacos], key=int),
        "ranking": [tacos, pizza],
    }
    shown = gql(api, RESULTS, id=made["id"])["data"]["results"]
    assert [(c["borda"], c["first"]) for c in shown["choices"]] == [(1, 0), (0, 0), (2, 1)]
    assert shown["irv"] == {
        "winner": tacos,
        "rounds": [
            {
                "eliminated": None,
                "counts": [
                    {"choice": pizza, "votes": 0},
                    {"choice": sushi, "votes": 0},
                    {"choice": tacos, "votes": 1},
                ],
            }
        ],
    }
    repeat = gql(api, RANK, poll=made["id"], ranking=[pizza, pizza], voter=voter_id("g2"))
    assert codes(repeat) == ["invalid_choice"]
    wrong_shape = gql(api, RANK, poll=made["id"], choices=[pizza], voter=voter_id("g3"))
    assert codes(wrong_shape) == ["invalid"]
    both = gql(api, RANK, poll=made["id"], choices=[pizza], ranking=[pizza], voter=voter_id("g4"))
    assert codes(both) == ["invalid"]
    not_ids = gql(api, RANK, poll=made["id"], ranking=["pizza"], voter=voter_id("g5"))
    assert codes(not_ids) == ["invalid"]
    assert Ballot.objects.count() == 1


@pytest.mark.parametrize("bad", [" 1", "+1", "١", "1.0", "0x1", ""])
def test_graphql_choice_ids_are_plain_digits(owner_api, api, bad):
    made = gql(
        owner_api, CREATE, input={"question": "Lunch?", "kind": "ranking", "choices": ["A", "B"]}
    )["data"]["createPoll"]
    ranked = gql(api, RANK, poll=made["id"], ranking=[bad], voter=voter_id("g1"))
    rated = gql(api, RANK, poll=made["id"], choices=[bad], voter=voter_id("g2"))
    assert codes(ranked) == ["invalid"] and codes(rated) == ["invalid"]
    assert Ballot.objects.count() == 0
