"""Events over REST (contract v2, "Events"): one join code for a series of
polls; only the owner adds polls and drives the room."""

import pytest

from polls.models import Event, EventPoll, JoinCode, Poll
from polls.services import join_codes
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def new_event(client, title="All-hands") -> dict:
    response = client.post("/api/events/", {"title": title}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def add_poll(client, event_id: str, **body) -> dict:
    body = {"question": "Q?", "choices": ["a", "b"], "event": event_id} | body
    response = client.post("/api/polls/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_an_event_is_created_with_its_own_join_code_and_links(owner_api, user):
    event = new_event(owner_api)
    assert set(event) == {
        "id",
        "title",
        "owner",
        "polls",
        "current",
        "version",
        "urls",
        "embed_origins",
        "created_at",
    }
    assert (event["title"], event["owner"], event["polls"], event["current"]) == (
        "All-hands",
        user.username,
        [],
        None,
    )
    code = event["id"]
    assert event["urls"] == {
        "page": f"/e/{code}/",
        "present": f"/e/{code}/present/",
        "embed": f"/e/{code}/embed/",
        "websocket": f"/ws/events/{code}/",
    }
    assert JoinCode.objects.filter(code=code).exists()
    assert owner_api.get(f"/api/events/{code.lower()}/").json()["id"] == code  # any case


def test_polls_and_events_share_one_namespace_of_codes(owner_api, monkeypatch):
    poll = owner_api.post("/api/polls/", {"question": "Q?", "choices": ["a", "b"]}, format="json")
    taken = poll.json()["id"]
    draws = iter([taken, taken, "FRESH2"])
    monkeypatch.setattr(join_codes, "new_join_code", lambda: next(draws))
    assert new_event(owner_api)["id"] == "FRESH2"  # the poll's code was drawn, and skipped


def test_the_owner_adds_polls_in_order_and_anyone_reads_the_event(owner_api, api):
    event = new_event(owner_api)
    ids = [add_poll(owner_api, event["id"], question=f"Q{n}?")["id"] for n in range(3)]
    body = api.get(f"/api/events/{event['id']}/").json()
    assert body["polls"] == ids
    assert body["version"] == 4  # one step per poll added


def test_a_draft_stays_hidden_from_everyone_but_its_owner(owner_api, api):
    event = new_event(owner_api)
    shown = add_poll(owner_api, event["id"])["id"]
    draft = add_poll(owner_api, event["id"], status="draft")["id"]
    owner_api.post(f"/api/events/{event['id']}/current/", {"poll": draft}, format="json")
    assert owner_api.get(f"/api/events/{event['id']}/").json()["polls"] == [shown, draft]
    public = api.get(f"/api/events/{event['id']}/").json()
    assert (public["polls"], public["current"]) == ([shown], None)


def test_only_the_owner_adds_polls_to_an_event(owner_api, other_api):
    event = new_event(owner_api)
    response = other_api.post(
        "/api/polls/",
        {"question": "Q?", "choices": ["a", "b"], "event": event["id"]},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert Poll.objects.count() == 0  # nothing half-made


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("NOPE42", "No event with this id."),
        ("x", "A join code: 4 to 16 letters and digits."),
        ("AB\x00CD", "May not contain NUL or other control characters."),
        (["ABCDEF"], "Must be a string."),
        ({"id": "ABCDEF"}, "Must be a string."),
        (12345, "Must be a string."),
    ],
    ids=["unknown", "short", "nul", "list", "nested", "number"],
)
def test_a_poll_for_a_bad_event_is_refused_and_nothing_is_made(owner_api, event, message):
    body = {"question": "Q?", "choices": ["a", "b"], "event": event}
    response = owner_api.post("/api/polls/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["fields"] == {"event": message}
    assert Poll.objects.count() == 0


def test_a_poll_joins_an_event_only_when_created(owner_api):
    event = new_event(owner_api)
    poll = owner_api.post("/api/polls/", {"question": "Q?", "choices": ["a", "b"]}, format="json")
    response = owner_api.patch(
        f"/api/polls/{poll.json()['id']}/", {"event": event["id"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"event": "A poll joins an event when it is created."}
    assert not EventPoll.objects.exists()


def test_the_owner_switches_the_room_and_each_switch_is_a_version(owner_api):
    event = new_event(owner_api)
    first, second = (add_poll(owner_api, event["id"])["id"] for _ in range(2))
    url = f"/api/events/{event['id']}/current/"
    versions = []
    for target in (first, second, None, None):
        response = owner_api.post(url, {"poll": target}, format="json")
        assert response.status_code == 200
        assert response.json()["current"] == target
        versions.append(response.json()["version"])
    assert versions == [4, 5, 6, 6]  # the same poll again changes nothing
    lower = owner_api.post(url, {"poll": first.lower()}, format="json")
    assert lower.json()["current"] == first


def test_only_the_owner_drives_the_event(owner_api, other_api, api):
    event = new_event(owner_api)
    poll = add_poll(owner_api, event["id"])["id"]
    url = f"/api/events/{event['id']}/current/"
    forbidden = other_api.post(url, {"poll": poll}, format="json")
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "forbidden")
    anonymous = api.post(url, {"poll": poll}, format="json")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")
    missing = owner_api.post("/api/events/NOPE42/current/", {"poll": poll}, format="json")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert Event.objects.get().current_id is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"poll": "OTHER1"},
        {"poll": 7},
        {"poll": ["A"]},
        {"poll": "AB\x00CD"},
        {"poll": "x" * 17},
    ],
    ids=["missing", "not in the event", "number", "list", "nul", "long"],
)
def test_switching_to_a_poll_outside_the_event_is_400_and_changes_nothing(owner_api, body):
    event = new_event(owner_api)
    add_poll(owner_api, event["id"])
    owner_api.post("/api/polls/", {"question": "Q?", "choices": ["a", "b"]}, format="json")
    before = Event.objects.get()
    response = owner_api.post(f"/api/events/{event['id']}/current/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "poll" in response.json()["fields"]
    after = Event.objects.get()
    assert (after.current_id, after.version) == (before.current_id, before.version)


def test_another_owner_s_poll_cannot_be_made_current(owner_api, other_api):
    event = new_event(owner_api)
    theirs = other_api.post("/api/polls/", {"question": "Q?", "choices": ["a", "b"]}, format="json")
    response = owner_api.post(
        f"/api/events/{event['id']}/current/", {"poll": theirs.json()["id"]}, format="json"
    )
    assert response.status_code == 400


def test_deleting_an_event_leaves_its_polls(owner_api, other_api, api):
    event = new_event(owner_api)
    poll = add_poll(owner_api, event["id"])["id"]
    assert other_api.delete(f"/api/events/{event['id']}/").status_code == 403
    assert api.delete(f"/api/events/{event['id']}/").status_code == 401
    assert owner_api.delete(f"/api/events/{event['id']}/").status_code == 204
    assert api.get(f"/api/events/{event['id']}/").status_code == 404
    assert api.get(f"/api/polls/{poll}/").status_code == 200
    assert not EventPoll.objects.exists()


def test_deleting_the_current_poll_leaves_the_room_between_questions(owner_api):
    event = new_event(owner_api)
    first, second = (add_poll(owner_api, event["id"])["id"] for _ in range(2))
    owner_api.post(f"/api/events/{event['id']}/current/", {"poll": first}, format="json")
    before = owner_api.get(f"/api/events/{event['id']}/").json()["version"]
    assert owner_api.delete(f"/api/polls/{first}/").status_code == 204
    body = owner_api.get(f"/api/events/{event['id']}/").json()
    assert (body["polls"], body["current"]) == ([second], None)
    assert body["version"] == before + 1


def test_listing_events_and_mine(owner_api, other_api, api):
    mine = new_event(owner_api, "Mine")
    new_event(other_api, "Theirs")
    everyone = api.get("/api/events/").json()
    assert everyone["count"] == 2
    assert [e["id"] for e in owner_api.get("/api/events/?mine=true").json()["results"]] == [
        mine["id"]
    ]
    refused = api.get("/api/events/?mine=true")
    assert (refused.status_code, refused.json()["code"]) == (401, "not_authenticated")
    assert api.get("/api/events/?mine=maybe").status_code == 400


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Give the event a title."),
        ({"title": ""}, "Give the event a title."),
        ({"title": "x" * 201}, "Keep the title under 200 characters."),
        ({"title": 5}, "Must be a string."),
        ({"title": {"a": "b"}}, "Must be a string."),
        ({"title": "a\x00b"}, "May not contain NUL or other control characters."),
    ],
    ids=["missing", "blank", "long", "number", "nested", "nul"],
)
def test_a_bad_title_is_400_and_nothing_is_made(owner_api, body, message):
    response = owner_api.post("/api/events/", body, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"title": message}
    assert not Event.objects.exists()


