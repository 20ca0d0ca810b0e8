"""Text polls through the API: answers, their words, the profanity filter,
moderation by the owner, and counts that stay exact (contract v2,
"Question kinds": `text`)."""

import pytest
from django.core.management import call_command

from polls.models import Answer, Ballot, Poll, TallyLine
from polls.selectors import live_state
from polls.text import words_of
from tests.factories import make_poll
from tests.helpers import cast, voter_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def text_poll(user):
    return make_poll(
        owner=user,
        question="One word for the talk?",
        choices=[],
        kind="text",
        max_ballots_per_address=0,
    )


def results(api, poll) -> dict:
    response = api.get(f"/api/polls/{poll.id}/results/")
    assert response.status_code == 200, response.json()
    return response.json()


def answer(api, poll, text, voter="voter-0001", **headers):
    return cast(api, poll.id, {"text": text}, voter=voter, **headers)


def test_a_text_poll_is_created_without_choices(owner_api):
    made = owner_api.post(
        "/api/polls/",
        {
            "question": "Thoughts?",
            "kind": "text",
            "moderation": "pre",
            "answers_per_voter": 3,
            "blocked_words": "pineapple, anchovies",
        },
        format="json",
    )
    assert made.status_code == 201, made.json()
    body = made.json()
    assert (body["kind"], body["choices"], body["moderation"], body["answers_per_voter"]) == (
        "text",
        [],
        "pre",
        3,
    )
    assert "blocked_words" not in body  # the owner's list is not shown to voters


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "text", "choices": ["A", "B"]}, "choices"),
        ({"kind": "text", "answers_per_voter": 11}, "answers_per_voter"),
        ({"kind": "text", "moderation": "post"}, "moderation"),
        ({"kind": "text", "blocked_words": "x" * 2001}, "blocked_words"),
        ({"kind": "single", "choices": ["A", "B"], "moderation": "pre"}, "moderation"),
        ({"kind": "single"}, "choices"),
    ],
)
def test_a_text_poll_s_rules_are_checked(owner_api, body, field):
    response = owner_api.post("/api/polls/", {"question": "Q", **body}, format="json")
    assert response.status_code == 400 and field in response.json()["fields"], response.json()
    assert not Poll.objects.exists()


def test_answers_are_normalised_and_counted_as_words(api, text_poll):
    first = answer(api, text_poll, "  Great   DEMO,\u00a0great slides ", voter="v1")
    assert first.status_code == 201
    body = first.json()
    assert (body["text"], body["state"], body["choices"]) == (
        "Great DEMO, great slides",
        "shown",
        [],
    )
    assert body["voter_id"] == voter_id("v1")
    answer(api, text_poll, "The demo was fun", voter="v2")
    shown = results(api, text_poll)
    assert shown["total_votes"] == 2 and (shown["shown"], shown["pending"]) == (2, 0)
    assert shown["words"] == [
        {"word": "demo", "count": 2},  # once per answer, whatever its case
        {"word": "fun", "count": 1},
        {"word": "great", "count": 1},
        {"word": "slides", "count": 1},
    ]
    assert [a["text"] for a in shown["answers"]] == ["The demo was fun", "Great DEMO, great slides"]


def test_stop_words_of_several_languages_are_left_out():
    assert words_of("The slides were really clear and the demo was great") == [
        "slides",
        "clear",
        "demo",
        "great",
    ]
    assert words_of("La démo était très claire") == ["démo", "claire"]
    assert words_of("Die Demo war sehr gut") == ["demo", "gut"]
    assert words_of("ＦＵＬＬ－ＷＩＤＴＨ demo") == ["full-width", "demo"]  # NFKC


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "x" * 201,
        "tab\there",
        "nul\u0000",
        "bidi\u202eevil",
        42,
        None,
        ["a"],
        {"t": 1},
    ],
    ids=repr,
)
def test_a_bad_answer_is_refused_and_counts_nothing(api, text_poll, text):
    response = answer(api, text_poll, text)
    assert (response.status_code, response.json()["code"]) == (400, "invalid"), response.json()
    assert not Ballot.objects.exists() and not Answer.objects.exists()
    assert results(api, text_poll)["total_votes"] == 0


