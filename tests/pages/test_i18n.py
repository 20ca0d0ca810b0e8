"""English, German and Spanish: every template string marked, every msgid
translated and compiled, the language chosen per request (the switcher's
cookie, else Accept-Language, else English), and API errors whose `code`
stays while `detail` follows the language."""

import gettext
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.template.base import Lexer, TokenType
from django.utils import translation

from nexus.errors import error_body
from polls.kinds import checked_marks
from polls.models import Poll
from tests.servers import ROOT
from tests.services import require_service

pytestmark = pytest.mark.django_db

LANGUAGES = ("de", "es")
DOMAINS = ("django", "djangojs")
TEMPLATES = sorted(
    path
    for folder in ("polls/templates", "accounts/templates")
    for path in (ROOT / folder).rglob("*")
    if path.is_file()
)
# Names and examples, the same in every language.
NAMES = re.compile(r"\b(Nexus|K7Q2XP)\b")
# Blocks whose text goes into an attribute the user never sees (a class).
HIDDEN_BLOCKS = {"body_class"}
SLOT = "\ue000"  # where a tag or variable was: never a letter

# --- every template string is marked ---------------------------------------


def _skeleton(source: str) -> str:
    """The template's text with each tag, variable and translated block
    replaced by SLOT; comments and hidden blocks dropped."""
    parts, skipping, hidden = [], None, 0
    for token in Lexer(source).tokenize():
        word = token.contents.split()[0] if token.token_type == TokenType.BLOCK else ""
        if skipping:
            if word == skipping:
                skipping = None
                parts.append(SLOT)
            continue
        if word in ("blocktranslate", "blocktrans", "comment"):
            skipping = {"comment": "endcomment"}.get(word, f"end{word}")
        elif word == "block" and token.contents.split()[1] in HIDDEN_BLOCKS:
            hidden += 1
        elif word == "endblock" and hidden:
            hidden -= 1
        elif token.token_type == TokenType.TEXT and not hidden:
            parts.append(token.contents)
        elif token.token_type != TokenType.COMMENT:
            parts.append(SLOT)
    return "".join(parts)


