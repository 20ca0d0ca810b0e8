"""The page views themselves (the browser tests drive the rest)."""

import re

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


def test_pages_render_the_poll_for_everyone(client, poll):
    for url in (f"/p/{poll.id}/", f"/p/{poll.id.lower()}/present/"):
        response = client.get(url)
        assert response.status_code == 200
        assert poll.question.encode() in response.content
    assert b'id="join-code">' + poll.id.encode() in client.get(f"/p/{poll.id}/present/").content


def test_unknown_and_draft_polls_are_not_found_on_pages(client, user):
    from tests.factories import make_poll

    draft = make_poll(owner=user, status="draft")
    assert client.get("/p/NOPE42/").status_code == 404
    assert client.get(f"/p/{draft.id}/present/").status_code == 404
    client.force_login(user)
    assert client.get(f"/p/{draft.id}/present/").status_code == 200


def test_qr_code_is_an_svg_of_the_voter_page(client, poll):
    response = client.get(f"/p/{poll.id}/qr.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg") and b"Scan to vote" in response.content


def test_home_redirects_a_join_code_to_the_voter_page(client, db):
    response = client.get("/?code= k7q2xp ")
    assert (response.status_code, response["Location"]) == (302, "/p/K7Q2XP/")


def test_dashboard_needs_a_signed_in_user(client, user):
    assert client.get("/dashboard/")["Location"] == "/accounts/login/?next=/dashboard/"
    client.force_login(user)
    assert client.get("/dashboard/").status_code == 200


def test_sign_up_creates_an_account_and_signs_in(client, db):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "carol",
            "password1": "correct-horse-battery",
            "password2": "correct-horse-battery",
        },
    )
    assert (response.status_code, response["Location"]) == (302, "/dashboard/")
    assert get_user_model().objects.filter(username="carol").exists()
    assert client.get("/dashboard/").status_code == 200


def invite_poll(owner, count: int):
    from polls.services.invites import invites_mint
    from tests.factories import make_poll

    poll = make_poll(owner=owner, eligibility="invite")
    return poll, invites_mint(poll_id=poll.id, user=owner, count=count)


def sheet_qr(poll, token: str, number: int) -> bytes:
    from polls.pages import _invite_qr

    return _invite_qr(f"http://testserver/p/{poll.id}/?invite={token}", number).encode()


def test_the_invite_sheet_is_only_for_the_polls_owner(client, user):
    from tests.factories import UserFactory

    poll, _ = invite_poll(user, 2)
    sheet = f"/p/{poll.id}/invites/sheet/"
    assert client.get(sheet)["Location"] == f"/accounts/login/?next={sheet}"
    client.force_login(UserFactory())
    assert client.get(sheet).status_code == 404
    client.force_login(user)
    assert client.get(sheet).status_code == 200
    assert client.get("/p/NOPE42/invites/sheet/").status_code == 404


def test_the_invite_sheet_has_a_qr_code_for_each_unused_invite_only(client, api, user):
    from polls.services.invites import invite_revoke

    poll, tokens = invite_poll(user, 5)
    choice = poll.choices.first().id
    voted = api.post(
        f"/api/polls/{poll.id}/votes/",
        {"choices": [choice]},
        format="json",
        HTTP_X_VOTER_ID=tokens[0],
    )
    assert voted.status_code == 201
    invite_revoke(poll_id=poll.id, user=user, token=tokens[1])
    client.force_login(user)
    html = client.get(f"/p/{poll.id}/invites/sheet/").content
    assert html.count(b"<svg") == 3
    for number, token in enumerate(tokens[2:], start=1):
        assert sheet_qr(poll, token, number) in html
        assert f"Invite {number}</p>".encode() in html
    for token in tokens[:2]:
        assert all(sheet_qr(poll, token, n) not in html for n in range(1, 6))
    assert b"Invite 4" not in html and b"<strong>" + poll.id.encode() + b"</strong>" in html


def test_the_invite_sheet_makes_no_outside_requests(client, user):
    poll, _ = invite_poll(user, 3)
    client.force_login(user)
    html = client.get(f"/p/{poll.id}/invites/sheet/").content.decode()
    assert "http" not in html and "//" not in html
    assert "<script" not in html and "<img" not in html
    assert all(url.startswith("/") for url in re.findall(r'(?:src|href)="([^"]*)"', html))


def test_the_invite_sheet_shows_48_invites_a_page(client, user):
    poll, tokens = invite_poll(user, 50)
    client.force_login(user)
    first = client.get(f"/p/{poll.id}/invites/sheet/").content
    second = client.get(f"/p/{poll.id}/invites/sheet/?page=2").content
    assert (first.count(b"<svg"), second.count(b"<svg")) == (48, 2)
    assert first.count(b'class="print-page"') == 4 and b'href="?page=2"' in first
    assert b"Page 2 of 2" in second and sheet_qr(poll, tokens[49], 50) in second


def test_a_signed_in_only_poll_asks_visitors_to_sign_in(client, user):
    from tests.factories import make_poll

    poll = make_poll(owner=user, eligibility="signed_in")
    html = client.get(f"/p/{poll.id}/").content.decode()
    assert f'<a href="/accounts/login/?next=%2Fp%2F{poll.id}%2F">Sign in to vote</a>' in html
    client.force_login(user)
    assert "Sign in to vote" not in client.get(f"/p/{poll.id}/").content.decode()


def test_only_a_passcode_poll_shows_a_passcode_field(client, user):
    from tests.factories import make_poll

    locked = make_poll(owner=user, eligibility="passcode", passcode="tulip-42")
    open_poll = make_poll(owner=user)
    assert b'<label for="passcode">Passcode</label>' in client.get(f"/p/{locked.id}/").content
    assert b'id="passcode"' not in client.get(f"/p/{open_poll.id}/").content
    assert b"tulip-42" not in client.get(f"/p/{locked.id}/").content


def test_pages_send_a_content_security_policy_and_the_api_does_not(client, poll, api):
    for url in ("/", f"/p/{poll.id}/", f"/p/{poll.id}/present/", "/dashboard/"):
        policy = client.get(url).headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in policy, url
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
        assert "unsafe-inline" not in policy
    assert "Content-Security-Policy" not in api.get(f"/api/polls/{poll.id}/").headers
