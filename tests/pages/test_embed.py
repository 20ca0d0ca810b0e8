"""Embeds: /p/{id}/embed/ and /e/{id}/embed/ may be framed by the sites
their owner lists, and nothing else may be framed by another site."""

import pytest

from polls.models import Poll
from polls.services import events
from tests.factories import make_poll

pytestmark = pytest.mark.django_db
BLOG = "https://blog.example.org"


def ancestors(response) -> str:
    policy = response.headers["Content-Security-Policy"]
    return next(d for d in policy.split("; ") if d.startswith("frame-ancestors"))


def test_an_embed_may_be_framed_by_the_listed_sites_only(client, user):
    poll = make_poll(owner=user, embed_origins=[BLOG, "http://localhost:8080"])
    embed = client.get(f"/p/{poll.id}/embed/")
    assert embed.status_code == 200 and 'id="bars"' in embed.text
    assert ancestors(embed) == f"frame-ancestors 'self' {BLOG} http://localhost:8080"
    assert "X-Frame-Options" not in embed.headers  # it cannot name origins
    assert 'id="join-code"' not in embed.text  # the chart alone
    for page in (f"/p/{poll.id}/", f"/p/{poll.id}/present/", "/"):
        other = client.get(page)
        assert ancestors(other) == "frame-ancestors 'self'"
        assert other.headers["X-Frame-Options"] == "SAMEORIGIN"
    unlisted = make_poll(owner=user)
    assert ancestors(client.get(f"/p/{unlisted.id}/embed/")) == "frame-ancestors 'self'"


def test_a_transparent_embed_for_a_stream_overlay(client, user):
    poll = make_poll(owner=user)
    page = client.get(f"/p/{poll.id}/embed/", {"background": "transparent"})
    assert 'class="present embed transparent"' in page.text
    assert "transparent" not in client.get(f"/p/{poll.id}/embed/").text.split("<body")[1][:40]


def test_an_event_embed_lets_its_sites_frame_the_current_question(client, user):
    event = events.event_create(owner=user, title="All-hands", embed_origins=[BLOG])
    inside = make_poll(owner=user, event=event.id)
    outside = make_poll(owner=user)
    page = client.get(f"/e/{event.id}/embed/")
    assert page.status_code == 200 and ancestors(page) == f"frame-ancestors 'self' {BLOG}"
    framed = client.get(f"/p/{inside.id}/embed/", {"event": event.id.lower()})
    assert ancestors(framed) == f"frame-ancestors 'self' {BLOG}"
    # Naming an event the poll is not in lends it nothing
    assert ancestors(client.get(f"/p/{outside.id}/embed/", {"event": event.id})) == (
        "frame-ancestors 'self'"
    )
    assert ancestors(client.get(f"/p/{outside.id}/embed/", {"event": "x;y"})) == (
        "frame-ancestors 'self'"
    )


def test_a_draft_s_embed_is_a_404_to_anyone_but_its_owner(client, user):
    draft = make_poll(owner=user, status=Poll.Status.DRAFT)
    for missing in (client.get(f"/p/{draft.id}/embed/"), client.get("/e/NOPE42/embed/")):
        assert missing.status_code == 404
        assert missing.headers["X-Frame-Options"] == "SAMEORIGIN"  # framed by no other site
        assert ancestors(missing) == "frame-ancestors 'self'"


def test_origins_saved_around_the_api_are_checked_again_before_the_header(client, user):
    """The admin or a script can write anything into the column: only
    origins reach the header, and at most 2,000 characters of them."""
    hostile = [
        BLOG,
        "https://x.org; script-src *",
        "'unsafe-inline'",
        None,
        "*",
        "http://[::1]:8080",
    ]
    many = [f"https://site{n:03}.example.org" for n in range(200)]
    poll = make_poll(owner=user, embed_origins=hostile + many)
    header = ancestors(client.get(f"/p/{poll.id}/embed/"))
    assert header.startswith(f"frame-ancestors 'self' {BLOG} http://[::1]:8080 https://site000.")
    assert "script-src" not in header and "unsafe" not in header and " * " not in header
    assert 1900 < len(header) <= 2100


def test_the_owner_lists_sites_over_the_api(owner_api, user):
    poll = make_poll(owner=user)
    answer = owner_api.patch(
        f"/api/polls/{poll.id}/",
        {"embed_origins": ["HTTPS://Blog.Example.org", "http://[::1]:8080"]},
        format="json",
    )
    assert answer.status_code == 200
    assert answer.json()["embed_origins"] == [BLOG, "http://[::1]:8080"]
    assert answer.json()["urls"]["embed"] == f"/p/{poll.id}/embed/"
    event = owner_api.post(
        "/api/events/", {"title": "Talk", "embed_origins": [BLOG]}, format="json"
    )
    assert event.status_code == 201 and event.json()["embed_origins"] == [BLOG]
    renamed = owner_api.patch(
        f"/api/events/{event.json()['id']}/", {"embed_origins": []}, format="json"
    )
    assert renamed.status_code == 200 and renamed.json()["embed_origins"] == []


@pytest.mark.parametrize(
    "origins",
    [
        ["https://blog.example.org; script-src *"],  # a second directive smuggled into the header
        ["https://blog.example.org 'unsafe-inline'"],
        ["*"],
        ["https://*.example.org"],
        ["'self'"],
        ["javascript:alert(1)"],
        ["data:"],
        ["https://blog.example.org/path"],
        ["https://blog.example.org?x=1"],
        ["https://user@blog.example.org"],
        ["https://blog.example.org\x00"],
        ["https://blog.example.org\r\nSet-Cookie: x=1"],
        ["http://[::1]:99999"],
        ["https://" + "a" * 200 + ".org"],
        [BLOG] * 21,
        [f"https://{n:02}" + "b" * 180 + ".org" for n in range(6)],  # over 1,000 characters in all
        "https://blog.example.org",
        [["https://blog.example.org"]],
        [{"origin": BLOG}],
        [12],
    ],
)
def test_anything_but_an_origin_is_refused_and_changes_nothing(owner_api, user, origins):
    poll = make_poll(owner=user, embed_origins=[BLOG])
    answer = owner_api.patch(f"/api/polls/{poll.id}/", {"embed_origins": origins}, format="json")
    assert answer.status_code == 400 and answer.json()["code"] == "invalid"
    assert "embed_origins" in answer.json()["fields"]
    assert Poll.objects.get(pk=poll.id).embed_origins == [BLOG]
    event = owner_api.post("/api/events/", {"title": "T", "embed_origins": origins}, format="json")
    assert event.status_code == 400


def test_only_the_owner_sets_the_sites(other_api, api, user):
    poll = make_poll(owner=user)
    for client, status in ((other_api, 403), (api, 401)):
        answer = client.patch(f"/api/polls/{poll.id}/", {"embed_origins": [BLOG]}, format="json")
        assert answer.status_code == status
    assert Poll.objects.get(pk=poll.id).embed_origins == []


def test_the_dashboard_s_snippet_uses_the_public_address(client, user, settings):
    """An owner on an internal host name still copies the address the
    world reaches (NEXUS_PUBLIC_URL), or this server's if none is set."""
    client.force_login(user)
    settings.NEXUS_PUBLIC_URL = "https://vote.example.org"
    assert 'data-public-url="https://vote.example.org"' in client.get("/dashboard/").text
    settings.NEXUS_PUBLIC_URL = ""
    assert 'data-public-url="http://testserver"' in client.get("/dashboard/").text