class _Visible(HTMLParser):
    """Collects what a person sees or hears: text outside <script> and
    <style>, and the attributes read aloud or shown."""

    ATTRIBUTES = {"alt", "title", "placeholder", "aria-label"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.code = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.code += 1
        values = dict(attrs)
        shown = set(self.ATTRIBUTES)
        if tag == "input" and values.get("type") in ("submit", "button", "reset"):
            shown.add("value")
        self.found += [value for name, value in attrs if name in shown and value]

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.code:
            self.code -= 1

    def handle_data(self, data):
        if not self.code:
            self.found.append(data)


def unmarked(source: str) -> list[str]:
    """The user-visible texts of a template left out of {% translate %}."""
    parser = _Visible()
    parser.feed(_skeleton(source))
    parser.close()
    texts = (" ".join(text.replace(SLOT, " ").split()) for text in parser.found)
    return [t for t in texts if any(c.isalpha() for c in NAMES.sub("", t))]


def test_the_checker_finds_unmarked_text_and_attributes():
    bad = """{% load i18n %}<!doctype html><html lang="en"><title>Nexus</title>
    <p>Hello {{ name }}</p><img alt="A cat" src="x.png"><input placeholder="Type here">
    <input type="submit" value="Go"><input type="hidden" value="secret">
    <button aria-label="{% translate 'Fine' %}">{% translate "Fine" %}</button>
    <p>{% blocktranslate %}Also <b>fine</b>, {{ name }}{% endblocktranslate %}</p>
    <script>const shown = "not text";</script><style>p { color: red }</style>
    <!-- a comment --> {# another #} {% comment %}and more{% endcomment %}</html>"""
    assert unmarked(bad) == ["Hello", "A cat", "Type here", "Go"]


def test_every_template_string_is_marked_for_translation():
    found = {
        str(path.relative_to(ROOT)): texts
        for path in TEMPLATES
        if (texts := unmarked(path.read_text()))
    }
    assert found == {}


# --- the catalogs: complete, compiled, up to date --------------------------


def _po(language: str, domain: str, root: Path = ROOT) -> polib.POFile:
    return polib.pofile(str(root / "locale" / language / "LC_MESSAGES" / f"{domain}.po"))


def _key(entry: polib.POEntry) -> tuple:
    return (entry.msgctxt, entry.msgid, entry.msgid_plural)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_every_message_is_translated_and_none_is_fuzzy(language, domain):
    po = _po(language, domain)
    assert len(po) > 50
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []
    assert not po.metadata_is_fuzzy


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_each_committed_mo_holds_its_po(language, domain):
    po = _po(language, domain)
    expected = {}
    for entry in po.translated_entries():
        msgid = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        if entry.msgid_plural:
            expected.update({(msgid, n): text for n, text in entry.msgstr_plural.items()})
        else:
            expected[msgid] = entry.msgstr
    path = ROOT / "locale" / language / "LC_MESSAGES" / f"{domain}.mo"
    with path.open("rb") as mo:
        catalog = dict(gettext.GNUTranslations(mo)._catalog)  # type: ignore[attr-defined]
    catalog.pop("", None)  # the header
    assert catalog == expected


COPIED = ("accounts", "nexus", "polls", "realtime", "webhooks", "locale", "manage.py")
IGNORED = ("--ignore=.venv", "--ignore=node_modules", "--ignore=tests/*")


def test_the_catalogs_hold_every_marked_string_and_no_other(tmp_path):
    """makemessages on a copy of the source: a newly marked string with no
    translation (or a string no longer used) fails here."""
    require_service(shutil.which("xgettext") is not None, "gettext (scripts/test-programs.sh)")
    for name in COPIED:
        source, target = ROOT / name, tmp_path / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("vendor", "__pycache__"))
        else:
            shutil.copy(source, target)
    env = {"DEBUG": "1", "PATH": "/usr/bin:/bin", "NEXUS_TEST_LOCAL_SERVICES": "0"}
    for domain in DOMAINS:
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-d", domain, "-l", "de", "-l", "es"]
            + list(IGNORED),
            cwd=tmp_path,
            env=env,
            check=True,
            capture_output=True,
        )
    for language in LANGUAGES:
        for domain in DOMAINS:
            current = {_key(e) for e in _po(language, domain, tmp_path) if not e.obsolete}
            committed = {_key(e) for e in _po(language, domain) if not e.obsolete}
            assert (language, domain, current - committed) == (language, domain, set())
            assert (language, domain, committed - current) == (language, domain, set())


# --- the language of each request ------------------------------------------


def _page(response) -> tuple[str, str]:
    """(<html lang>, the first heading) of a page."""
    text = response.content.decode()
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", text, re.S)
    return re.search(r'<html lang="([\w-]+)"', text)[1], heading[1].strip() if heading else ""


@pytest.mark.parametrize(
    ("accept", "lang", "home", "sign_in"),
    [
        ("de", "de", "An einer Umfrage teilnehmen", "Anmelden"),
        ("es-ES,es;q=0.9", "es", "Participar en una encuesta", "Iniciar sesión"),
        ("fr-FR,fr;q=0.9", "en", "Join a poll", "Sign in"),
        ("", "en", "Join a poll", "Sign in"),
    ],
)
def test_accept_language_picks_the_pages_language(client, poll, accept, lang, home, sign_in):
    assert _page(client.get("/", HTTP_ACCEPT_LANGUAGE=accept)) == (lang, home)
    assert _page(client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=accept)) == (lang, sign_in)
    vote = client.get(f"/p/{poll.id}/", HTTP_ACCEPT_LANGUAGE=accept)
    assert _page(vote) == (lang, poll.question)
    submit = {"de": "Abstimmen", "es": "Votar", "en": "Vote"}[lang]
    assert re.search(rf'id="submit">{submit}</button>', vote.content.decode())
    assert vote["Content-Language"] == lang