def test_creating_an_event_needs_an_account(api):
    response = api.post("/api/events/", {"title": "T"}, format="json")
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")


def test_a_stranger_s_poll_list_never_shows_another_owner_s_event_polls(db):
    owner = UserFactory()
    event = new_event(client_for(owner))
    add_poll(client_for(owner), event["id"], status="draft")
    assert client_for(UserFactory()).get(f"/api/events/{event['id']}/").json()["polls"] == []


def test_the_owner_reorders_and_removes_polls_and_removed_polls_stay(owner_api, api):
    event = new_event(owner_api)
    a, b, c = (add_poll(owner_api, event["id"], question=f"{n}?")["id"] for n in "abc")
    owner_api.post(f"/api/events/{event['id']}/current/", {"poll": b}, format="json")
    url = f"/api/events/{event['id']}/polls/"
    body = owner_api.put(url, {"polls": [c.lower(), a]}, format="json").json()
    assert (body["polls"], body["current"], body["version"]) == ([c, a], None, 6)
    assert api.get(f"/api/polls/{b}/").status_code == 200  # left the event, still a poll
    again = owner_api.put(url, {"polls": [c, a]}, format="json").json()
    assert again["version"] == 6  # the same order again changes nothing
    more = add_poll(owner_api, event["id"])["id"]  # appended after the survivors
    assert api.get(f"/api/events/{event['id']}/").json()["polls"] == [c, a, more]


