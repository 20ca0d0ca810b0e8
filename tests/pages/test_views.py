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


def test_home_redirects_a_join_code_to_the_voter_page(client, poll):
    response = client.get(f"/?code= {poll.id.lower()} ")
    assert (response.status_code, response["Location"]) == (302, f"/p/{poll.id}/")


def test_dashboard_needs_a_signed_in_user(client, user):
    assert client.get("/dashboard/")["Location"] == "/accounts/login/?next=/dashboard/"
    client.force_login(user)
    assert client.get("/dashboard/").status_code == 200


def test_sign_up_creates_an_account_and_signs_in(client, db):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "carol",
            "email": "carol@example.org",
            "password1": "correct-horse-battery",
            "password2": "correct-horse-battery",
        },
    )
    assert (response.status_code, response["Location"]) == (302, "/dashboard/")
    assert get_user_model().objects.get(username="carol").email == "carol@example.org"
    assert client.get("/dashboard/").status_code == 200


@pytest.mark.parametrize("email", ["", "not-an-address", "a@b\x00.org"])
def test_sign_up_asks_for_the_address_the_results_email_needs(client, db, email):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "dave",
            "email": email,
            "password1": "correct-horse-battery",
            "password2": "correct-horse-battery",
        },
    )
    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="dave").exists()
    errors = response.context["form"].errors["email"]
    assert errors[0] in ("This field is required.", "Enter a valid email address."), errors


@pytest.mark.parametrize("code", ["NOPE42", "nope42", "<b>x</b>", "A" * 40, "AB-CD"])
def test_a_wrong_join_code_shows_the_code_box_again(client, db, settings, code):
    settings.DEBUG = True  # `make run`: still the site's page, not Django's URL list
    response = client.get("/", {"code": code})
    assert response.status_code == 404
    page = response.content.decode()
    assert 'id="not-found"' in page and 'name="code"' in page
    assert "<b>x</b>" not in page and "URLconf" not in page
    assert "No poll has the code" in page


def test_a_missing_poll_page_is_the_site_s_404_with_the_code_box(client, db, settings):
    settings.DEBUG = True
    for path in ("/p/NOPE42/", "/p/NOPE42/present/"):
        response = client.get(path)
        assert response.status_code == 404
        assert "No poll has the code NOPE42" in response.content.decode()


def test_unknown_pages_and_server_errors_have_the_site_s_pages(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert 'name="code"' in response.content.decode()
    from django.template.loader import render_to_string

    assert "Something went wrong" in render_to_string("500.html")  # rendered with no request


def test_the_favicon_is_served(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("nexus/favicon.svg")
    assert 'rel="icon"' in client.get("/").content.decode()


def test_the_vote_page_carries_the_visitor_s_ballot(client, db, poll):
    """So the page need not ask votes/mine/, which answers 404 for "not yet"."""
    import json

    from tests.helpers import voter_id

    def ballot(response):
        found = re.search(r'id="ballot-data" type="application/json">(.*?)</script>', response.text)
        return json.loads(found.group(1))

    assert ballot(client.get(f"/p/{poll.id}/")) == {"known": True, "choices": None}
    voter = voter_id("page-ballot")
    choice = poll.choices.first().pk
    cast = client.post(
        f"/api/polls/{poll.id}/votes/",
        {"choices": [choice]},
        content_type="application/json",
        HTTP_X_VOTER_ID=voter,
    )
    assert cast.status_code == 201
    client.cookies["nexus_voter"] = voter
    assert ballot(client.get(f"/p/{poll.id}/")) == {"known": True, "choices": [choice]}
    client.cookies["nexus_voter"] = "forged.id"
    assert ballot(client.get(f"/p/{poll.id}/")) == {"known": False, "choices": None}


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
        assert "frame-ancestors 'self'" in policy and "object-src 'none'" in policy
        assert client.get(url).headers["X-Frame-Options"] == "SAMEORIGIN"  # no other site frames it
        assert "unsafe-inline" not in policy
    assert "Content-Security-Policy" not in api.get(f"/api/polls/{poll.id}/").headers


def test_event_pages_and_codes_lead_to_the_event(client, user):
    from polls.services import events

    event = events.event_create(owner=user, title="All-hands")
    assert client.get("/", {"code": event.id.lower()})["Location"] == f"/e/{event.id}/"
    assert client.get(f"/p/{event.id}/")["Location"] == f"/e/{event.id}/"  # one namespace
    phone = client.get(f"/e/{event.id}/")
    assert phone.status_code == 200 and 'id="current-poll"' in phone.text
    screen = client.get(f"/e/{event.id}/present/")
    assert screen.status_code == 200
    assert f"http://testserver/e/{event.id}/" in screen.text and 'id="next"' not in screen.text
    client.force_login(user)
    assert 'id="next"' in client.get(f"/e/{event.id}/present/").text  # the owner's controls
    assert client.get(f"/e/{event.id}/qr.svg")["Content-Type"] == "image/svg+xml"
    missing = client.get("/e/NOPE42/")
    assert missing.status_code == 404 and "No poll has the code NOPE42" in missing.text
    assert client.get("/e/NOPE42/qr.svg").status_code == 404


def test_a_poll_s_pages_inside_an_event_hide_their_own_code_and_header(client, poll):
    assert 'id="join-code"' in client.get(f"/p/{poll.id}/present/").text
    assert 'id="join-code"' not in client.get(f"/p/{poll.id}/present/?embed=1").text
    assert 'class="bar"' in client.get(f"/p/{poll.id}/").text
    assert 'class="bar"' not in client.get(f"/p/{poll.id}/?embed=1").text
