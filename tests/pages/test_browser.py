"""The pages in a real browser (Debian's Chromium, headless) against a real server."""

import time

from playwright.sync_api import expect

from .conftest import shoot, vote_over_api

SECOND = 1000  # Playwright timeouts are in ms


def test_a_phone_vote_moves_the_presenter_screen_within_a_second(site, host, phone, screen):
    poll = host.poll(question="Which colour for the new logo?")
    present = screen.new_page()
    present.goto(f"{site.url}{poll['urls']['present']}")
    expect(present.locator("#join-code")).to_have_text(poll["id"])
    expect(present.locator(".qr")).to_be_visible()
    expect(present.locator("#status")).to_have_text("open")

    voter = phone.new_page()
    voter.goto(f"{site.url}{poll['urls']['page']}")
    voter.get_by_label("Green").check()
    with voter.expect_response(lambda r: r.url.endswith("/votes/")) as answer:
        voter.get_by_role("button", name="Vote").click()
    assert answer.value.status == 201
    voted_at = time.monotonic()
    expect(present.locator("#total")).to_have_text("1", timeout=SECOND)
    assert time.monotonic() - voted_at <= 1.0
    expect(present.locator("[data-choice] .count").nth(1)).to_have_text("1 · 100%")
    expect(voter.locator("#message")).to_have_text("Thank you — your vote is in.")
    expect(voter.locator("#results")).to_be_visible()
    present.wait_for_timeout(600)  # let the bar's animation finish for the picture
    shoot(present, "present")
    shoot(voter, "vote")


def test_the_voter_page_says_what_happened_in_plain_words(site, host, phone):
    poll = host.poll()
    page = phone.new_page()
    page.goto(f"{site.url}{poll['urls']['page']}")
    page.get_by_label("Red").check()
    page.get_by_role("button", name="Vote").click()
    expect(page.locator("#message")).to_have_text("Thank you — your vote is in.")
    page.reload()  # the cookie is the voter: the page remembers the ballot
    expect(page.locator("#message")).to_have_text("You have voted in this poll.")
    expect(page.get_by_label("Red")).to_be_checked()
    expect(page.get_by_role("button", name="Vote")).to_be_disabled()

    host.api("POST", f"/api/polls/{poll['id']}/close/")
    fresh = phone.browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    fresh.goto(f"{site.url}{poll['urls']['page']}")
    expect(fresh.locator("#message")).to_have_text(
        "This poll is closed, so votes are no longer taken."
    )
    fresh.context.close()


def test_a_voter_can_change_their_vote_with_the_keyboard_alone(site, host, phone):
    poll = host.poll(allow_vote_change=True)
    page = phone.new_page()
    page.goto(f"{site.url}{poll['urls']['page']}")
    page.get_by_label("Red").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    expect(page.locator("#message")).to_have_text("Thank you — your vote is in.")
    page.get_by_label("Blue").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Change my vote").press("Enter")
    expect(page.locator("#message")).to_have_text("Your vote has been changed.")
    results = host.api("GET", f"/api/polls/{poll['id']}/results/").json()
    assert [c["votes"] for c in results["choices"]] == [0, 0, 1]


def test_the_dashboard_shows_two_polls_moving(site, host, screen):
    first = host.poll(question="Lunch?", choices=["Pizza", "Sushi"])
    second = host.poll(question="Venue?", choices=["Hall A", "Hall B"])
    host.sign_in(screen)
    page = screen.new_page()
    page.goto(f"{site.url}/dashboard/")
    cards = {p["id"]: page.locator(f'article[data-poll="{p["id"]}"]') for p in (first, second)}
    for card in cards.values():
        expect(card.locator(".bars li")).to_have_count(2)
    for n in range(3):
        assert vote_over_api(site, first, 0, f"dash-a-{n:04}") == 201
    assert vote_over_api(site, second, 1, "dash-b-0001") == 201
    expect(cards[first["id"]].locator(".total")).to_have_text("3", timeout=2 * SECOND)
    expect(cards[second["id"]].locator(".total")).to_have_text("1", timeout=2 * SECOND)
    expect(cards[first["id"]].locator(".count").first).to_have_text("3 · 100%")
    page.wait_for_timeout(600)
    shoot(page, "dashboard")


