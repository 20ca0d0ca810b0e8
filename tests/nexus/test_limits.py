"""Hostile input gets the contract's JSON 4xx and changes nothing: huge and
deeply nested bodies, NUL and other control characters, on REST (both of the
vote's middleware chains), GraphQL and raw ASGI (nexus/limits.py)."""

import json

import pytest
from django.test import Client

from nexus import limits
from nexus.asgi import application
from polls.models import Ballot, Poll
from tests.helpers import choice_ids

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024


def post_raw(client, path: str, body: bytes | str, **extra):
    return client.generic("POST", path, body, content_type="application/json", **extra)


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == code


def token_header(user) -> dict:
    from rest_framework.authtoken.models import Token

    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.get_or_create(user=user)[0].key}"}


@pytest.mark.parametrize("path", ["/api/polls/{poll}/votes/", "/api/polls/", "/graphql/", "/"])
def test_a_body_over_one_mebibyte_is_413_on_every_path(poll, user, path):
    body = json.dumps({"question": "x" * (MIB + 10), "choices": ["a", "b"]})
    response = post_raw(Client(), path.format(poll=poll.id), body, **token_header(user))
    assert_error(response, 413, "too_large")
    assert Poll.objects.count() == 1 and not Ballot.objects.exists()


def test_a_body_just_under_the_limit_is_read(poll):
    padding = " " * (MIB - 100)
    body = json.dumps({"choices": choice_ids(poll)[:1]}) + padding
    response = post_raw(Client(), f"/api/polls/{poll.id}/votes/", body)
    assert response.status_code == 201, response.content


def test_a_content_length_that_is_not_a_number_is_400(poll):
    response = post_raw(Client(), f"/api/polls/{poll.id}/votes/", "{}", CONTENT_LENGTH="lots")
    assert_error(response, 400, "invalid")


@pytest.mark.parametrize("signed_in", [False, True])  # the vote's short chain and the full one
def test_a_hundred_thousand_brackets_are_400_not_a_recursion_error(poll, user, signed_in):
    headers = token_header(user) if signed_in else {}
    response = post_raw(Client(), f"/api/polls/{poll.id}/votes/", "[" * 100_000, **headers)
    assert_error(response, 400, "invalid")
    assert "nest" in response.json()["detail"]
    assert not Ballot.objects.exists()


def test_nesting_is_refused_past_the_depth_limit_and_kept_up_to_it():
    def nested(depth: int) -> str:
        return '{"a": ' * (depth - 1) + "[1]" + "}" * (depth - 1)

    assert limits.loads(nested(limits.MAX_DEPTH)) is not None
    with pytest.raises(limits.Invalid, match="nest"):
        limits.loads(nested(limits.MAX_DEPTH + 1))


@pytest.mark.parametrize("text", ["a\x00b", "bell\x07", "esc\x1b[31m", "del\x7f", "c1\x85"])
def test_control_characters_in_text_are_400_and_nothing_is_created(owner_api, text):
    for body in (
        {"question": text, "choices": ["a", "b"]},
        {"question": "Fine", "choices": ["a", text]},
        {"question": "Fine", "choices": ["a", "b"], text: 1},  # in a key too
    ):
        response = owner_api.post("/api/polls/", body, format="json")
        assert_error(response, 400, "invalid")
        named = (
            "question"
            if body.get("question") == text
            else "choices"
            if text in body.get("choices", ())
            else "non_field_errors"
        )
        assert list(response.json()["fields"]) == [named]
    assert not Poll.objects.exists()


def test_tabs_and_newlines_in_text_are_kept(owner_api):
    body = {
        "question": "Two\tcolumns",
        "description": "line one\r\nline two",
        "choices": ["a", "b"],
    }
    response = owner_api.post("/api/polls/", body, format="json")
    assert response.status_code == 201, response.content
    assert Poll.objects.get().description == "line one\r\nline two"


@pytest.mark.parametrize("query", ["search=a%00b", "search=%1b", "a%00=1", "status=open%7F"])
def test_control_characters_in_a_query_string_are_400(owner_api, query):
    assert_error(owner_api.get(f"/api/polls/?{query}"), 400, "invalid")


def test_a_query_string_on_a_page_is_checked_too(client):
    assert_error(client.get("/?q=%00"), 400, "invalid")


def test_invalid_json_is_400_with_the_parsers_reason(owner_api):
    response = owner_api.generic("POST", "/api/polls/", b"{'single': 'quotes'}", "application/json")
    assert_error(response, 400, "invalid")
    assert response.json()["detail"].startswith("JSON parse error - ")


# --- GraphQL ------------------------------------------------------------------------


def test_graphql_answers_malformed_bodies_in_json(api):
    for body, status, code in (
        ("[" * 100_000, 400, "invalid"),
        ("{not json", 400, "invalid"),
        (json.dumps({"query": "{ polls { id } }", "variables": {"x": "a\x00b"}}), 400, "invalid"),
    ):
        assert_error(post_raw(api, "/graphql/", body), status, code)
    assert_error(
        api.put("/graphql/", "{}", content_type="application/json"), 405, "method_not_allowed"
    )


def test_a_nul_escaped_inside_a_graphql_string_never_reaches_the_database(api, poll):
    query = '{ poll(id: "ABC\\u0000") { id } }'.replace("ABC", poll.id)
    response = api.post("/graphql/", {"query": query}, format="json")
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["invalid"]
    assert "control characters" in body["errors"][0]["message"]
    assert body.get("data") is None


def test_a_block_string_with_newlines_is_fine(owner_api):
    query = (
        'mutation { createPoll(input: {question: """Two\nlines""", choices: ["a", "b"]}) { id } }'
    )
    response = owner_api.post("/graphql/", {"query": query}, format="json")
    assert "errors" not in response.json(), response.json()
    assert Poll.objects.get().question == "Two\nlines"


# --- ASGI: a body with no Content-Length ---------------------------------------------


async def call_asgi(chunks: list[bytes], headers: list[tuple[bytes, bytes]]):
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/polls/",
        "raw_path": b"/api/polls/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    read, sent = [0], []

    async def receive():
        if read[0] < len(messages):
            read[0] += 1
            return messages[read[0] - 1]
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await application(scope, receive, send)
    return read[0], sent


@pytest.mark.asyncio
async def test_an_asgi_body_streamed_past_the_limit_is_413_and_not_read_to_the_end():
    chunk = b" " * (256 * 1024)
    read, sent = await call_asgi([chunk] * 40, [(b"transfer-encoding", b"chunked")])  # 10 MiB
    assert read <= 6  # stopped just past 1 MiB, not spooled to the end
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["code"] == "too_large"