@pytest.mark.parametrize(
    "text", ["what a shit talk", "sh1t", "f u c k this", "quelle merde", "so blorptastic"]
)
def test_offensive_answers_and_the_owner_s_words_are_not_allowed(api, user, text):
    poll = make_poll(owner=user, choices=[], kind="text", blocked_words="Blorptastic\nzonk")
    response = answer(api, poll, text)
    assert (response.status_code, response.json()["code"]) == (400, "not_allowed")
    assert "another way" in response.json()["detail"]
    assert not Answer.objects.exists() and results(api, poll)["words"] == []


def test_one_answer_per_voter_unless_the_poll_takes_more(api, user, text_poll):
    assert answer(api, text_poll, "first").status_code == 201
    again = answer(api, text_poll, "second")
    assert (again.status_code, again.json()["code"]) == (409, "already_voted")
    several = make_poll(owner=user, choices=[], kind="text", answers_per_voter=2)
    statuses = [answer(api, several, w).status_code for w in ("pizza", "sushi", "tacos")]
    assert statuses == [201, 200, 409]
    assert results(api, several)["total_votes"] == 1  # one voter, two answers
    assert [w["word"] for w in results(api, several)["words"]] == ["pizza", "sushi"]


def test_a_changed_answer_replaces_the_old_one_and_a_withdrawn_one_goes(api, user):
    poll = make_poll(owner=user, choices=[], kind="text", allow_vote_change=True)
    answer(api, poll, "pizza party")
    changed = answer(api, poll, "sushi")
    assert changed.status_code == 200
    assert [w["word"] for w in results(api, poll)["words"]] == ["sushi"]
    gone = api.delete(f"/api/polls/{poll.id}/votes/mine/", HTTP_X_VOTER_ID=voter_id("voter-0001"))
    assert gone.status_code == 204
    shown = results(api, poll)
    assert (shown["total_votes"], shown["words"], shown["shown"]) == (0, [], 0)
    assert not TallyLine.objects.exists() and not Answer.objects.exists()


def test_pre_moderated_answers_wait_for_the_owner(owner_api, other_api, api, user):
    poll = make_poll(owner=user, choices=[], kind="text", moderation="pre")
    waiting = answer(api, poll, "hidden gem", voter="v1")
    assert waiting.json()["state"] == "pending"
    answer(api, poll, "visible gem", voter="v2")
    shown = results(api, poll)
    assert (shown["shown"], shown["pending"], shown["words"], shown["answers"]) == (0, 2, [], [])
    queue = owner_api.get(f"/api/polls/{poll.id}/answers/?state=pending").json()
    assert [a["text"] for a in queue["results"]] == ["visible gem", "hidden gem"]
    first = queue["results"][0]["id"]
    assert other_api.post(f"/api/polls/{poll.id}/answers/{first}/show/").status_code == 403
    assert api.get(f"/api/polls/{poll.id}/answers/").status_code == 401
    version = shown["version"]
    approved = owner_api.post(f"/api/polls/{poll.id}/answers/{first}/show/")
    assert approved.status_code == 200 and approved.json()["state"] == "shown"
    after = results(api, poll)
    assert after["version"] == version + 1
    assert [w["word"] for w in after["words"]] == ["gem", "visible"]
    assert [a["text"] for a in after["answers"]] == ["visible gem"]
    hidden = owner_api.post(f"/api/polls/{poll.id}/answers/{first}/hide/")
    assert hidden.json()["state"] == "hidden"
    final = results(api, poll)
    assert (final["words"], final["answers"], final["shown"], final["pending"]) == ([], [], 0, 1)
    message = live_state(poll_id=poll.id).message
    assert "visible" not in str(message) and message["words"] == []
    assert owner_api.post(f"/api/polls/{poll.id}/answers/999999/show/").status_code == 404
    assert owner_api.get(f"/api/polls/{poll.id}/answers/?state=gone").status_code == 400


