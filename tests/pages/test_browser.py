"""The pages in a real browser (Debian's Chromium, headless) against a real server."""

import functools
import http.server
import threading
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.helpers import voter_id
from tests.servers import wait_for

from .conftest import shoot, vote_over_api

SECOND = 1000  # Playwright timeouts are in ms


@pytest.fixture
def projector(browser):
    """A 1080p projector."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    yield context
    context.close()


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


def test_a_signed_out_projector_counts_voters_while_results_are_hidden(site, host, screen):
    poll = host.poll(results="after_close")
    present = screen.new_page()  # signed out: the socket closes 4403 until the poll closes
    present.goto(f"{site.url}{poll['urls']['present']}")
    expect(present.locator("#hidden-note")).to_have_text("Results appear when the poll closes.")
    assert vote_over_api(site, poll, 2, "hidden-0001") == 201
    assert vote_over_api(site, poll, 0, "hidden-0002") == 201
    expect(present.locator("#total")).to_have_text("2", timeout=5 * SECOND)  # turnout, every 3 s
    expect(present.locator("#total-word")).to_have_text("votes")
    expect(present.locator(".count").nth(2)).to_have_text("")  # counted, not shown
    host.api("POST", f"/api/polls/{poll['id']}/close/")
    expect(present.locator(".count").nth(2)).to_have_text("1 · 50%", timeout=5 * SECOND)
    expect(present.locator("#status")).to_have_text("closed")


def in_view(page, selector: str) -> bool:
    return page.evaluate(
        """(selector) => { const r = document.querySelector(selector).getBoundingClientRect();
        return r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth; }""",
        selector,
    )


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720)], ids=["1080p", "720p"])
def test_a_long_poll_fits_the_projector_with_its_code_whole(site, host, browser, size):
    question = "Which of these proposals should the committee take up first next quarter, " * 3
    choices = [f"Proposal {n}: a longer description of what it would change" for n in range(8)]
    poll = host.poll(question=question.strip(), choices=choices)
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.goto(f"{site.url}{poll['urls']['present']}")
    expect(page.locator("#status")).to_have_text("open")
    assert page.evaluate("document.scrollingElement.scrollHeight") <= size[1]
    main = page.evaluate(
        "(() => { const m = document.querySelector('.stage-main');"
        " return [m.scrollHeight, m.clientHeight]; })()"
    )
    assert main[0] <= main[1], main  # nothing cut off below the bars
    for selector in ("#total", "#status", "#join-code", ".qr", "[data-choice]:last-child .count"):
        assert in_view(page, selector), selector
    # The widest letters still fit the panel, and the URL never breaks inside the code.
    page.evaluate("document.getElementById('join-code').textContent = 'MWMWMW'")
    code, panel = (page.locator(s).bounding_box() for s in ("#join-code", ".stage-side"))
    assert panel["x"] <= code["x"] and code["x"] + code["width"] <= panel["x"] + panel["width"]
    assert (
        page.evaluate("document.querySelector('.join-label .nowrap').getClientRects().length") == 1
    )
    expect(page.locator(".join-label .nowrap")).to_have_text(f"{poll['id']}/")
    shoot(page, f"present-long-{size[1]}p")
    context.close()


def test_a_draft_on_its_owner_s_screen_says_draft_and_opens_from_there(site, host, screen):
    poll = host.poll(status="draft")
    host.sign_in(screen)
    page = screen.new_page()
    page.goto(f"{site.url}{poll['urls']['present']}")
    expect(page.locator("#status")).to_have_text("draft")
    expect(page.locator("#draft")).to_contain_text("voters cannot open it yet")
    expect(page.locator(".qr")).to_be_hidden()  # no QR code that leads to a 404
    page.get_by_role("button", name="Open the poll").click()
    expect(page.locator("#status")).to_have_text("open", timeout=SECOND)
    expect(page.locator(".qr")).to_be_visible()
    expect(page.locator("#draft")).to_be_hidden()
    assert httpx.get(f"{site.url}{poll['urls']['page']}").status_code == 200


def status_pill_contrast(page) -> float:
    return page.evaluate(
        """() => {
        const lum = (c) => { const [r, g, b] = c.match(/\\d+/g).slice(0, 3).map((v) => {
          v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
          return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const s = getComputedStyle(document.getElementById("status"));
        const [a, b] = [lum(s.color), lum(s.backgroundColor)].sort((x, y) => y - x);
        return (a + 0.05) / (b + 0.05); }"""
    )


def test_status_pills_meet_wcag_aa_contrast(site, host, screen):
    poll = host.poll()
    page = screen.new_page()
    page.goto(f"{site.url}{poll['urls']['present']}")
    expect(page.locator("#status")).to_have_text("open")
    assert status_pill_contrast(page) >= 4.5
    host.api("POST", f"/api/polls/{poll['id']}/close/")
    expect(page.locator("#status")).to_have_text("closed", timeout=2 * SECOND)
    assert status_pill_contrast(page) >= 4.5


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
    page.get_by_label("Question", exact=True).fill("Best talk today?")
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


def is_vote(response) -> bool:
    return response.url.endswith("/votes/") and response.request.method == "POST"


def test_a_passcode_poll_says_a_wrong_passcode_is_wrong_and_takes_the_right_one(site, host, phone):
    poll = host.poll(eligibility="passcode", passcode="tulip-42")
    page = phone.new_page()
    page.goto(f"{site.url}{poll['urls']['page']}")
    passcode = page.get_by_label("Passcode", exact=True)
    page.get_by_label("Green").check()
    passcode.fill("tulip-41")
    with page.expect_response(is_vote) as answer:
        page.get_by_role("button", name="Vote").click()
    assert answer.value.status == 403
    expect(page.locator("#message")).to_have_text(
        "That passcode is not right. Check it and try again."
    )
    expect(passcode).to_be_focused()
    expect(passcode).to_have_value("tulip-41")
    passcode.fill("tulip-42")
    with page.expect_response(is_vote) as answer:
        passcode.press("Enter")
    assert answer.value.status == 201
    expect(page.locator("#message")).to_have_text("Thank you — your vote is in.")
    page.reload()  # the tab remembers the right passcode
    expect(page.locator("#message")).to_have_text("You have voted in this poll.")
    expect(passcode).to_have_value("tulip-42")
    results = host.api("GET", f"/api/polls/{poll['id']}/results/").json()
    assert [c["votes"] for c in results["choices"]] == [0, 1, 0]


def test_an_invite_link_votes_once_and_a_revoked_one_is_refused(site, host, fresh_phone):
    poll = host.poll(eligibility="invite", results="after_vote")
    mine, revoked = host.invites(poll, 2)
    host.revoke(poll, revoked["token"])
    page_url = f"{site.url}{poll['urls']['page']}"

    stranger = fresh_phone()
    stranger.goto(page_url)
    expect(stranger.locator("#invite-needed")).to_have_text(
        "This poll is for invited people only. Open it with the personal link"
        " you got from the organiser."
    )
    expect(stranger.get_by_role("button", name="Vote")).to_be_hidden()

    page = fresh_phone()
    page.goto(mine["url"])
    expect(page).to_have_url(page_url)  # the token is out of the address bar
    page.get_by_label("Blue").check()
    with page.expect_response(is_vote) as answer:
        page.get_by_role("button", name="Vote").click()
    assert answer.value.status == 201
    expect(page.locator("#message")).to_have_text("Thank you — your vote is in.")
    expect(page.locator("#total")).to_have_text("(1 vote)")  # after_vote: the socket knows

    again = fresh_phone()  # the same link on another phone
    again.goto(mine["url"])
    expect(again.locator("#message")).to_have_text("You have voted in this poll.")
    expect(again.get_by_label("Blue")).to_be_checked()
    expect(again.get_by_role("button", name="Vote")).to_be_disabled()

    refused = fresh_phone()
    refused.goto(revoked["url"])
    refused.get_by_label("Red").check()
    with refused.expect_response(is_vote) as answer:
        refused.get_by_role("button", name="Vote").click()
    assert answer.value.status == 403
    expect(refused.locator("#message")).to_have_text(
        "This invitation is not valid for this poll. Ask the organiser for your personal link."
    )
    results = host.api("GET", f"/api/polls/{poll['id']}/results/").json()
    assert [c["votes"] for c in results["choices"]] == [0, 0, 1]


@pytest.mark.parametrize(
    "cookie",
    [
        pytest.param("phone-0001", id="v1-cookie"),
        pytest.param(voter_id("mallory")[:-4] + "AAAA", id="forged-signature"),
    ],
)
def test_a_voter_with_a_stale_cookie_still_votes(site, host, phone, cookie):
    poll = host.poll()
    phone.add_cookies([{"name": "nexus_voter", "value": cookie, "url": site.url}])
    page = phone.new_page()
    page.goto(f"{site.url}{poll['urls']['page']}")
    page.get_by_label("Red").check()
    # The page renews the id when it loads (votes/mine/ answers
    # invalid_voter_id) or, if the tap comes first, on the vote's 400 and
    # retries once: either way the answer that counts is the last one.
    with page.expect_response(lambda r: is_vote(r) and r.status != 400) as answer:
        page.get_by_role("button", name="Vote").click()
    assert answer.value.status == 201
    expect(page.locator("#message")).to_have_text("Thank you — your vote is in.")
    fresh = next(c["value"] for c in phone.cookies() if c["name"] == "nexus_voter")
    assert fresh != cookie and answer.value.json()["choices"] == [poll["choices"][0]["id"]]
    results = host.api("GET", f"/api/polls/{poll['id']}/results/").json()
    assert [c["votes"] for c in results["choices"]] == [1, 0, 0]


def test_the_create_form_makes_a_passcode_poll_with_a_network_cap(site, host, screen):
    host.sign_in(screen)
    page = screen.new_page()
    page.goto(f"{site.url}/")
    page.get_by_label("Question", exact=True).fill("Team offsite?")
    page.get_by_label("Choices, one per line").fill("Mountains\nSeaside")
    expect(page.get_by_label("Passcode", exact=True)).to_be_hidden()
    page.get_by_label("anyone with a passcode").check()
    page.get_by_label("Passcode", exact=True).fill("open-sesame")
    page.get_by_label("Max votes from one network").fill("0")
    page.get_by_label("ask each new voter's browser for proof of work").check()
    page.get_by_role("button", name="Create and present").click()
    page.wait_for_url("**/present/")
    code = page.locator("#join-code").inner_text()
    poll = host.api("GET", f"/api/polls/{code}/").json()
    assert (
        poll["eligibility"],
        poll["has_passcode"],
        poll["max_ballots_per_address"],
        poll["challenge"],
    ) == ("passcode", True, 0, "pow")


def test_the_dashboard_makes_invites_for_the_csv_and_the_printable_sheet(site, host, screen):
    poll = host.poll(question="Board election?", eligibility="invite")
    host.sign_in(screen)
    page = screen.new_page()
    page.goto(f"{site.url}/dashboard/")
    card = page.locator(f'article[data-poll="{poll["id"]}"]')
    counts = card.locator(".invite-counts")
    expect(counts).to_have_text("0 issued · 0 used")
    card.get_by_label("How many invites to create for “Board election?”").fill("3")
    card.get_by_role("button", name="Create invites for “Board election?”").click()
    expect(counts).to_have_text("3 issued · 0 used")

    with page.expect_download() as download:
        card.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename == f"nexus-{poll['id']}-invites.csv"
    rows = Path(download.value.path()).read_text().splitlines()
    assert rows[0] == "token,url" and len(rows) == 4
    token, url = rows[1].split(",")
    assert url == f"{site.url}{poll['urls']['page']}?invite={token}"
    voted = httpx.post(
        f"{site.url}{poll['urls']['vote']}",
        json={"choices": [poll["choices"][0]["id"]]},
        headers={"X-Voter-Id": token},
    )
    assert voted.status_code == 201
    expect(counts).to_have_text("3 issued · 1 used", timeout=3 * SECOND)

    card.get_by_role("link", name="Printable sheet of QR codes").click()
    page.wait_for_url(f"**/p/{poll['id']}/invites/sheet/")
    expect(page.locator(".invite-card svg")).to_have_count(2)  # the unused ones
    expect(page.locator(".invite-label")).to_have_text(["Invite 1", "Invite 2"])
    shoot(page, "invite-sheet")


def test_no_page_loads_anything_from_another_host(site, host, screen):
    """The network cut at the server's edge: every page, GraphiQL included,
    still works, and nothing tried to leave. A first visit to a voter page
    asks nothing that answers 404 (the ballot comes with the page)."""
    poll = host.poll()
    host.sign_in(screen)
    foreign, failed = [], []

    def only_the_site(route):
        if route.request.url.startswith(site.url):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    screen.route("**/*", only_the_site)
    page = screen.new_page()
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    for path, ready in [
        ("/", "#create"),
        (f"/p/{poll['id']}/", "#ballot"),
        (f"/p/{poll['id']}/present/", "#bars li"),
        ("/dashboard/", f"article[data-poll='{poll['id']}'] .bars li"),
        ("/accounts/signup/", "#id_email"),
    ]:
        page.goto(f"{site.url}{path}")
        page.wait_for_selector(ready, timeout=10_000)
    page.goto(f"{site.url}/graphql/")
    page.wait_for_selector(".graphiql-editor", timeout=15_000)  # GraphiQL rendered
    page.goto(f"{site.url}/p/NOPE42/")
    page.wait_for_selector("#not-found input[name=code]")
    assert foreign == []
    assert failed == [f"404 {site.url}/p/NOPE42/"]


def test_the_presenter_presses_next_and_two_phones_follow_within_a_second(
    site, host, projector, fresh_phone
):
    event = host.api("POST", "/api/events/", json={"title": "All-hands"}).json()
    first = host.poll(question="First question?", event=event["id"])
    second = host.poll(question="Second question?", event=event["id"])
    host.api("POST", f"/api/events/{event['id']}/current/", json={"poll": first["id"]})
    host.sign_in(projector)
    projector = projector.new_page()
    projector.goto(f"{site.url}/e/{event['id']}/present/")
    expect(projector.frame_locator("#current-poll").locator("#question")).to_have_text(
        "First question?", timeout=5 * SECOND
    )
    expect(projector.locator("#preview")).to_have_text("Next: Second question?")  # owner only
    phones = [fresh_phone(), fresh_phone()]
    for phone in phones:
        phone.goto(f"{site.url}/e/{event['id']}/")
        expect(phone.frame_locator("#current-poll").locator("#question")).to_have_text(
            "First question?", timeout=5 * SECOND
        )
    audience = phones[0].context.new_page()  # the projector's page, signed out
    audience.goto(f"{site.url}/e/{event['id']}/present/")
    expect(audience.locator("#join-code")).to_have_text(event["id"])
    assert audience.locator("#preview").count() == 0 and audience.locator("#next").count() == 0
    projector.locator("body").press("ArrowRight")
    for phone in phones:
        expect(phone.frame_locator("#current-poll").locator("#question")).to_have_text(
            "Second question?", timeout=SECOND
        )
    expect(projector.frame_locator("#current-poll").locator("#question")).to_have_text(
        "Second question?", timeout=SECOND
    )
    expect(projector.locator("#position")).to_have_text("2 / 2")
    expect(projector.locator("#preview")).to_be_hidden()  # nothing after the last one
    assert host.api("GET", f"/api/events/{event['id']}/").json()["current"] == second["id"]
    shoot(projector, "event-present")
    shoot(phones[0], "event-phone")


def test_the_presenter_s_keys_close_veil_and_count_down_and_phones_say_closed(
    site, host, screen, fresh_phone
):
    event = host.api("POST", "/api/events/", json={"title": "Keys"}).json()
    first = host.poll(question="Close me?", event=event["id"])
    second = host.poll(question="Count me down?", event=event["id"])
    host.api("POST", f"/api/events/{event['id']}/current/", json={"poll": first["id"]})
    host.sign_in(screen)
    projector = screen.new_page()
    projector.goto(f"{site.url}/e/{event['id']}/present/?countdown=2")
    stage = projector.frame_locator("#current-poll")
    expect(stage.locator("#question")).to_have_text("Close me?", timeout=5 * SECOND)
    phones = [fresh_phone(), fresh_phone()]
    for phone in phones:
        phone.goto(f"{site.url}/e/{event['id']}/")
        expect(phone.frame_locator("#current-poll").locator("#question")).to_have_text(
            "Close me?", timeout=5 * SECOND
        )

    projector.locator("body").press("r")  # results hidden on the projector only
    expect(stage.locator("#bars")).to_be_hidden()
    expect(projector.locator("#results-toggle")).to_have_attribute("aria-pressed", "true")
    projector.locator("body").press("r")
    expect(stage.locator("#bars")).to_be_visible()

    projector.locator("body").press("c")
    expect(stage.locator("#status")).to_have_text("closed", timeout=SECOND)
    for phone in phones:
        expect(phone.frame_locator("#current-poll").locator("#message")).to_have_text(
            "This poll is closed, so votes are no longer taken.", timeout=SECOND
        )
    expect(projector.locator("#open-close")).to_have_text("Open")

    projector.locator("body").press("ArrowRight")
    expect(stage.locator("#question")).to_have_text("Count me down?", timeout=SECOND)
    projector.locator("body").press("t")
    expect(projector.locator("#countdown-left")).to_contain_text("Closes in", timeout=SECOND)
    for phone in phones:  # the countdown ran out: closed by the server, on every phone
        expect(phone.frame_locator("#current-poll").locator("#message")).to_have_text(
            "This poll is closed, so votes are no longer taken.", timeout=5 * SECOND
        )
    assert host.api("GET", f"/api/polls/{second['id']}/").json()["status"] == "closed"


def test_the_dashboard_builds_an_event_and_orders_its_polls(site, host, screen):
    host.sign_in(screen)
    page = screen.new_page()
    page.goto(f"{site.url}/dashboard/")
    page.get_by_label("Event title").fill("Quarterly review")
    page.get_by_role("button", name="New event").click()
    card = page.locator("article.event-card", has_text="Quarterly review")
    expect(card).to_be_visible()
    code = card.locator(".code").inner_text()
    for question in ("Budget?", "Hiring?"):
        card.locator("a.add").click()
        page.wait_for_url(f"**/?event={code}")
        page.get_by_label("Question", exact=True).fill(question)
        page.get_by_label("Choices, one per line").fill("Yes\nNo")
        expect(page.get_by_label("Part of the event")).to_have_value(code)
        page.get_by_role("button", name="Create and present").click()
        page.wait_for_url("**/dashboard/")
        card = page.locator("article.event-card", has_text="Quarterly review")
    items = card.locator(".event-polls li")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Budget?")
    card.get_by_role("button", name="Move “Hiring?” up").click()
    expect(items.first).to_contain_text("Hiring?")
    card.get_by_role("button", name="Remove “Budget?” from the event").click()
    expect(items).to_have_count(1)
    event = host.api("GET", f"/api/events/{code}/").json()
    assert len(event["polls"]) == 1
    assert card.locator("a.present").get_attribute("href") == f"/e/{code}/present/"
    # The event's embed: its snippet, and the sites that may frame it.
    card.locator(".embed summary").click()
    snippet = card.locator(".embed-snippet").input_value()
    assert f'src="{site.url}/e/{code}/embed/"' in snippet
    card.get_by_label("Sites that may show it").fill("https://intranet.example.org")
    card.get_by_role("button", name="Save sites").click()
    expect(card.locator(".embed-saved")).to_have_text("Saved.")
    event = host.api("GET", f"/api/events/{code}/").json()
    assert event["embed_origins"] == ["https://intranet.example.org"]
    card.get_by_label("Sites that may show it").fill("https://intranet.example.org/page")
    card.get_by_role("button", name="Save sites").click()
    expect(card.locator(".embed-error")).to_contain_text("https://blog.example.org")
    card.locator(".embed summary").click()
    shoot(page, "dashboard-events")


def test_a_rating_vote_by_keyboard_alone_shows_on_the_projector_within_a_second(
    site, host, phone, projector
):
    poll = host.poll(
        question="How was the talk?",
        kind="rating",
        choices=["Content", "Delivery", "Slides"],
        scale={"min": 1, "max": 5},
    )
    screen = projector.new_page()
    screen.goto(f"{site.url}{poll['urls']['present']}")
    expect(screen.locator("#status")).to_have_text("open")
    page = phone.new_page()
    page.goto(f"{site.url}{poll['urls']['page']}")
    # A radio group per item: Tab reaches it, arrows choose the score.
    content = page.get_by_role("group", name="Content")
    content.get_by_role("radio").first.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")  # 1 -> 4
    expect(content.get_by_role("radio", name="4 of 5")).to_be_checked()
    page.keyboard.press("Tab")  # to Content's "clear"
    page.keyboard.press("Tab")  # to the next item's group
    page.keyboard.press("ArrowRight")  # 1 -> 2 (the first arrow checks and moves)
    page.keyboard.press("ArrowLeft")  # back to 1
    expect(
        page.get_by_role("group", name="Delivery").get_by_role("radio", name="1 of 5")
    ).to_be_checked()
    slides = page.get_by_role("group", name="Slides")
    slides.get_by_role("radio", name="3 of 5").check()  # then thought better of it:
    page.get_by_role("button", name="Clear the rating of Slides").press("Enter")
    expect(slides.get_by_role("radio", name="3 of 5")).not_to_be_checked()
    page.get_by_role("button", name="Vote").focus()
    with page.expect_response(lambda r: r.url.endswith("/votes/")) as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 201
    assert answer.value.json()["ratings"] == {
        str(poll["choices"][0]["id"]): 4,
        str(poll["choices"][1]["id"]): 1,
    }
    voted_at = time.monotonic()
    expect(screen.locator("#total")).to_have_text("1", timeout=SECOND)
    assert time.monotonic() - voted_at <= 1.0
    rows = screen.locator("#bars [data-choice] .count")
    expect(rows.nth(0)).to_have_text("4.0 / 5 · 1 rating")
    expect(rows.nth(1)).to_have_text("1.0 / 5 · 1 rating")
    expect(rows.nth(2)).to_have_text("no ratings")
    assert screen.locator("#bars li").nth(0).locator(".spread > span").count() == 5
    expect(page.locator("#message")).to_have_text("Thank you — your vote is in.")
    page.reload()  # the page shows the ballot it came with
    expect(
        page.get_by_role("group", name="Content").get_by_role("radio", name="4 of 5")
    ).to_be_checked()
    screen.wait_for_timeout(600)  # the bars' animation, for the picture
    shoot(screen, "rating-present")
    shoot(page, "rating-vote")


def test_a_ranking_vote_by_keyboard_alone_shows_on_the_projector_within_a_second(
    site, host, phone, projector
):
    poll = host.poll(
        question="Where do we eat?", kind="ranking", choices=["Pizza", "Sushi", "Tacos"]
    )
    pizza, sushi, tacos = (c["id"] for c in poll["choices"])
    screen = projector.new_page()
    screen.goto(f"{site.url}{poll['urls']['present']}")
    expect(screen.locator("#status")).to_have_text("open")
    page = phone.new_page()
    page.goto(f"{site.url}{poll['urls']['page']}")
    # Tacos to the top by keyboard: focus its "up" button, press Enter twice.
    up = page.get_by_role("button", name="Move Tacos up")
    up.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(page.locator("#ranking-said")).to_have_text("Tacos: 1 of 3.")
    expect(page.locator("#ranking .text")).to_have_text(["Tacos", "Pizza", "Sushi"])
    page.get_by_role("button", name="Move Pizza down").focus()
    page.keyboard.press("Space")
    expect(page.locator("#ranking .text")).to_have_text(["Tacos", "Sushi", "Pizza"])
    page.get_by_role("button", name="Vote").focus()
    with page.expect_response(lambda r: r.url.endswith("/votes/")) as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 201
    assert answer.value.json()["ranking"] == [tacos, sushi, pizza]
    voted_at = time.monotonic()
    expect(screen.locator("#total")).to_have_text("1", timeout=SECOND)
    assert time.monotonic() - voted_at <= 1.0
    rows = screen.locator("#bars [data-choice] .count")
    expect(rows).to_have_text(["0 points · 0 first", "1 point · 0 first", "2 points · 1 first"])
    expect(screen.locator("#runoff .winner")).to_have_text("Winner: Tacos", timeout=3 * SECOND)
    expect(screen.locator("#runoff .rounds li")).to_have_text(
        ["Round 1: Tacos 1 · Pizza 0 · Sushi 0"]
    )
    page.reload()
    expect(page.locator("#ranking .text")).to_have_text(["Tacos", "Sushi", "Pizza"])
    # A second phone drags Sushi to the top (drag and drop, the pointer's way).
    other = phone.browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    other.goto(f"{site.url}{poll['urls']['page']}")
    other.locator("#ranking li", has_text="Sushi").drag_to(
        other.locator("#ranking li", has_text="Pizza"), target_position={"x": 20, "y": 2}
    )
    expect(other.locator("#ranking .text")).to_have_text(["Sushi", "Pizza", "Tacos"])
    other.get_by_role("button", name="Vote").click()
    expect(screen.locator("#total")).to_have_text("2", timeout=SECOND)
    other.context.close()
    screen.wait_for_timeout(1500)  # the rounds' animation, for the picture
    shoot(screen, "ranking-present")
    shoot(page, "ranking-vote")


def test_the_dashboard_is_a_tool_for_fifteen_polls(site, host, screen):
    polls = [host.poll(question=f"Question {n:02}?") for n in range(14)]
    needle = host.poll(question="Where is the needle?", choices=["Hay", "Stack"])
    host.sign_in(screen)
    page = screen.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{site.url}/dashboard/")
    expect(page.locator("#page-info")).to_have_text("Polls 1–12 of 15")
    expect(page.locator(".poll-card")).to_have_count(12)
    page.get_by_role("button", name="Next →").click()
    expect(page.locator("#page-info")).to_have_text("Polls 13–15 of 15")
    expect(page.locator(".poll-card")).to_have_count(3)
    assert polls[0]["id"] in page.locator(".poll-card .code").all_text_contents()

    page.get_by_label("Search your polls").fill("needle")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator(".poll-card")).to_have_count(1)
    card = page.locator(f'article[data-poll="{needle["id"]}"]')
    expect(card.locator(".code")).to_have_text(needle["id"])  # the join code, on the card
    # An open poll offers Close, not Open; with no votes, no Reset.
    expect(card.get_by_role("button", name="Close “Where is the needle?”")).to_be_visible()
    expect(card.get_by_role("button", name="Open “Where is the needle?”")).to_be_hidden()
    expect(card.get_by_role("button", name="Reset “Where is the needle?”")).to_be_hidden()
    assert vote_over_api(site, needle, 0, "dash-needle-1") == 201
    expect(card.get_by_role("button", name="Reset “Where is the needle?”")).to_be_visible(
        timeout=2 * SECOND
    )
    card.get_by_role("button", name="Close “Where is the needle?”").click()
    expect(card.get_by_role("button", name="Open “Where is the needle?”")).to_be_visible(
        timeout=2 * SECOND
    )

    card.get_by_role("button", name="Edit “Where is the needle?”").click()
    card.get_by_label("Question", exact=True).fill("Where did the needle go?")
    card.get_by_role("button", name="Save").click()
    card = page.locator(f'article[data-poll="{needle["id"]}"]')
    expect(card.locator(".q")).to_have_text("Where did the needle go?")
    assert host.api("GET", f"/api/polls/{needle['id']}/").json()["question"] == (
        "Where did the needle go?"
    )

    card.get_by_role("button", name="Duplicate “Where did the needle go?”").click()
    expect(page.locator(".poll-card")).to_have_count(2)
    copy = page.locator(".poll-card").first
    expect(copy.locator(".q")).to_have_text("Where did the needle go?")
    expect(copy.locator(".status")).to_have_text("draft")
    expect(copy.locator(".bars li")).to_have_count(2)

    with page.expect_download() as download:
        card.get_by_role("button", name="Export CSV “Where did the needle go?”").click()
    text = Path(download.value.path()).read_text()
    assert "Where did the needle go?" in text and "Hay,1,1.0" in text

    card.get_by_role("button", name="Delete “Where did the needle go?”").click()
    expect(page.locator(f'article[data-poll="{needle["id"]}"]')).to_have_count(0)
    assert host.api("GET", f"/api/polls/{needle['id']}/").status_code == 404


def test_answers_from_two_phones_grow_the_projector_s_word_cloud_within_a_second(
    site, host, projector, fresh_phone
):
    poll = host.poll(question="One word for this talk?", kind="text", choices=[])
    screen = projector.new_page()
    screen.goto(f"{site.url}{poll['urls']['present']}")
    expect(screen.locator("#status")).to_have_text("open")
    phones = [fresh_phone(), fresh_phone()]
    for phone, text in zip(phones, ("Inspiring demo", "Great demo!"), strict=True):
        phone.goto(f"{site.url}{poll['urls']['page']}")
        phone.get_by_label("Your answer").fill(text)
        with phone.expect_response(lambda r: r.url.endswith("/votes/")) as answer:
            phone.get_by_role("button", name="Send").click()
        assert answer.value.status == 201
        sent = time.monotonic()
        expect(phone.locator("#message")).to_have_text("Thank you — your answer is in.")
        word = text.split()[0].casefold()
        expect(screen.locator(f'#cloud text[data-word="{word}"]')).to_have_count(1, timeout=SECOND)
        assert time.monotonic() - sent <= 1.0
    expect(screen.locator('#cloud text[data-word="demo"]')).to_have_attribute("data-count", "2")
    expect(screen.locator("#total")).to_have_text("2")
    screen.locator("body").press("l")  # the list view
    expect(screen.locator("#answers li")).to_have_text(["Great demo!", "Inspiring demo"])

    # An offensive answer is refused on the phone and never reaches the screen.
    rude = fresh_phone()
    rude.goto(f"{site.url}{poll['urls']['page']}")
    rude.get_by_label("Your answer").fill("what a load of shit")
    rude.get_by_role("button", name="Send").click()
    expect(rude.locator("#message")).to_contain_text("Please say it another way")
    expect(screen.locator("#total")).to_have_text("2")
    assert screen.locator('#cloud text[data-word="shit"]').count() == 0
    screen.wait_for_timeout(800)  # the words' glide, for the picture
    screen.locator("body").press("l")
    shoot(screen, "text-present")
    shoot(phones[1], "text-vote")


def test_a_pre_moderated_answer_reaches_the_projector_only_once_approved(
    site, host, projector, fresh_phone
):
    poll = host.poll(question="Questions for the panel?", kind="text", choices=[], moderation="pre")
    screen = projector.new_page()
    screen.goto(f"{site.url}{poll['urls']['present']}")
    expect(screen.locator("#status")).to_have_text("open")
    phone = fresh_phone()
    phone.goto(f"{site.url}{poll['urls']['page']}")
    phone.get_by_label("Your answer").fill("Roadmap please")
    phone.get_by_role("button", name="Send").click()
    expect(phone.locator("#message")).to_have_text(
        "Thanks — your answer shows once the organiser has read it."
    )
    expect(screen.locator("#total")).to_have_text("1", timeout=SECOND)  # counted, not shown
    assert screen.locator("#cloud text").count() == 0
    pending = host.api("GET", f"/api/polls/{poll['id']}/answers/?state=pending").json()
    answer_id = pending["results"][0]["id"]
    host.api("POST", f"/api/polls/{poll['id']}/answers/{answer_id}/show/")
    expect(screen.locator('#cloud text[data-word="roadmap"]')).to_have_count(1, timeout=SECOND)


def test_the_dashboard_s_queue_gets_answers_live_and_a_key_approves_one(
    site, host, screen, projector, fresh_phone
):
    poll = host.poll(question="Ask the panel", kind="text", choices=[], moderation="pre")
    room = projector.new_page()
    room.goto(f"{site.url}{poll['urls']['present']}")
    host.sign_in(screen)
    dashboard = screen.new_page()
    dashboard.goto(f"{site.url}/dashboard/")
    card = dashboard.locator(f'article[data-poll="{poll["id"]}"]')
    expect(card.locator(".waiting")).to_have_text("0")
    phones = [fresh_phone(), fresh_phone()]
    for phone, text in zip(phones, ("Roadmap please", "Pricing details"), strict=True):
        phone.goto(f"{site.url}{poll['urls']['page']}")
        phone.get_by_label("Your answer").fill(text)
        phone.get_by_role("button", name="Send").click()
        expect(phone.locator("#message")).to_contain_text("once the organiser has read it")
    # They arrive without a reload, oldest first.
    expect(card.locator(".pending li .text")).to_have_text(
        ["Roadmap please", "Pricing details"], timeout=2 * SECOND
    )
    assert room.locator("#cloud text").count() == 0
    card.locator(".pending li").first.focus()
    dashboard.keyboard.press("a")
    approved = time.monotonic()
    expect(room.locator('#cloud text[data-word="roadmap"]')).to_have_count(1, timeout=SECOND)
    assert time.monotonic() - approved <= 1.0
    dashboard.keyboard.press("h")  # focus moved on to the next: hidden
    expect(card.locator(".pending li")).to_have_count(0, timeout=SECOND)
    expect(card.locator(".waiting")).to_have_text("0")
    pending = host.api("GET", f"/api/polls/{poll['id']}/answers/?state=hidden").json()
    assert [a["text"] for a in pending["results"]] == ["Pricing details"]
    assert room.locator('#cloud text[data-word="pricing"]').count() == 0


def test_a_question_upvoted_by_three_phones_rises_to_the_top_of_the_projector(
    site, host, projector, fresh_phone
):
    poll = host.poll(question="Ask the speaker", kind="qa", choices=[])
    screen = projector.new_page()
    screen.goto(f"{site.url}{poll['urls']['present']}")
    expect(screen.locator("#status")).to_have_text("open")
    asker = fresh_phone()
    asker.goto(f"{site.url}{poll['urls']['page']}")
    for text in ("Will the slides be shared?", "Is this recorded?"):
        asker.get_by_label("Your question").fill(text)
        with asker.expect_response(lambda r: r.url.endswith("/questions/")) as asked:
            asker.get_by_role("button", name="Ask").click()
        assert asked.value.status == 201
        expect(asker.locator("#message")).to_have_text("Thank you — your question is in.")
    rows = screen.locator("#questions li .text")
    expect(rows).to_have_text(["Will the slides be shared?", "Is this recorded?"], timeout=SECOND)
    for n in range(1, 4):
        phone = fresh_phone()
        phone.goto(f"{site.url}{poll['urls']['page']}")
        upvote = phone.get_by_role("button", name="Upvote: Is this recorded?")
        with phone.expect_response(lambda r: r.url.endswith("/upvote/")) as voted:
            upvote.click()
        assert voted.value.status == 200
        sent = time.monotonic()
        row = screen.locator('#questions li:has-text("Is this recorded?") .votes')
        expect(row).to_have_text(str(n), timeout=SECOND)
        assert time.monotonic() - sent <= 1.0
        expect(phone.locator("#questions button[aria-pressed=true]")).to_have_count(1)
        if n == 1:  # taken back and given again: still one upvote from this phone
            phone.get_by_role("button", name="Take back your upvote of: Is this recorded?").click()
            expect(row).to_have_text("0", timeout=SECOND)
            phone.get_by_role("button", name="Upvote: Is this recorded?").click()
            expect(row).to_have_text("1", timeout=SECOND)
    expect(rows).to_have_text(["Is this recorded?", "Will the slides be shared?"])
    expect(screen.locator("#total")).to_have_text("2")

    # An offensive question is refused on the phone and never reaches the screen.
    asker.get_by_label("Your question").fill("what the fuck is this")
    asker.get_by_role("button", name="Ask").click()
    expect(asker.locator("#message")).to_contain_text("Please say it another way")
    expect(rows).to_have_count(2)
    screen.wait_for_timeout(700)  # the rows' glide, for the picture
    shoot(screen, "qa-present")
    shoot(asker, "qa-vote")


def test_the_owner_pins_answers_and_hides_from_the_projector_and_pending_waits(
    site, host, projector, fresh_phone
):
    poll = host.poll(question="Panel Q&A", kind="qa", choices=[], moderation="pre")
    host.sign_in(projector)
    screen = projector.new_page()
    screen.goto(f"{site.url}{poll['urls']['present']}")
    expect(screen.locator("#status")).to_have_text("open")
    phone = fresh_phone()
    phone.goto(f"{site.url}{poll['urls']['page']}")
    for text in ("Roadmap for 2027?", "Pricing details?"):
        phone.get_by_label("Your question").fill(text)
        phone.get_by_role("button", name="Ask").click()
        expect(phone.locator("#message")).to_contain_text("once the organiser has read it")
    # Pending: on the asker's own page, not on the projector.
    expect(phone.locator("#mine li")).to_have_text(["Pricing details?", "Roadmap for 2027?"])
    expect(screen.locator("#questions li")).to_have_count(0)
    pending = host.api("GET", f"/api/polls/{poll['id']}/questions/?state=pending").json()
    ids = {q["text"]: q["id"] for q in pending["results"]}
    for text in ids:
        host.api("POST", f"/api/polls/{poll['id']}/questions/{ids[text]}/show/")
    rows = screen.locator("#questions li")
    expect(rows).to_have_count(2, timeout=SECOND)
    expect(phone.locator("#mine")).to_be_hidden(timeout=SECOND)  # shown now: in the room's list
    expect(phone.locator("#questions li")).to_have_count(2)
    second = screen.locator('#questions li:has-text("Pricing details?")')
    second.focus()
    screen.keyboard.press("p")
    expect(rows.first).to_contain_text("Now answering", timeout=SECOND)
    expect(rows.first.locator(".text")).to_have_text("Pricing details?")
    expect(phone.locator("#questions li").first).to_contain_text("Now answering", timeout=SECOND)
    second.focus()
    screen.keyboard.press("a")
    expect(rows.last).to_contain_text("Answered", timeout=SECOND)
    expect(rows.last).to_have_class("answered")
    first = screen.locator('#questions li:has-text("Roadmap for 2027?")')
    first.get_by_role("button", name="Hide").click()
    expect(rows).to_have_count(1, timeout=SECOND)
    expect(phone.locator("#questions li")).to_have_count(1, timeout=SECOND)
    assert "Roadmap" not in phone.locator("#questions").inner_text()


def test_a_pow_poll_is_solved_before_the_tap_and_each_proof_buys_one_vote(site, host, fresh_phone):
    poll = host.poll(challenge="pow")
    phones = [fresh_phone(), fresh_phone()]
    for phone in phones:
        phone.goto(f"{site.url}{poll['urls']['page']}")
    sent = []
    for phone, colour in zip(phones, ("Green", "Blue"), strict=True):
        # Solved in a worker as the page opens, without a click.
        expect(phone.locator("#ballot")).to_have_attribute("data-pow", "ready", timeout=30 * SECOND)
        phone.get_by_label(colour).check()
        with phone.expect_response(is_vote) as answer:
            phone.get_by_role("button", name="Vote").click()
        assert answer.value.status == 201
        sent.append(answer.value.request.headers["x-challenge"])
        expect(phone.locator("#message")).to_have_text("Thank you — your vote is in.")
    assert sent[0] != sent[1]
    replayed = httpx.post(
        f"{site.url}{poll['urls']['vote']}",
        json={"choices": [poll["choices"][0]["id"]]},
        headers={"X-Voter-Id": voter_id("replayer"), "X-Challenge": sent[0]},
    )
    assert (replayed.status_code, replayed.json()["code"]) == (403, "challenge_failed")
    results = host.api("GET", f"/api/polls/{poll['id']}/results/").json()
    assert [c["votes"] for c in results["choices"]] == [0, 1, 1]


def test_a_pow_qa_poll_asks_and_upvotes_with_one_proof_each_time_it_is_needed(
    site, host, fresh_phone
):
    poll = host.poll(question="Ask", kind="qa", choices=[], challenge="pow")
    phone = fresh_phone()
    phone.goto(f"{site.url}{poll['urls']['page']}")
    for text in ("Is this recorded?", "Slides?"):
        phone.get_by_label("Your question").fill(text)
        with phone.expect_response(lambda r: r.url.endswith("/questions/")) as asked:
            phone.get_by_role("button", name="Ask").click()
        assert asked.value.status == 201
        expect(phone.locator("#message")).to_have_text("Thank you — your question is in.")
    other = fresh_phone()
    upvotes, proofs_read = [], []
    other.on(
        "response",
        lambda r: r.url.endswith("/upvote/") and upvotes.append((r.request.method, r.status)),
    )
    other.on(
        "request",
        lambda r: r.method == "GET" and "x-challenge" in r.headers and proofs_read.append(r.url),
    )
    other.goto(f"{site.url}{poll['urls']['page']}")
    upvote = other.get_by_role("button", name="Upvote: Slides?")
    take_back = other.get_by_role("button", name="Take back your upvote of: Slides?")
    upvote.click()
    take_back.click()  # the voter's only upvote: its place in the poll is given back
    upvote.click()  # so a new proof is asked for, solved, and sent again, by itself
    expect(take_back).to_be_visible()
    deadline = time.monotonic() + 10
    while len(upvotes) < 4 and time.monotonic() < deadline:
        other.wait_for_timeout(50)  # Playwright pumps the page's events meanwhile
    assert upvotes == [("POST", 200), ("DELETE", 200), ("POST", 403), ("POST", 200)]
    assert proofs_read == []  # a proof goes with writes only, never with reading the list
    questions = host.api("GET", f"/api/polls/{poll['id']}/results/").json()["questions"]
    assert {q["text"]: q["upvotes"] for q in questions} == {"Is this recorded?": 0, "Slides?": 1}


def test_the_dashboard_flags_a_stuffer_and_one_click_takes_it_off_the_projector(
    site, host, screen, projector
):
    """Five people vote Green; a script casts 60 ballots for Red from one
    address with new voter ids. The owner's badge says flagged, the timeline
    shows the burst, and quarantining its signal takes the 60 off the
    projector within a second; releasing them puts them back."""
    from polls.voters import voter_id_issue

    poll = host.poll(question="Best talk of the day?", max_ballots_per_address=0)
    for n in range(5):
        assert vote_over_api(site, poll, 1, f"stuffing-person-{n}") == 201
    host.sign_in(screen)
    dashboard = screen.new_page()
    dashboard.goto(f"{site.url}/dashboard/")
    card = dashboard.locator(f'article[data-poll="{poll["id"]}"]')
    badge = card.locator(".integrity .badge")
    expect(badge).to_have_text("clean")
    with httpx.Client(headers={"User-Agent": "curl/8.5.0"}) as script:
        for _ in range(60):
            red = {"choices": [poll["choices"][0]["id"]]}
            headers = {"X-Voter-Id": voter_id_issue()}
            assert script.post(f"{site.url}{poll['urls']['vote']}", json=red, headers=headers)
    present = projector.new_page()
    present.goto(f"{site.url}{poll['urls']['present']}")
    expect(present.locator("#total")).to_have_text("65")
    # Live, while the owner watches: the card reads the report again at most
    # every 15 s as ballots arrive.
    expect(badge).to_have_text("60 flagged", timeout=20 * SECOND)
    card.locator(".integrity summary").click()  # the badge may be the worker's: the report follows
    flagged_height = "els => els.reduce((sum, el) => sum + el.getBoundingClientRect().height, 0)"
    flagged = card.locator(".timeline .flagged")
    wait_for(lambda: flagged.evaluate_all(flagged_height) > 20, 5, "the burst on the timeline")
    burst = card.locator(".signals li", has_text="prefix burst")
    expect(burst).to_contain_text("60 voters from one network with ids issued within 60 s")
    clicked = time.monotonic()
    burst.get_by_role("button", name="Quarantine the 60 ballots of this prefix burst").click()
    expect(present.locator("#total")).to_have_text("5", timeout=SECOND)
    assert time.monotonic() - clicked <= 1.0
    expect(badge).to_contain_text("60 quarantined")
    expect(card.locator(".integrity-log li").first).to_contain_text(
        f"{host.username} quarantined 60 ballots: 60 voters from one network"
    )
    assert card.locator(".timeline .held").evaluate_all(flagged_height) > 20
    expect(card.locator(".total")).to_have_text("5")
    card.scroll_into_view_if_needed()
    shoot(dashboard, "dashboard-integrity")

    card.get_by_role("button", name="Release all").click()
    expect(present.locator("#total")).to_have_text("65", timeout=SECOND)
    expect(badge).not_to_contain_text("quarantined")


def test_an_embed_of_an_after_close_poll_shows_nothing_until_close(site, host, screen, tmp_path):
    """On another site's page: a listed site's frame shows the chart, and
    only once the poll closes; an unlisted site's frame stays blank."""
    # Another origin on loopback: Chromium keeps public pages (and pages it
    # was handed by a test's route) from framing loopback ones.
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    blog_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=blog_server.serve_forever, daemon=True).start()
    blog = f"http://localhost:{blog_server.server_port}"
    poll = host.poll(results="after_close", embed_origins=[blog])
    unlisted = host.poll(question="Not for the blog")
    (tmp_path / "post.html").write_text(
        f"<!doctype html><title>A blog</title>"
        f'<iframe id="listed" src="{site.url}{poll["urls"]["embed"]}" width="640" height="400"'
        f' title="Live results"></iframe>'
        f'<iframe id="unlisted" src="{site.url}{unlisted["urls"]["embed"]}" width="640"'
        f' height="400" title="Other results"></iframe>'
    )
    host.sign_in(screen)  # the owner's own browser: results still wait for the close
    page = screen.new_page()
    try:
        page.goto(f"{blog}/post.html")
        frame = page.frame_locator("#listed")
        expect(frame.locator("#hidden-note")).to_have_text("Results appear when the poll closes.")
        assert vote_over_api(site, poll, 2, "embed-0001") == 201
        expect(frame.locator("#total")).to_have_text("1", timeout=4 * SECOND)  # turnout, every 3 s
        expect(frame.locator(".count").nth(2)).to_have_text("")  # counted, not shown
        host.api("POST", f"/api/polls/{poll['id']}/close/")
        expect(frame.locator("#status")).to_have_text("closed", timeout=4 * SECOND)
        expect(frame.locator(".count").nth(2)).to_have_text("1 · 100%", timeout=20 * SECOND)
        expect(frame.locator("#hidden-note")).to_be_hidden()
        # Chromium refused to frame the other poll: its frame holds an error page.
        blocked = page.locator("#unlisted").element_handle().content_frame()
        assert blocked.url.startswith("chrome-error://")
        shoot(page, "embed")
    finally:
        blog_server.shutdown()


def test_the_presenter_replays_a_closed_vote_from_its_first_ballot(site, host, screen):
    """Three seconds of votes (2 Red, then 3 Green, then 1 Blue), closed: the
    replay takes the projector back to nothing and through each second's
    tally to the final one, then the live results are back."""
    poll = host.poll(question="Which colour, again?")
    for second, (choice, count) in enumerate([(0, 2), (1, 3), (2, 1)]):
        start = int(time.time())  # each burst opens a second of its own
        wait_for(lambda start=start: int(time.time()) > start, 2, "the next second")
        for n in range(count):
            assert vote_over_api(site, poll, choice, f"replay-{second}-{n}") == 201
    assert host.api("POST", f"/api/polls/{poll['id']}/close/").status_code == 200
    history = host.api("GET", f"/api/polls/{poll['id']}/results/history/").json()["points"]
    assert [p["total_votes"] for p in history] == [2, 5, 6]

    present = screen.new_page()
    present.goto(f"{site.url}{poll['urls']['present']}")
    expect(present.locator("#total")).to_have_text("6")
    replay = present.get_by_role("button", name="Replay the vote")
    expect(replay).to_be_visible()
    present.evaluate("""() => {
      const total = document.getElementById("total");
      window.seen = [];
      new MutationObserver(() => window.seen.push(total.textContent))
        .observe(total, { childList: true, characterData: true, subtree: true });
      // The live socket may draw the same 6 again before the click: only what
      // the replay draws counts (the click listener on document runs first).
      document.addEventListener("click", () => { window.seen = []; }, { capture: true });
    }""")
    replay.click()
    expect(present.get_by_role("button", name="Stop the replay")).to_be_visible()
    expect(present.get_by_role("button", name="Replay the vote")).to_be_visible(timeout=10_000)
    seen = [int(n) for n in present.evaluate("window.seen")]
    assert [n for i, n in enumerate(seen) if i == 0 or n != seen[i - 1]][:4] == [0, 2, 5, 6]
    expect(present.locator("#total")).to_have_text("6")
    expect(present.locator("[data-choice] .count").nth(1)).to_have_text("3 · 50%")
    expect(present.locator("#replay-clock")).to_be_hidden()
