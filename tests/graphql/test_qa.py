"""Q&A polls and answer moderation over GraphQL: the same rules and codes as REST."""

import pytest

from polls import throttles
from polls.models import Question, Upvote
from tests.factories import make_poll
from tests.graphql.test_http import codes, gql
from tests.helpers import cast, voter_id

pytestmark = pytest.mark.django_db

ASK = """mutation($poll: ID!, $text: String!, $voter: String) {
  askQuestion(pollId: $poll, text: $text, voterId: $voter) { id text state upvotes pinned } }"""

UPVOTE = """mutation($poll: ID!, $q: ID!, $up: Boolean!, $voter: String) {
  upvoteQuestion(pollId: $poll, questionId: $q, up: $up, voterId: $voter) { id upvotes } }"""

MODERATE = """mutation($poll: ID!, $q: ID!, $action: String!) {
  moderateQuestion(pollId: $poll, questionId: $q, action: $action) { id state pinned } }"""

RESULTS = """query($id: ID!) { results(pollId: $id) { version shown pending
  questions { id text upvotes state pinned } } }"""

QUEUE = """query($id: ID!, $state: String) { questions(pollId: $id, state: $state) { id text } }"""

MINE = """query($id: ID!, $voter: String) { myQuestions(pollId: $id, voterId: $voter) {
  questions { text state } upvoted } }"""


def test_a_qa_poll_over_graphql(owner_api, other_api, api, user):
    poll = make_poll(owner=user, choices=[], kind="qa", moderation="pre")
    asked = gql(api, ASK, poll=poll.id, text="Why GraphQL?", voter=voter_id("a"))
    question = asked["data"]["askQuestion"]
    assert (question["text"], question["state"], question["upvotes"]) == (
        "Why GraphQL?",
        "pending",
        0,
    )
    mine = gql(api, MINE, id=poll.id, voter=voter_id("a"))["data"]["myQuestions"]
    assert mine == {"questions": [{"text": "Why GraphQL?", "state": "pending"}], "upvoted": []}
    assert codes(gql(api, QUEUE, id=poll.id)) == ["not_authenticated"]
    assert codes(gql(other_api, QUEUE, id=poll.id)) == ["forbidden"]
    queue = gql(owner_api, QUEUE, id=poll.id, state="pending")["data"]["questions"]
    assert [q["id"] for q in queue] == [question["id"]]
    early = gql(api, UPVOTE, poll=poll.id, q=question["id"], up=True, voter=voter_id("b"))
    assert codes(early) == ["not_found"]  # pending: not there for voters
    refused = gql(other_api, MODERATE, poll=poll.id, q=question["id"], action="show")
    assert codes(refused) == ["forbidden"]
    shown = gql(owner_api, MODERATE, poll=poll.id, q=question["id"], action="pin")
    assert shown["data"]["moderateQuestion"] == {
        "id": question["id"],
        "state": "shown",
        "pinned": True,
    }
    up = gql(api, UPVOTE, poll=poll.id, q=question["id"], up=True, voter=voter_id("b"))
    assert up["data"]["upvoteQuestion"]["upvotes"] == 1
    again = gql(api, UPVOTE, poll=poll.id, q=question["id"], up=True, voter=voter_id("b"))
    assert codes(again) == ["already_voted"]
    results = gql(api, RESULTS, id=poll.id)["data"]["results"]
    assert (results["shown"], results["pending"]) == (1, 0)
    assert results["questions"] == [
        {
            "id": question["id"],
            "text": "Why GraphQL?",
            "upvotes": 1,
            "state": "shown",
            "pinned": True,
        }
    ]
    back = gql(api, UPVOTE, poll=poll.id, q=question["id"], up=False, voter=voter_id("b"))
    assert back["data"]["upvoteQuestion"]["upvotes"] == 0 and not Upvote.objects.exists()
    bad = gql(owner_api, MODERATE, poll=poll.id, q=question["id"], action="delete")
    assert codes(bad) == ["invalid"]


@pytest.mark.parametrize("question_id", ["0", "-1", "1e3", "abc", "٣", "99999999999999999999"])
def test_forged_question_ids_are_not_found(owner_api, api, user, question_id):
    poll = make_poll(owner=user, choices=[], kind="qa")
    gql(api, ASK, poll=poll.id, text="Real?", voter=voter_id("a"))
    hidden = gql(owner_api, MODERATE, poll=poll.id, q=question_id, action="hide")
    voted = gql(api, UPVOTE, poll=poll.id, q=question_id, up=True, voter=voter_id("b"))
    assert codes(hidden) == ["not_found"] and codes(voted) == ["not_found"]
    assert Question.objects.get().state == "shown"


def test_offensive_questions_and_floods_are_refused_over_graphql(api, user, monkeypatch):
    poll = make_poll(owner=user, choices=[], kind="qa")
    rude = gql(api, ASK, poll=poll.id, text="what the fuck", voter=voter_id("a"))
    assert codes(rude) == ["not_allowed"]
    monkeypatch.setattr(throttles.QuestionThrottle, "rate", "2/min", raising=False)
    sent = [
        codes(gql(api, ASK, poll=poll.id, text=f"Question {n}?", voter=voter_id("a")))
        for n in range(3)
    ]
    assert sent == [[], [], ["throttled"]]
    assert Question.objects.count() == 2


def test_answers_are_moderated_over_graphql(owner_api, other_api, api, user):
    poll = make_poll(owner=user, choices=[], kind="text", moderation="pre")
    cast(api, poll.id, {"text": "quiet please"}, voter="v1")
    query = """query($id: ID!) { answers(pollId: $id, state: "pending") { id text state } }"""
    queue = gql(owner_api, query, id=poll.id)["data"]["answers"]
    assert [a["text"] for a in queue] == ["quiet please"]
    mutation = """mutation($poll: ID!, $a: ID!, $state: String!) {
      moderateAnswer(pollId: $poll, answerId: $a, state: $state) { id state } }"""
    other = gql(other_api, mutation, poll=poll.id, a=queue[0]["id"], state="shown")
    assert codes(other) == ["forbidden"]
    bad = gql(owner_api, mutation, poll=poll.id, a=queue[0]["id"], state="pending")
    assert codes(bad) == ["invalid"]
    shown = gql(owner_api, mutation, poll=poll.id, a=queue[0]["id"], state="shown")
    assert shown["data"]["moderateAnswer"]["state"] == "shown"
    words = gql(api, """query($id: ID!) { results(pollId: $id) { words { word } } }""", id=poll.id)
    assert words["data"]["results"]["words"] == [{"word": "quiet"}]
