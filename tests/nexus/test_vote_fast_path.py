"""An anonymous vote skips most of the middleware (nexus.middleware.
AnonymousVoteMiddleware): it must answer exactly as the full chain does,
hostile requests included, and anything not an anonymous vote takes the
full chain."""

import json

import pytest
from django.contrib.sessions.middleware import SessionMiddleware
from django.test import AsyncClient
from rest_framework.test import APIClient

from tests.factories import UserFactory, make_poll
from tests.helpers import choice_ids, voter_id

pytestmark = pytest.mark.django_db

FAST = "nexus.middleware.AnonymousVoteMiddleware"


def requests_for(poll) -> list[tuple[str, dict]]:
    """(path, client.generic kwargs) for one poll: every answer a vote can get."""
    red, path = choice_ids(poll)[0], f"/api/polls/{poll.id}/votes/"
    body = json.dumps({"choices": [red]})
    as_json = {"content_type": "application/json"}
    return [
        (path, {"data": body, **as_json, "HTTP_X_VOTER_ID": voter_id("a")}),  # 201
        (path, {"data": body, **as_json, "HTTP_X_VOTER_ID": voter_id("a")}),  # 409
        (path.replace(poll.id, poll.id.lower()), {"data": body, **as_json}),  # 201, new voter
        (path, {"data": "[1, 2]", **as_json, "HTTP_X_VOTER_ID": voter_id("b")}),
        (path, {"data": '{"choices": [', **as_json}),  # malformed JSON
        (path, {"data": "choices=1", "content_type": "text/plain"}),  # 415
        (path, {"data": json.dumps({"choices": [[[[[]]]]]}), **as_json}),
        (path, {"data": "[" * 100_000, **as_json}),  # nested past the limit
        (path, {"data": json.dumps({"choices": [red], "x": "a\x00b"}), **as_json}),  # NUL
        (path, {"data": body, **as_json, "HTTP_X_VOTER_ID": "forged.id"}),
        (path, {"data": body, **as_json, "HTTP_X_VOTER_ID": "a\x00b"}),
        (path, {"data": body, **as_json, "HTTP_HOST": "evil.example"}),  # DisallowedHost
        (path, {"data": "x" * (3 * 1024 * 1024), **as_json}),  # past the body limit
        ("/api/polls/ZZZZZZ/votes/", {"data": body, **as_json}),  # 404
    ]


def answers(settings, middleware: list[str]) -> list[tuple]:
    settings.MIDDLEWARE = middleware
    poll = make_poll(owner=UserFactory(), max_ballots_per_address=0)
    client, out = APIClient(), []
    for path, kwargs in requests_for(poll):
        response = client.generic("POST", path, **kwargs)
        text = response.content.decode().replace(poll.id, "POLL")
        body = json.loads(text) if response["Content-Type"] == "application/json" else text
        if isinstance(body, dict):  # the same shape; the ids and times are new
            body = {k: "..." if k in {"voter_id", "created_at"} else v for k, v in body.items()}
            if "choices" in body:
                body["choices"] = [choice_ids(poll).index(c) for c in body["choices"]]
        headers = {k: v for k, v in response.headers.items() if k != "Set-Cookie"}
        cookies = {  # all but the moment it expires, a clock's tick apart
            name: {k: v for k, v in morsel.items() if k != "expires"}
            for name, morsel in response.cookies.items()
        }
        out.append((response.status_code, body, headers, cookies))
    return out


def test_an_anonymous_vote_answers_as_the_full_chain_does(settings):
    full = [m for m in settings.MIDDLEWARE if m != FAST]
    assert FAST in settings.MIDDLEWARE
    fast = answers(settings, list(settings.MIDDLEWARE))
    assert [a[0] for a in fast] == [
        201,
        409,
        201,
        400,
        400,
        415,
        400,
        400,
        400,
        400,
        400,
        400,
        413,
        404,
    ]
    assert fast == answers(settings, full)


def test_the_https_redirect_and_security_headers_hold_on_the_short_path(settings):
    settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS = True, 3600
    poll = make_poll(owner=UserFactory())
    path, red = f"/api/polls/{poll.id}/votes/", choice_ids(poll)[:1]
    plain = APIClient().post(path, {"choices": red}, format="json")
    assert (plain.status_code, plain["Location"]) == (301, f"https://testserver{path}")
    secure = APIClient().post(path, {"choices": red}, format="json", secure=True)
    assert secure.status_code == 201
    assert secure["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"


def test_only_anonymous_votes_skip_the_chain(monkeypatch, user):
    seen: list[str] = []
    real = SessionMiddleware.process_request
    monkeypatch.setattr(
        SessionMiddleware,
        "process_request",
        lambda self, request: seen.append(request.path) or real(self, request),
    )
    poll = make_poll(owner=UserFactory())
    path, red = f"/api/polls/{poll.id}/votes/", choice_ids(poll)[:1]
    anonymous = APIClient()
    assert anonymous.post(path, {"choices": red}, format="json").status_code == 201
    assert seen == []  # the short path
    signed_in = APIClient()
    signed_in.force_login(user)  # a session cookie: the account votes
    assert signed_in.post(path, {"choices": red}, format="json").status_code == 201
    assert anonymous.get(f"/api/polls/{poll.id}/").status_code == 200
    assert seen == [path, f"/api/polls/{poll.id}/"]


def test_a_session_vote_without_its_csrf_token_is_refused_as_before(user):
    poll = make_poll(owner=UserFactory())
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(
        f"/api/polls/{poll.id}/votes/", {"choices": choice_ids(poll)[:1]}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


@pytest.mark.django_db(transaction=True)
async def test_under_asgi_a_vote_takes_the_full_chain():
    from asgiref.sync import sync_to_async

    poll = await sync_to_async(make_poll)(owner=await sync_to_async(UserFactory)())
    red = (await sync_to_async(choice_ids)(poll))[0]
    response = await AsyncClient().post(
        f"/api/polls/{poll.id}/votes/", {"choices": [red]}, content_type="application/json"
    )
    assert response.status_code == 201
    assert response.json()["poll"] == poll.id
