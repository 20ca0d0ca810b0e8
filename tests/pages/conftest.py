import os
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright

from tests.helpers import voter_id
from tests.servers import ROOT, Server, migrate, server_env
from tests.services import require_service

CHROMIUM = os.environ.get("NEXUS_CHROMIUM", "/usr/bin/chromium")
# As root, without a GPU, on a machine with no network but loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture(scope="package")
def site(tmp_path_factory):
    """`make run`'s configuration (SQLite, in-memory layer), production static files."""
    tmp = tmp_path_factory.mktemp("site")
    env = server_env(f"sqlite:///{tmp / 'db.sqlite3'}", None, NEXUS_GRAPHIQL="1")
    migrate(env)
    server = Server(env)
    yield server
    server.stop()


@pytest.fixture(scope="package")
def browser():
    """Package scope: Playwright's sync API keeps an event loop running in this
    thread, which the async tests elsewhere must not find."""
    require_service(Path(CHROMIUM).exists(), "Chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    yield context
    context.close()


@pytest.fixture
def fresh_phone(browser):
    """Another phone (a new browser context: no cookies, no storage) per call."""
    contexts = []

    def make():
        contexts.append(browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True))
        return contexts[-1].new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screen(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    yield context
    context.close()


class Account:
    """A signed-up user, usable through the API and in a browser."""

    def __init__(self, site: Server):
        self.site = site
        self.username = f"host{os.urandom(4).hex()}"
        self.password = "correct-horse-battery"
        response = httpx.post(
            f"{site.url}/api/auth/register/",
            json={"username": self.username, "password": self.password},
        )
        self.token = response.json()["token"]

    def api(self, method: str, path: str, **kwargs) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.site.url}{path}",
            headers={"Authorization": f"Token {self.token}"},
            **kwargs,
        )

    def poll(self, **body) -> dict:
        body = {"question": "Which colour?", "choices": ["Red", "Green", "Blue"]} | body
        response = self.api("POST", "/api/polls/", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def invites(self, poll: dict, count: int) -> list[dict]:
        """Mint invites of an invite poll: [{"token", "url"}]."""
        response = self.api("POST", f"/api/polls/{poll['id']}/invites/", json={"count": count})
        assert response.status_code == 201, response.text
        return response.json()["invites"]

    def revoke(self, poll: dict, token: str) -> None:
        response = self.api("DELETE", f"/api/polls/{poll['id']}/invites/{token}/")
        assert response.status_code == 204, response.text

    def sign_in(self, context) -> None:
        page = context.new_page()
        page.goto(f"{self.site.url}/accounts/login/")
        page.get_by_label("Username").fill(self.username)
        page.get_by_label("Password").fill(self.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/dashboard/")
        page.close()


@pytest.fixture
def host(site):
    return Account(site)


def vote_over_api(site: Server, poll: dict, choice: int, voter: str) -> int:
    response = httpx.post(
        f"{site.url}{poll['urls']['vote']}",
        json={"choices": [poll["choices"][choice]["id"]]},
        headers={"X-Voter-Id": voter_id(voter)},
    )
    return response.status_code


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