def test_the_switcher_sets_a_cookie_that_beats_accept_language(client, poll):
    page = client.get(f"/p/{poll.id}/?embed=0", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert 'action="/i18n/setlang/"' in page
    assert f'name="next" value="/p/{poll.id}/?embed=0"' in page
    response = client.post("/i18n/setlang/", {"language": "es", "next": f"/p/{poll.id}/"})
    assert (response.status_code, response["Location"]) == (302, f"/p/{poll.id}/")
    assert response.cookies["django_language"].value == "es"
    assert _page(client.get("/", HTTP_ACCEPT_LANGUAGE="de")) == ("es", "Participar en una encuesta")
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert _page(client.get("/", HTTP_ACCEPT_LANGUAGE="de")) == ("en", "Join a poll")


def test_the_switcher_is_not_on_the_big_screen_or_the_embeds(client, poll):
    for url in (f"/p/{poll.id}/present/", f"/p/{poll.id}/embed/", f"/p/{poll.id}/?embed=1"):
        assert b"/i18n/setlang/" not in client.get(url).content, url
    assert b"/i18n/setlang/" in client.get(f"/p/{poll.id}/").content


def test_the_javascript_catalog_is_served_per_language_to_the_pages(client, poll):
    response = client.get(f"/p/{poll.id}/", HTTP_ACCEPT_LANGUAGE="es")
    page = response.content.decode()
    # A classic script of this origin, before the page's modules: the CSP allows it.
    assert page.index('<script src="/jsi18n/?l=es"></script>') < page.index("nexus/vote.js")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    catalog = client.get("/jsi18n/?l=es", HTTP_ACCEPT_LANGUAGE="es")
    assert catalog["Content-Type"].startswith("text/javascript")
    assert "Gracias: tu voto se ha registrado." in catalog.content.decode()
    assert "max-age=3600" in catalog["Cache-Control"]
    # ?l= decides, whatever the visitor's language meanwhile: a page's URL
    # always gets its own language's strings.
    german = client.get("/jsi18n/?l=de", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Gracias" not in german and "Danke" in german


@pytest.mark.parametrize("query", ["", "?l=fr", "?l=de&x=1", "?x=1", "?l=de&l=es", "?l=DE", "?l="])
def test_no_other_catalog_url_is_served(client, query):
    """Three URLs in all: nothing for a browser or a cache to keep per
    made-up query."""
    assert client.get(f"/jsi18n/{query}").status_code == 404


def test_numbers_on_a_page_follow_the_language(client, poll):
    Poll.objects.filter(pk=poll.id).update(total_votes=1234)
    totals = {
        lang: re.search(
            r'id="total">([^<]*)<',
            client.get(f"/p/{poll.id}/present/", HTTP_ACCEPT_LANGUAGE=lang).content.decode(),
        )[1]
        for lang in ("en", "de", "es")
    }
    assert totals == {"en": "1,234", "de": "1.234", "es": "1\xa0234"}  # Django's es format


# --- API errors: the code stays, the detail follows the language -----------


def test_an_unknown_poll_is_not_found_in_german(api):
    response = api.get("/api/polls/NOPE00/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.json()["detail"] == "Es gibt keine Umfrage mit dieser ID."


def test_a_bad_vote_keeps_its_code_and_says_why_in_spanish(api, poll):
    url = f"/api/polls/{poll.id}/votes/"
    english = api.post(url, {"choices": []}, format="json")
    spanish = api.post(url, {"choices": []}, format="json", HTTP_ACCEPT_LANGUAGE="es")
    assert (english.status_code, spanish.status_code) == (400, 400)
    assert english.json() == {"code": "invalid_choice", "detail": "Pick at least one choice."}
    assert spanish.json() == {"code": "invalid_choice", "detail": "Elige al menos una opción."}
    assert spanish["Content-Language"] == "es"


def test_field_messages_follow_the_language_too(owner_api):
    response = owner_api.post(
        "/api/polls/", {"question": "", "choices": ["A"]}, format="json", HTTP_ACCEPT_LANGUAGE="de"
    )
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["detail"]) == ("invalid", "Einige Felder sind ungültig.")
    assert body["fields"]["question"] == "Schreiben Sie die Frage."


def test_a_refusal_made_in_another_thread_speaks_the_requests_language(poll):
    """The vote pipeline's committer thread has no request language: its
    errors stay lazy until the request's thread renders them."""
    raised = []

    def committer():
        try:
            checked_marks(poll, set(), "choices", (), ())
        except Exception as exc:  # noqa: BLE001 - the refusal itself is the result
            raised.append(exc)

    thread = threading.Thread(target=committer)
    thread.start()
    thread.join()
    with translation.override("es"):
        body = error_body(raised[0].code, raised[0].detail)
    assert body == {"code": "invalid_choice", "detail": "Elige al menos una opción."}


def test_a_refusal_ahead_of_the_locale_middleware_is_translated_too(client):
    response = client.get("/api/polls/?q=%01", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "Abfrageparameter dürfen keine Steuerzeichen enthalten.",
    }
