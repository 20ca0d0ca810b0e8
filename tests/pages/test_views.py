"""The page views themselves (the browser tests drive the rest)."""

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