@pytest.mark.parametrize(
    ("polls", "message"),
    [
        ("ABCDEF", 'Expected a list of items but got type "str".'),
        (["SAME01", "SAME01"], "A poll may appear only once."),
        (["NOPE42"], "Not part of the event: NOPE42."),
        ([["A"]], "Item 1: Must be a string."),
        (["x"], "Item 1: A join code: 4 to 16 letters and digits."),
        (["ABCD"] * 501, "Ensure this field has no more than 500 elements."),
    ],
    ids=["string", "repeat", "foreign", "nested", "short", "huge"],
)
def test_a_bad_order_is_400_and_changes_nothing(owner_api, polls, message):
    event = new_event(owner_api)
    kept = add_poll(owner_api, event["id"])["id"]
    polls = [kept if p == "SAME01" else p for p in polls] if isinstance(polls, list) else polls
    response = owner_api.put(f"/api/events/{event['id']}/polls/", {"polls": polls}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["polls"] == message
    assert owner_api.get(f"/api/events/{event['id']}/").json()["polls"] == [kept]


def test_only_the_owner_reorders(owner_api, other_api, api):
    event = new_event(owner_api)
    poll = add_poll(owner_api, event["id"])["id"]
    url = f"/api/events/{event['id']}/polls/"
    assert other_api.put(url, {"polls": []}, format="json").status_code == 403
    assert api.put(url, {"polls": []}, format="json").status_code == 401
    assert owner_api.get(f"/api/events/{event['id']}/").json()["polls"] == [poll]
