"""A production server refuses to start on what would make it serve errors
(nexus.startup), and the links people are shown never come from a
request's Host header (nexus.links)."""

import os
import re
import signal
import subprocess
import sys

import httpx
import pytest
import segno

from tests.factories import make_poll
from tests.servers import ROOT, collected_static, free_port, wait_for

PRODUCTION = {
    "PATH": os.environ["PATH"],
    "SECRET_KEY": "x" * 50,
    "DEBUG": "0",
    "NEXUS_STARTUP_CHECKS": "1",
}


def start(entry: str, **env: str) -> subprocess.CompletedProcess:
    """Import a server's entry point as granian or daphne would."""
    return subprocess.run(
        [sys.executable, "-c", f"import {entry}"],
        cwd=ROOT,
        env=PRODUCTION | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("entry", ["nexus.wsgi", "nexus.asgi"])
def test_a_server_without_collected_static_files_stops_and_names_collectstatic(tmp_path, entry):
    result = start(
        entry,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        NEXUS_STATIC_ROOT=str(tmp_path / "nothing-collected"),
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: No collected static files")
    assert "python manage.py collectstatic --noinput" in last


def test_a_server_whose_database_does_not_answer_stops_and_says_so(tmp_path):
    result = start(
        "nexus.wsgi",
        DATABASE_URL="postgres://postgres@127.0.0.1:1/nexus",  # nothing listens on port 1
        NEXUS_STATIC_ROOT=collected_static(),
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "DATABASE_URL: the database does not answer" in last
    assert last.endswith("start it or fix DATABASE_URL")


def test_a_configured_server_starts(tmp_path):
    result = start(
        "nexus.wsgi",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        NEXUS_STATIC_ROOT=collected_static(),
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_a_forged_host_never_reaches_the_projector_or_the_qr_code(
    client, settings, poll, monkeypatch
):
    encoded = []
    real_make = segno.make
    monkeypatch.setattr(
        segno, "make", lambda data, **kw: encoded.append(data) or real_make(data, **kw)
    )
    settings.ALLOWED_HOSTS = ["*"]
    settings.NEXUS_PUBLIC_URL = "https://polls.example.org"
    present = client.get(f"/p/{poll.id}/present/", HTTP_HOST="evil.example")
    assert present.status_code == 200
    page = present.content.decode()
    assert f"https://polls.example.org/p/{poll.id}/" in page
    assert "evil.example" not in page
    qr = client.get(f"/p/{poll.id}/qr.svg", HTTP_HOST="evil.example")
    assert qr.status_code == 200
    assert encoded == [f"https://polls.example.org/p/{poll.id}/"]


@pytest.mark.django_db
def test_invite_links_use_the_public_url(owner_api, settings, user):
    settings.ALLOWED_HOSTS = ["*"]
    settings.NEXUS_PUBLIC_URL = "https://polls.example.org"
    poll = make_poll(owner=user, eligibility="invite")
    response = owner_api.post(
        f"/api/polls/{poll.id}/invites/", {"count": 2}, format="json", HTTP_HOST="evil.example"
    )
    assert response.status_code == 201, response.content
    urls = [invite["url"] for invite in response.json()["invites"]]
    assert len(urls) == 2
    assert all(
        re.fullmatch(rf"https://polls\.example\.org/p/{poll.id}/\?invite=\S+", u) for u in urls
    )


def test_the_suite_lists_what_it_could_not_run_with_the_command_that_enables_it():
    """A machine without Postgres: the pooled-connection test is skipped and
    the summary says in one line what would run it (tests/services.py)."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NEXUS_REQUIRE_SERVICES")
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "tests/nexus/test_outage.py",
            "-k",
            "pooled or postgres_connections",
        ],
        cwd=ROOT,
        env=env | {"NEXUS_TEST_LOCAL_SERVICES": "0"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout
    assert "2 skipped" in result.stdout
    assert (
        "2 tests need Postgres: start it on 127.0.0.1:5432 with user postgres "
        "(apt-get install postgresql), or set DATABASE_URL=postgres://…"
    ) in result.stdout
    assert "services: Postgres missing" in result.stdout


def test_make_lan_serves_phones_on_the_network_with_its_address_in_the_links(tmp_path):
    """`make lan`: listens on every address, allows this machine's LAN
    address, and puts it in the printed links and the presenter's QR link."""
    lan = subprocess.run(
        [sys.executable, "scripts/lan-address.py"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    assert lan and not lan.startswith("127."), lan
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEBUG", "NEXUS_PUBLIC_URL", "ALLOWED_HOSTS", "REDIS_URL")
    }
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    make = subprocess.Popen(
        ["make", "--no-print-directory", "lan", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        printed = []
        for line in make.stdout:  # the demo's links come before the server starts
            printed.append(line)
            if line.startswith("Try a vote:"):
                break
        code = next(line.split()[2].rstrip(":") for line in printed if line.startswith("Demo poll"))
        assert f"  present   http://{lan}:{port}/p/{code}/present/\n" in printed
        url = f"http://{lan}:{port}/p/{code}/present/"
        wait_for(lambda: _get(url) is not None, 30, "make lan's server")
        page = _get(url)
        assert page.status_code == 200
        assert f"http://{lan}:{port}/p/{code}/" in page.text  # the link under the QR code
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(10)


def _get(url: str):
    try:
        return httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None


def test_a_server_process_loads_the_text_checks_before_its_first_request():
    """The first answer of a process would otherwise load the word lists
    (~0.3 s: a spike in every benchmark's POST p99)."""
    from nexus import startup
    from polls import text

    text._invisible.cache_clear()
    text.stop_words.cache_clear()
    startup.warm()
    assert text._invisible.cache_info().currsize == 1
    assert text.stop_words.cache_info().currsize == 1


@pytest.mark.parametrize("entry", ["nexus.wsgi", "nexus.asgi"])
def test_a_server_hides_what_start_up_built_from_the_garbage_collector(tmp_path, entry):
    """`settle`: a full collection would otherwise walk Django's ~200,000
    start-up objects, a stall of 100-500 ms for every request and socket."""
    code = f"import gc, {entry}; print(gc.get_freeze_count(), gc.get_threshold())"
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=PRODUCTION | {"DATABASE_URL": database, "NEXUS_STATIC_ROOT": collected_static()},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    frozen, thresholds = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert int(frozen) > 50_000
    assert thresholds == "(5000, 20, 100)"
