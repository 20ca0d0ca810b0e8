"""Sign-in throttling (django-axes, accounts/signin.py) on every sign-in path."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from polls.throttles import SignupThrottle
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RIGHT = "correct-horse-battery"  # UserFactory's password


@pytest.fixture(autouse=True)
def three_failures(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=7)


def token(username, password, address="198.51.100.1", **extra):
    return APIClient(REMOTE_ADDR=address).post(
        "/api/auth/token/", {"username": username, "password": password}, format="json", **extra
    )


def assert_throttled(response):
    assert response.status_code == 429
    assert response["Retry-After"] == "420"
    assert response.json() == {
        "code": "throttled",
        "detail": "Too many failed sign-ins. Try again later.",
    }


def test_failures_under_the_limit_do_not_lock_the_account():
    user = UserFactory()
    for _ in range(2):
        assert token(user.username, "wrong").status_code == 400
    assert token(user.username, RIGHT).status_code == 200


def test_an_address_that_keeps_failing_is_refused_even_with_the_right_password():
    user = UserFactory()
    for _ in range(2):
        assert token(user.username, "wrong").json()["code"] == "invalid_credentials"
    assert_throttled(token(user.username, "wrong"))  # the third failure locks
    assert_throttled(token(user.username, RIGHT))
    # the same address guessing another account is refused too
    other = UserFactory()
    assert_throttled(token(other.username, RIGHT))
    # another address signs in to that other account
    assert token(other.username, RIGHT, address="198.51.100.2").status_code == 200


def test_a_username_guessed_from_many_addresses_is_refused_from_a_new_one():
    user = UserFactory()
    for i in range(2):
        assert token(user.username, f"guess-{i}", address=f"203.0.113.{i + 1}").status_code == 400
    assert_throttled(token(user.username, "guess-3", address="203.0.113.3"))
    assert_throttled(token(user.username, RIGHT, address="192.0.2.77"))


def test_a_forged_forwarded_for_does_not_give_a_fresh_address():
    """With NEXUS_NUM_PROXIES=0 the address is the socket's, whatever the header says;
    three failures on three made-up usernames lock that address."""
    user = UserFactory()
    for i in range(3):
        forged = {"HTTP_X_FORWARDED_FOR": f"10.9.9.{i}"}
        token(f"nobody-{i}", "wrong", **forged)
    assert_throttled(token(user.username, RIGHT, HTTP_X_FORWARDED_FOR="10.9.9.200"))


def test_hostile_credentials_are_a_clear_400_and_count_nothing():
    user = UserFactory()
    for body in (
        {"username": "a\x00b", "password": "x"},
        {"username": "a" * 10_000, "password": "x"},
        {"username": ["admin"], "password": "x"},
    ):
        response = APIClient(REMOTE_ADDR="198.51.100.1").post(
            "/api/auth/token/", body, format="json"
        )
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
        assert "username" in response.json()["fields"]
    assert token(user.username, RIGHT).status_code == 200


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_the_sign_in_pages_are_throttled_per_address(path):
    user = UserFactory(is_staff=True)
    browser = Client(REMOTE_ADDR="198.51.100.9")
    for _ in range(2):
        response = browser.post(path, {"username": user.username, "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    assert browser.post(path, {"username": user.username, "password": "wrong"}).status_code == 429
    locked = browser.post(path, {"username": user.username, "password": RIGHT})
    assert locked.status_code == 429
    assert locked["Retry-After"] == "420"
    assert b"Too many failed sign-ins" in locked.content
    assert "_auth_user_id" not in browser.session


def test_the_page_and_the_api_share_one_count_per_username():
    user = UserFactory()
    for i in range(2):
        Client(REMOTE_ADDR=f"203.0.113.{i + 1}").post(
            "/accounts/login/", {"username": user.username, "password": "wrong"}
        )
    assert_throttled(token(user.username, "wrong", address="203.0.113.50"))
    assert_throttled(token(user.username, RIGHT, address="203.0.113.51"))


def test_accounts_made_from_one_address_are_throttled_on_both_paths(monkeypatch):
    monkeypatch.setattr(SignupThrottle, "rate", "2/hour", raising=False)
    api = APIClient(REMOTE_ADDR="198.51.100.20")
    made = [
        api.post(
            "/api/auth/register/",
            {"username": f"maker{n}", "password": "pw-long-enough-1"},
            format="json",
        ).status_code
        for n in range(3)
    ]
    assert made == [201, 201, 429]
    page = Client(REMOTE_ADDR="198.51.100.20").post(
        "/accounts/signup/",
        {
            "username": "maker9",
            "email": "m@example.org",
            "password1": "Xq7!long-pass",
            "password2": "Xq7!long-pass",
        },
    )
    assert page.status_code == 429 and b"Too many accounts" in page.content
    assert not User.objects.filter(username="maker9").exists()
    other = APIClient(REMOTE_ADDR="198.51.100.21")
    assert (
        other.post(
            "/api/auth/register/", {"username": "x1", "password": "pw-long-enough-1"}, format="json"
        ).status_code
        == 201
    )


def test_a_mistyped_sign_up_does_not_use_up_the_addresss_accounts(monkeypatch):
    monkeypatch.setattr(SignupThrottle, "rate", "2/hour", raising=False)
    page = Client(REMOTE_ADDR="198.51.100.22")

    def sign_up(name: str, confirm: str) -> int:
        body = {
            "username": name,
            "email": "m@example.org",
            "password1": "Xq7!long-pass",
            "password2": confirm,
        }
        return page.post("/accounts/signup/", body).status_code

    assert [sign_up(f"typo{n}", "Xq7!long-pasS") for n in range(3)] == [200, 200, 200]
    page.logout()
    assert sign_up("made1", "Xq7!long-pass") == 302
    page.logout()
    assert sign_up("made2", "Xq7!long-pass") == 302
    page.logout()
    assert sign_up("made3", "Xq7!long-pass") == 429
    assert sorted(
        User.objects.filter(username__startswith="made").values_list("username", flat=True)
    ) == ["made1", "made2"]
