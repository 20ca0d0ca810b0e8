"""Every page through axe-core (tests/pages/axe, from the npm registry) in
Chromium, in English, German and Spanish: no serious or critical WCAG 2.1
A/AA violation."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.services import require_service

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
  });
  return {
    passes: result.passes.length,
    violations: result.violations.filter((v) => ["serious", "critical"].includes(v.impact))
      .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" "))})),
  };
}"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    require_service(AXE.exists(), "axe-core (npm ci --prefix tests/pages/axe)")
    return AXE.read_text()


def violations(page, axe_source: str) -> list[dict]:
    page.evaluate(axe_source)  # through the debugger, as a test tool: the page's CSP holds
    result = page.evaluate(RUN)
    assert result["passes"] >= 5, page.url  # axe ran its rules here
    return result["violations"]


def pages_of(site, host) -> dict[str, str]:
    """Every page, with a poll of each kind and an event."""
    polls = {
        "single": host.poll(),
        "rating": host.poll(kind="rating", choices=["Content", "Delivery"]),
        "ranking": host.poll(kind="ranking", choices=["Tacos", "Pizza", "Sushi"]),
        "text": host.poll(kind="text", question="One word for today?", choices=[]),
        "qa": host.poll(kind="qa", question="Questions for the panel", choices=[]),
        "invite": host.poll(eligibility="invite"),
    }
    event = host.api("POST", "/api/events/", json={"title": "All-hands"}).json()
    host.api("POST", f"/api/events/{event['id']}/current/", json={"poll": polls["single"]["id"]})
    host.api("PUT", f"/api/events/{event['id']}/polls/", json={"polls": [polls["single"]["id"]]})
    urls = {
        "home": "/",
        "sign in": "/accounts/login/",
        "sign up": "/accounts/signup/",
        "not found": "/p/NOPE42/",
        "dashboard": "/dashboard/",
        "event phone": event["urls"]["page"],
        "event projector": event["urls"]["present"],
        "event embed": event["urls"]["embed"],
        "invite sheet": f"/p/{polls['invite']['id']}/invites/sheet/",
    }
    for kind, poll in polls.items():
        urls[f"{kind} vote"] = poll["urls"]["page"]
        urls[f"{kind} projector"] = poll["urls"]["present"]
        urls[f"{kind} embed"] = poll["urls"]["embed"]
    return urls


def test_every_page_has_no_serious_accessibility_violation(site, host, screen, axe_source):
    """In each language: German and Spanish texts are longer, and a page's
    `lang` must say which one is read out."""
    host.sign_in(screen)  # the owner sees every control; the dashboard needs it
    page = screen.new_page()
    found = {}
    urls = pages_of(site, host)
    for language in ("en", "de", "es"):  # the switcher's cookie, as a visitor sets it
        screen.add_cookies([{"name": "django_language", "value": language, "url": site.url}])
        for name, url in urls.items():
            page.goto(f"{site.url}{url}")
            expect(page.locator("html")).to_have_attribute("lang", language)
            page.wait_for_load_state("networkidle")
            problems = violations(page, axe_source)
            if problems:
                found[f"{name} ({language})"] = problems
    assert found == {}


def test_axe_finds_what_it_should(site, screen, axe_source):
    """The check itself: an unlabelled field and an image without text fail."""
    page = screen.new_page()
    page.goto(f"{site.url}/")
    page.evaluate(
        """() => { document.body.insertAdjacentHTML('beforeend',
        '<input type="text"><img src="/favicon.ico">'); }"""
    )
    assert {v["id"] for v in violations(page, axe_source)} >= {"label", "image-alt"}
