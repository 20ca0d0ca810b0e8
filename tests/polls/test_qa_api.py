"""Q&A polls through the API: questions, one upvote per voter, the owner's
moderation, and what voters, screens and exports may see (contract v2,
"Question kinds": `qa`)."""

import pytest
from django.core.management import call_command

from polls import throttles
from polls.models import Poll, Question, Upvote
from polls.selectors import live_state
from tests.factories import make_poll
from tests.helpers import cast, voter_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def qa_poll(user):
    return make_poll(owner=user, question="Ask me anything", choices=[], kind="qa")


def ask(api, poll, text, voter="voter-0001", **headers):
    extra = {"HTTP_X_VOTER_ID": voter_id(voter)} if voter else {}
    extra.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
    return api.post(f"/api/polls/{poll.id}/questions/", {"text": text}, format="json", **extra)


def upvote(api, poll, question_id, voter="voter-0001", method="post"):
    url = f"/api/polls/{poll.id}/questions/{question_id}/upvote/"
    return getattr(api, method)(url, HTTP_X_VOTER_ID=voter_id(voter))


def results(api, poll) -> dict:
    response = api.get(f"/api/polls/{poll.id}/results/")
    assert response.status_code == 200, response.json()
    return response.json()


def test_a_qa_poll_is_created_without_choices(owner_api):
    made = owner_api.post(
        "/api/polls/",
        {"question": "Questions?", "kind": "qa", "moderation": "pre", "blocked_words": "zonk"},
        format="json",
    )
    assert made.status_code == 201, made.json()
    assert (made.json()["kind"], made.json()["choices"], made.json()["moderation"]) == (
        "qa",
        [],
        "pre",
    )
    several = owner_api.post(
        "/api/polls/", {"question": "Q", "kind": "qa", "answers_per_voter": 2}, format="json"
    )
    assert several.status_code == 400 and "answers_per_voter" in several.json()["fields"]
    choices = owner_api.post(
        "/api/polls/", {"question": "Q", "kind": "qa", "choices": ["A", "B"]}, format="json"
    )
    assert choices.status_code == 400 and "choices" in choices.json()["fields"]
    assert Poll.objects.count() == 1


def test_questions_are_asked_and_upvoted_most_upvoted_first(api, qa_poll):
    first = ask(api, qa_poll, "  What   about\u00a0tests? ", voter="a")
    assert first.status_code == 201, first.json()
    body = first.json()
    assert (body["text"], body["state"], body["upvotes"], body["pinned"]) == (
        "What about tests?",
        "shown",
        0,
        False,
    )
    second = ask(api, qa_poll, "When is lunch?", voter="b").json()
    version = results(api, qa_poll)["version"]
    for voter in ("c", "d"):
        assert upvote(api, qa_poll, second["id"], voter=voter).json()["upvotes"] in (1, 2)
    shown = results(api, qa_poll)
    assert shown["version"] == version + 2
    assert [(q["text"], q["upvotes"]) for q in shown["questions"]] == [
        ("When is lunch?", 2),
        ("What about tests?", 0),
    ]
    assert (shown["shown"], shown["pending"], shown["total_votes"]) == (2, 0, 0)
    assert live_state(poll_id=qa_poll.id).message["questions"] == shown["questions"]


def test_one_upvote_per_voter_and_it_can_be_taken_back(api, qa_poll):
    question = ask(api, qa_poll, "Why?").json()
    assert upvote(api, qa_poll, question["id"], voter="v").status_code == 200
    again = upvote(api, qa_poll, question["id"], voter="v")
    assert (again.status_code, again.json()["code"]) == (409, "already_voted")
    back = upvote(api, qa_poll, question["id"], voter="v", method="delete")
    assert (back.status_code, back.json()["upvotes"]) == (200, 0)
    none = upvote(api, qa_poll, question["id"], voter="v", method="delete")
    assert none.status_code == 404
    assert not Upvote.objects.exists() and Question.objects.get().upvotes == 0
    assert upvote(api, qa_poll, question["id"], voter="v").status_code == 200


def test_the_same_question_again_is_the_first_one(api, qa_poll):
    first = ask(api, qa_poll, "Is this recorded?")
    again = ask(api, qa_poll, "is   this recorded?".replace("is", "Is", 1))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and Question.objects.count() == 1