def test_an_idempotent_answer_replays_and_a_different_one_is_a_mismatch(api, text_poll):
    first = answer(api, text_poll, "same", **{"Idempotency-Key": "t-1"})
    again = answer(api, text_poll, "same", **{"Idempotency-Key": "t-1"})
    assert again.content == first.content
    other = answer(api, text_poll, "other", **{"Idempotency-Key": "t-1"})
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_mismatch")


def test_a_choice_body_on_a_text_poll_is_invalid(api, text_poll):
    response = cast(api, text_poll.id, {"choices": [1]})
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


def test_recount_and_reset_keep_the_words_exact(owner_api, api, text_poll, capsys):
    answer(api, text_poll, "alpha beta", voter="v1")
    answer(api, text_poll, "beta", voter="v2")
    TallyLine.objects.filter(poll=text_poll, key="w:beta").update(count=7)
    capsys.readouterr()
    call_command("recount", text_poll.id)
    assert (
        capsys.readouterr().out.splitlines()[0] == f"{text_poll.id}: count w:beta was 7, counted 2"
    )
    assert results(api, text_poll)["words"][0] == {"word": "beta", "count": 2}
    assert owner_api.post(f"/api/polls/{text_poll.id}/reset/").status_code == 200
    assert not Answer.objects.exists() and results(api, text_poll)["words"] == []


def test_csv_exports_words_and_every_answer_but_the_hidden(
    owner_api, api, user, settings, tmp_path, django_capture_on_commit_callbacks
):
    from tests.polls.test_kinds_api import csv_rows

    poll = make_poll(owner=user, choices=[], kind="text", moderation="pre")
    answer(api, poll, '=HYPERLINK("evil") demo', voter="v1")
    answer(api, poll, "lovely demo", voter="v2")
    answer(api, poll, "secret plan", voter="v3")
    ids = dict(Answer.objects.values_list("text", "id"))
    owner_api.post(f"/api/polls/{poll.id}/answers/{ids['lovely demo']}/show/")
    owner_api.post(f"/api/polls/{poll.id}/answers/{ids['secret plan']}/hide/")
    rows = csv_rows(owner_api, poll, settings, tmp_path, django_capture_on_commit_callbacks)
    assert rows[3:6] == [["word", "count"], ["demo", "1"], ["lovely", "1"]]
    answers = rows[rows.index(["voter", "answer", "state", "answered_at", "quarantined"]) + 1 :]
    assert [(a[1], a[2]) for a in answers] == [
        ('\'=HYPERLINK("evil") demo', "pending"),
        ("lovely demo", "shown"),
    ]
    assert "secret" not in str(rows)


def test_half_a_character_is_refused_not_stored(api, text_poll):
    """JSON may escape a lone surrogate; no UTF-8 text can carry it."""
    response = api.post(
        f"/api/polls/{text_poll.id}/votes/",
        '{"text": "half \\ud800 a character"}',
        content_type="application/json",
        HTTP_X_VOTER_ID=voter_id("voter-0001"),
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert not Answer.objects.exists()


@pytest.mark.parametrize("answer_id", ["0", "99999999999999999999999", "-1", "1e3"])
def test_a_forged_answer_id_moderates_nothing(owner_api, api, user, answer_id):
    poll = make_poll(owner=user, choices=[], kind="text", moderation="pre")
    answer(api, poll, "waiting")
    response = owner_api.post(f"/api/polls/{poll.id}/answers/{answer_id}/show/")
    assert response.status_code == 404
    assert Answer.objects.get().state == "pending"