def test_closing_from_the_dashboard_flips_the_presenter_to_closed(site, host, screen, browser):
    poll = host.poll()
    present = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    present.goto(f"{site.url}{poll['urls']['present']}")
    expect(present.locator("#status")).to_have_text("open")
    host.sign_in(screen)
    dashboard = screen.new_page()
    dashboard.goto(f"{site.url}/dashboard/")
    card = dashboard.locator(f'article[data-poll="{poll["id"]}"]')
    card.get_by_role("button", name=f"close “{poll['question']}”").click()
    expect(present.locator("#status")).to_have_text("closed", timeout=2 * SECOND)
    expect(card.locator(".status")).to_have_text("closed", timeout=2 * SECOND)
    present.context.close()


def test_hidden_results_stay_hidden_on_the_presenter_until_close(site, host, screen):
    poll = host.poll(results="after_close")
    host.sign_in(screen)  # even the owner's screen is a public screen
    present = screen.new_page()
    present.goto(f"{site.url}{poll['urls']['present']}")
    expect(present.locator("#hidden-note")).to_have_text("Results appear when the poll closes.")
    assert vote_over_api(site, poll, 2, "hidden-0001") == 201
    expect(present.locator("#total")).to_have_text("1", timeout=SECOND)
    expect(present.locator(".count").nth(2)).to_have_text("")  # counted, not shown
    host.api("POST", f"/api/polls/{poll['id']}/close/")
    expect(present.locator("#status")).to_have_text("closed", timeout=2 * SECOND)
    expect(present.locator("#hidden-note")).to_be_hidden()
    expect(present.locator(".count").nth(2)).to_have_text("1 · 100%")


def test_a_phone_shows_every_choice_without_horizontal_scrolling(site, host, phone):
    choices = [
        "Yes",
        "No",
        "A rather long answer that has to wrap on a narrow phone screen",
        "Supercalifragilisticexpialidocious-and-then-some-more-without-spaces",
        "Maybe",
        "Ask me later",
        "None of these",
        "All of these",
    ]
    poll = host.poll(choices=choices, kind="multiple", max_choices=3)
    page = phone.new_page()
    page.goto(f"{site.url}{poll['urls']['page']}")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    for text in choices:
        box = page.get_by_label(text, exact=True).locator("xpath=..").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, text
        assert box["height"] >= 44, f"tap target for {text!r} is too small"


def test_home_page_joins_by_code_and_creates_a_poll(site, host, screen):
    host.sign_in(screen)
    page = screen.new_page()
    page.goto(f"{site.url}/")
    page.get_by_label("Question").fill("Best talk today?")
    page.get_by_label("Choices, one per line").fill("Keynote\nLightning talks\n")
    page.get_by_role("button", name="Create and present").click()
    page.wait_for_url("**/present/")
    code = page.locator("#join-code").inner_text()
    other = screen.new_page()
    other.goto(f"{site.url}/")
    other.get_by_label("Join code").fill(code.lower())
    other.get_by_role("button", name="Join").click()
    expect(other.locator("#question")).to_have_text("Best talk today?")


def test_the_presenter_shows_reconnecting_and_recovers_by_itself(tmp_path, screen):
    """A server restart: the screen says so discreetly, then catches up unaided."""
    from tests.servers import Server, migrate, server_env

    env = server_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", None, DEBUG="1")
    migrate(env)
    server = Server(env)
    try:
        from .conftest import Account

        poll = Account(server).poll()
        present = screen.new_page()
        present.goto(f"{server.url}{poll['urls']['present']}")
        expect(present.locator("#status")).to_have_text("open")
        server.stop()
        expect(present.locator("#connection")).to_have_text("reconnecting…", timeout=5 * SECOND)
        server = Server(env, port=server.port)
        expect(present.locator("#connection")).to_be_hidden(timeout=10 * SECOND)
        assert vote_over_api(server, poll, 0, "back-0001") == 201
        expect(present.locator("#total")).to_have_text("1", timeout=SECOND)
    finally:
        server.stop()