@pytest.mark.parametrize(
    "text",
    ["", "   ", "x" * 201, "nul\x00byte", "bell\x07", "bidi\u202eevil", 42, None, ["a"], {"t": 1}],
    ids=repr,
)
def test_a_bad_question_is_refused_and_changes_nothing(api, qa_poll, text):
    response = ask(api, qa_poll, text)
    assert (response.status_code, response.json()["code"]) == (400, "invalid"), response.json()
    assert not Question.objects.exists() and results(api, qa_poll)["version"] == 1


@pytest.mark.parametrize("body", [[], "text", 5, [{"text": "hi"}]], ids=repr)
def test_a_body_that_is_not_an_object_is_invalid(api, qa_poll, body):
    response = api.post(
        f"/api/polls/{qa_poll.id}/questions/",
        body,
        format="json",
        HTTP_X_VOTER_ID=voter_id("v"),
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert not Question.objects.exists()


@pytest.mark.parametrize("text", ["what the fuck", "quelle merde", "so blorptastic"])
def test_offensive_questions_and_the_owner_s_words_are_not_allowed(api, user, text):
    poll = make_poll(owner=user, choices=[], kind="qa", blocked_words="Blorptastic")
    response = ask(api, poll, text)
    assert (response.status_code, response.json()["code"]) == (400, "not_allowed")
    assert response.json()["detail"].startswith("That question uses words")
    assert not Question.objects.exists()


def test_pre_moderated_questions_wait_and_their_author_sees_them(owner_api, api, user):
    poll = make_poll(owner=user, choices=[], kind="qa", moderation="pre")
    waiting = ask(api, poll, "Secret roadmap?", voter="author").json()
    assert waiting["state"] == "pending"
    shown = results(api, poll)
    assert (shown["questions"], shown["shown"], shown["pending"]) == ([], 0, 1)
    assert upvote(api, poll, waiting["id"], voter="other").status_code == 404
    mine = api.get(f"/api/polls/{poll.id}/questions/mine/", HTTP_X_VOTER_ID=voter_id("author"))
    assert [(q["text"], q["state"]) for q in mine.json()["questions"]] == [
        ("Secret roadmap?", "pending")
    ]
    theirs = api.get(f"/api/polls/{poll.id}/questions/mine/", HTTP_X_VOTER_ID=voter_id("other"))
    assert theirs.json() == {"questions": [], "upvoted": []}
    queue = owner_api.get(f"/api/polls/{poll.id}/questions/?state=pending").json()
    assert [q["id"] for q in queue["results"]] == [waiting["id"]]
    approved = owner_api.post(f"/api/polls/{poll.id}/questions/{waiting['id']}/show/")
    assert approved.json()["state"] == "shown"
    assert [q["text"] for q in results(api, poll)["questions"]] == ["Secret roadmap?"]
    upvote(api, poll, waiting["id"], voter="other")
    theirs = api.get(f"/api/polls/{poll.id}/questions/mine/", HTTP_X_VOTER_ID=voter_id("other"))
    assert theirs.json()["upvoted"] == [waiting["id"]]


def test_the_owner_hides_answers_and_pins(owner_api, other_api, api, qa_poll):
    ids = [ask(api, qa_poll, f"Question {n}?", voter=f"v{n}").json()["id"] for n in range(3)]
    base = f"/api/polls/{qa_poll.id}/questions"
    assert other_api.post(f"{base}/{ids[0]}/hide/").status_code == 403
    assert api.post(f"{base}/{ids[0]}/hide/").status_code == 401
    assert owner_api.post(f"{base}/{ids[0]}/hide/").json()["state"] == "hidden"
    hidden = results(api, qa_poll)
    assert "Question 0" not in str(hidden) and "Question 0" not in str(
        live_state(poll_id=qa_poll.id).message
    )
    assert upvote(api, qa_poll, ids[0], voter="x").status_code == 404
    mine = api.get(f"/api/polls/{qa_poll.id}/questions/mine/", HTTP_X_VOTER_ID=voter_id("v0"))
    assert mine.json()["questions"] == []  # hidden, even from its author
    assert owner_api.post(f"{base}/{ids[1]}/pin/").json()["pinned"] is True
    assert owner_api.post(f"{base}/{ids[2]}/pin/").json()["pinned"] is True
    pinned = [q["id"] for q in results(api, qa_poll)["questions"] if q["pinned"]]
    assert pinned == [ids[2]]  # one pinned question at a time
    answered = owner_api.post(f"{base}/{ids[2]}/answered/").json()
    assert (answered["state"], answered["pinned"]) == ("answered", False)
    states = {q["id"]: q["state"] for q in results(api, qa_poll)["questions"]}
    assert states == {ids[1]: "shown", ids[2]: "answered"}
    assert owner_api.delete(f"{base}/{ids[1]}/pin/").json()["pinned"] is False
    assert owner_api.delete(f"{base}/{ids[1]}/hide/").status_code == 405
    assert owner_api.get(f"{base}/?state=hidden").json()["results"][0]["id"] == ids[0]


@pytest.mark.parametrize("question_id", ["0", "99999999999999999999999", "-1", "1e3", "999"])
def test_a_forged_question_id_changes_nothing(owner_api, api, qa_poll, question_id):
    ask(api, qa_poll, "Real question?")
    base = f"/api/polls/{qa_poll.id}/questions/{question_id}"
    assert owner_api.post(f"{base}/hide/").status_code == 404
    assert api.post(f"{base}/upvote/", HTTP_X_VOTER_ID=voter_id("v")).status_code == 404
    assert Question.objects.get().state == "shown" and not Upvote.objects.exists()


def test_a_question_of_another_poll_is_not_found(api, user, qa_poll):
    other = make_poll(owner=user, choices=[], kind="qa")
    question = ask(api, other, "Elsewhere?").json()
    assert upvote(api, qa_poll, question["id"]).status_code == 404
    assert Question.objects.get().upvotes == 0


def test_closed_polls_and_other_kinds_take_no_questions(api, user, qa_poll, poll):
    response = ask(api, poll, "Hello?")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    vote = cast(api, qa_poll.id, {"choices": [1]})
    assert (vote.status_code, vote.json()["code"]) == (400, "invalid")
    assert "/questions/" in vote.json()["detail"]
    question = ask(api, qa_poll, "Before close?").json()
    Poll.objects.filter(pk=qa_poll.pk).update(status="closed")
    closed = ask(api, qa_poll, "After close?")
    assert (closed.status_code, closed.json()["code"]) == (409, "poll_closed")
    late = upvote(api, qa_poll, question["id"])
    assert (late.status_code, late.json()["code"]) == (409, "poll_closed")


def test_a_passcode_poll_asks_for_its_passcode(api, user):
    poll = make_poll(owner=user, choices=[], kind="qa", eligibility="passcode", passcode="letmein")
    refused = ask(api, poll, "Hi?")
    assert (refused.status_code, refused.json()["code"]) == (403, "passcode_required")
    wrong = ask(api, poll, "Hi?", **{"X-Poll-Passcode": "nope"})
    assert (wrong.status_code, wrong.json()["code"]) == (403, "wrong_passcode")
    assert ask(api, poll, "Hi?", **{"X-Poll-Passcode": "letmein"}).status_code == 201


def test_a_forged_voter_id_asks_nothing(api, qa_poll):
    response = api.post(
        f"/api/polls/{qa_poll.id}/questions/",
        {"text": "Forged?"},
        format="json",
        HTTP_X_VOTER_ID="anon-made-up",
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_voter_id")
    assert not Question.objects.exists()


def test_a_first_question_without_an_id_gets_one(api, qa_poll):
    response = ask(api, qa_poll, "New here?", voter=None)
    assert response.status_code == 201 and "nexus_voter" in response.cookies
    mine = api.get(f"/api/polls/{qa_poll.id}/questions/mine/")  # the cookie it was given
    assert [q["text"] for q in mine.json()["questions"]] == ["New here?"]


def test_a_flood_of_questions_from_one_voter_is_throttled(api, qa_poll, monkeypatch):
    monkeypatch.setattr(throttles.QuestionThrottle, "rate", "3/min", raising=False)
    statuses = [ask(api, qa_poll, f"Question {n}?").status_code for n in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    assert Question.objects.count() == 3


def test_a_flood_of_fresh_voter_ids_from_one_address_is_throttled(api, qa_poll, monkeypatch):
    monkeypatch.setattr(throttles.QuestionAddressThrottle, "rate", "3/min", raising=False)
    statuses = [ask(api, qa_poll, f"Q {n}?", voter=f"fresh-{n}").status_code for n in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    assert Question.objects.count() == 3


def test_only_the_top_100_questions_are_sent_and_the_pinned_one_always(api, user, qa_poll):
    Question.objects.bulk_create(
        Question(poll=qa_poll, voter_key=f"anon:{n}", text=f"q{n}", state="shown", upvotes=n)
        for n in range(1, 151)
    )
    Question.objects.filter(poll=qa_poll, text="q1").update(pinned=True)
    top = results(api, qa_poll)["questions"]
    assert len(top) == 100 and top[0]["text"] == "q150" and top[-1]["text"] == "q1"
    assert [q["upvotes"] for q in top[:-1]] == list(range(150, 51, -1))
    assert len(str(live_state(poll_id=qa_poll.id).message).encode()) < 12_000


def test_recount_restores_upvotes_and_reset_deletes_questions(owner_api, api, qa_poll, capsys):
    question = ask(api, qa_poll, "Exact?").json()
    upvote(api, qa_poll, question["id"], voter="a")
    upvote(api, qa_poll, question["id"], voter="b")
    Question.objects.update(upvotes=9)
    capsys.readouterr()
    call_command("recount", qa_poll.id)
    assert (
        capsys.readouterr().out.splitlines()[0]
        == f"{qa_poll.id}: upvotes {question['id']} was 9, counted 2"
    )
    assert results(api, qa_poll)["questions"][0]["upvotes"] == 2
    assert owner_api.post(f"/api/polls/{qa_poll.id}/reset/").status_code == 200
    assert not Question.objects.exists() and not Upvote.objects.exists()
    assert owner_api.delete(f"/api/polls/{qa_poll.id}/").status_code == 204


def test_csv_exports_every_question_but_the_hidden(
    owner_api, api, user, settings, tmp_path, django_capture_on_commit_callbacks
):
    from tests.polls.test_kinds_api import csv_rows

    poll = make_poll(owner=user, choices=[], kind="qa", moderation="pre")
    ids = [
        ask(api, poll, text, voter=f"v{n}").json()["id"]
        for n, text in enumerate(['=HYPERLINK("evil")?', "Lovely?", "Secret plan?"])
    ]
    base = f"/api/polls/{poll.id}/questions"
    owner_api.post(f"{base}/{ids[1]}/pin/")
    owner_api.post(f"{base}/{ids[2]}/hide/")
    upvote(api, poll, ids[1], voter="fan")
    rows = csv_rows(owner_api, poll, settings, tmp_path, django_capture_on_commit_callbacks)
    header = rows.index(["asker", "question", "upvotes", "state", "pinned", "asked_at"])
    assert [r[1:5] for r in rows[header + 1 :]] == [
        ["Lovely?", "1", "shown", "yes"],
        ['\'=HYPERLINK("evil")?', "0", "pending", ""],
    ]
    assert "Secret" not in str(rows)


def test_one_address_cannot_upvote_a_question_to_the_top(api, user):
    """Voter ids are free: an anonymous voter's first upvote or question in a
    poll counts against the poll's address cap, as a first ballot does."""
    poll = make_poll(owner=user, choices=[], kind="qa", max_ballots_per_address=3)
    question = ask(api, poll, "Mine first?", voter="asker").json()  # the address's 1st
    statuses = [upvote(api, poll, question["id"], voter=f"sock-{n}").status_code for n in range(4)]
    assert statuses == [200, 200, 429, 429]
    assert Question.objects.get().upvotes == 2
    refused = upvote(api, poll, question["id"], voter="sock-9")
    assert refused.json()["code"] == "address_limit"
    # A voter already counted may go on; one who takes back its only upvote
    # gives its place back, so toggling cannot use the cap up.
    assert upvote(api, poll, question["id"], voter="sock-0", method="delete").status_code == 200
    assert upvote(api, poll, question["id"], voter="sock-0").status_code == 200
    assert upvote(api, poll, question["id"], voter="sock-1", method="delete").status_code == 200
    assert upvote(api, poll, question["id"], voter="sock-7").status_code == 200
    assert ask(api, poll, "Another?", voter="asker").status_code == 201  # counted already


def test_fresh_ipv6_addresses_of_one_network_share_the_question_limit(api, qa_poll, monkeypatch):
    """An IPv6 client has a /64 of addresses: the limit counts the network."""
    monkeypatch.setattr(throttles.QuestionAddressThrottle, "rate", "3/min", raising=False)

    def asked(n: int, network: str) -> int:
        return api.post(
            f"/api/polls/{qa_poll.id}/questions/",
            {"text": f"Q {network} {n}?"},
            format="json",
            REMOTE_ADDR=f"2001:db8:{network}::{n + 100:x}",
            HTTP_X_VOTER_ID=voter_id(f"v6-{network}-{n}"),
        ).status_code

    assert [asked(n, "1") for n in range(5)] == [201, 201, 201, 429, 429]
    assert asked(0, "2") == 201  # another network


@pytest.mark.parametrize("results", ["after_vote", "after_close"])
def test_a_qa_poll_shows_its_questions_live(owner_api, results):
    made = owner_api.post(
        "/api/polls/", {"question": "Q", "kind": "qa", "results": results}, format="json"
    )
    assert made.status_code == 400 and "results" in made.json()["fields"]


def test_a_poll_with_upvotes_deletes_outside_the_services_too(api, qa_poll):
    question = ask(api, qa_poll, "Admin?").json()
    upvote(api, qa_poll, question["id"], voter="fan")
    Poll.objects.get(pk=qa_poll.pk).delete()  # as the admin does
    assert not Question.objects.exists() and not Upvote.objects.exists()


def test_answered_questions_do_not_crowd_new_ones_out(api, qa_poll):
    Question.objects.bulk_create(
        Question(poll=qa_poll, voter_key=f"anon:{n}", text=f"old {n}", state="answered", upvotes=9)
        for n in range(100)
    )
    ask(api, qa_poll, "Brand new?")
    top = results(api, qa_poll)["questions"]
    assert len(top) == 100 and top[-1]["text"] == "Brand new?"


@pytest.mark.parametrize("disguise", ["\u00ad", "\ufeff", "\u2060", "\u034f", "\U000e0041"])
def test_invisible_characters_do_not_disguise_a_blocked_word(api, user, disguise):
    poll = make_poll(owner=user, choices=[], kind="qa", blocked_words="zonk")
    response = ask(api, poll, f"what about zo{disguise}nk?")
    assert (response.status_code, response.json()["code"]) == (400, "not_allowed")
    kept = ask(api, poll, f"\ufeffhello{disguise} there")
    assert kept.json()["text"] == "hello there"


def test_a_poll_with_questions_keeps_its_kind_and_eligibility(owner_api, api, qa_poll):
    ask(api, qa_poll, "Frozen?")
    changed = owner_api.patch(
        f"/api/polls/{qa_poll.id}/", {"kind": "single", "choices": ["A", "B"]}, format="json"
    )
    assert (changed.status_code, changed.json()["code"]) == (409, "poll_has_votes")


def test_asking_a_hidden_question_again_does_not_undo_the_hide(owner_api, api, qa_poll):
    question = ask(api, qa_poll, "Spam spam?").json()
    owner_api.post(f"/api/polls/{qa_poll.id}/questions/{question['id']}/hide/")
    again = ask(api, qa_poll, "Spam spam?")
    assert (again.status_code, again.json()["state"]) == (200, "pending")
    assert Question.objects.get().state == "hidden" and results(api, qa_poll)["questions"] == []


def test_pinning_an_answered_question_opens_it_again(owner_api, api, qa_poll):
    question = ask(api, qa_poll, "Follow-up?").json()
    base = f"/api/polls/{qa_poll.id}/questions/{question['id']}"
    owner_api.post(f"{base}/answered/")
    pinned = owner_api.post(f"{base}/pin/").json()
    assert (pinned["state"], pinned["pinned"]) == ("shown", True)


def test_my_upvotes_leave_out_hidden_questions(owner_api, api, qa_poll):
    question = ask(api, qa_poll, "Soon hidden?").json()
    upvote(api, qa_poll, question["id"], voter="fan")
    owner_api.post(f"/api/polls/{qa_poll.id}/questions/{question['id']}/hide/")
    mine = api.get(f"/api/polls/{qa_poll.id}/questions/mine/", HTTP_X_VOTER_ID=voter_id("fan"))
    assert mine.json() == {"questions": [], "upvoted": []}
