import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


def test_register_answers_the_account_and_a_working_token(api):
    response = api.post(
        "/api/auth/register/",
        {"username": "alice", "password": "correct-horse-battery", "email": "a@example.com"},
        format="json",
    )
    body = response.json()
    user = get_user_model().objects.get(username="alice")
    assert response.status_code == 201
    assert body == {"id": user.pk, "username": "alice", "token": Token.objects.get(user=user).key}
    api.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    created = api.post("/api/polls/", {"question": "Q", "choices": ["a", "b"]}, format="json")
    assert created.json()["owner"] == "alice"


def test_register_rejects_a_weak_password_and_a_taken_name(api, user):
    response = api.post(
        "/api/auth/register/", {"username": user.username.upper(), "password": "123"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "Some fields are invalid.",
        "fields": {"username": "This username is taken."},
    }
    response = api.post(
        "/api/auth/register/", {"username": "bob", "password": "12345678"}, format="json"
    )
    assert response.json() == {
        "code": "invalid",
        "detail": "Some fields are invalid.",
        "fields": {"password": "This password is too common. This password is entirely numeric."},
    }
    assert get_user_model().objects.count() == 1


def test_token_is_given_for_good_credentials_only(api, user):
    good = api.post(
        "/api/auth/token/",
        {"username": user.username, "password": "correct-horse-battery"},
        format="json",
    )
    assert good.status_code == 200
    assert good.json() == {"token": Token.objects.get(user=user).key}
    bad = api.post(
        "/api/auth/token/", {"username": user.username, "password": "wrong"}, format="json"
    )
    assert bad.status_code == 400
    assert bad.json() == {
        "code": "invalid_credentials",
        "detail": "Unknown username or wrong password.",
    }


def test_session_sign_in_works_for_browsers_with_csrf(user):
    from rest_framework.test import APIClient

    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)
    response = browser.post("/api/polls/", {"question": "Q", "choices": ["a", "b"]}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert "CSRF" in response.json()["detail"]


def test_credentials_must_be_strings(api, user):
    response = api.post("/api/auth/token/", {"username": 0, "password": 1}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "Some fields are invalid.",
        "fields": {"username": "Must be a string.", "password": "Must be a string."},
    }
