"""Settings come from the environment; bad values stop start-up loudly."""

import os
import subprocess
import sys

import pytest

BASE = {
    "PATH": os.environ["PATH"],
    "DJANGO_SETTINGS_MODULE": "nexus.settings",
    "SECRET_KEY": "x" * 50,
}


def start(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            "print(settings.DATABASES['default']['ENGINE'])",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set when DEBUG is off"),
        ({"DEBUG": "maybe"}, "DEBUG must be a boolean (true/false), got 'maybe'"),
        ({"DATABASE_URL": "mysql://db/nexus"}, "DATABASE_URL must be postgres:// or sqlite://"),
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL is malformed"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL must look like redis://host:6379/0"),
        ({"NEXUS_THROTTLE_ANON": "lots"}, "NEXUS_THROTTLE_ANON must be a DRF rate"),
        ({"NEXUS_DB_POOL_MAX": "ten"}, "NEXUS_DB_POOL_MAX must be an integer, got 'ten'"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS names no single host to put in links"),
        ({"ALLOWED_HOSTS": ".example.org"}, "set NEXUS_PUBLIC_URL (e.g. https://polls."),
        ({"NEXUS_PUBLIC_URL": "polls.example.org"}, "NEXUS_PUBLIC_URL must be scheme://host"),
        ({"NEXUS_PUBLIC_URL": "https://polls.example.org/vote"}, "with no path"),
        ({"NEXUS_PUBLIC_URL": "javascript:alert(1)"}, "NEXUS_PUBLIC_URL must be scheme://host"),
    ],
    ids=[
        "no secret",
        "debug",
        "db scheme",
        "db url",
        "redis url",
        "rate",
        "pool size",
        "any host",
        "only wildcards",
        "public url scheme",
        "public url path",
        "public url script",
    ],
)
def test_bad_configuration_stops_startup_with_a_clear_message(env, message):
    env = BASE | {"DATABASE_URL": "postgres://u@127.0.0.1/x"} | env
    result = start(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_debug_runs_with_no_configuration_at_all():
    result = start(
        {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "nexus.settings", "DEBUG": "1"}
    )
    assert (result.returncode, result.stdout.strip()) == (0, "django.db.backends.sqlite3")


PRODUCTION = BASE | {
    "DEBUG": "0",
    "SECRET_KEY": "k3y-" + "a1b2c3d4e5f6g7h8" * 4,
    "ALLOWED_HOSTS": "vote.example.org",
    "NEXUS_HTTPS": "1",
    "NEXUS_NUM_PROXIES": "1",
}


def test_the_deploy_check_is_clean_under_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=PRODUCTION,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_https_behind_the_proxy_gets_hsts_secure_cookies_and_a_redirect():
    script = """
import django; django.setup()
from django.test import Client
c = Client()
plain = c.get("/api/polls/", HTTP_HOST="vote.example.org")
probe = c.get("/healthz", HTTP_HOST="vote.example.org")
secure = c.post("/api/voters/", HTTP_HOST="vote.example.org", HTTP_X_FORWARDED_PROTO="https")
print(plain.status_code, plain["Location"])
print(probe.status_code)
print(secure.status_code, secure["Strict-Transport-Security"])
print(secure.cookies["nexus_voter"]["secure"])
"""
    env = PRODUCTION | {"DATABASE_URL": "sqlite:///:memory:"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    plain, probe, secure, cookie = result.stdout.split("\n")[:4]
    assert plain == "301 https://vote.example.org/api/polls/"
    assert probe == "200"  # probes are not redirected
    assert secure == "201 max-age=31536000; includeSubDomains"
    assert cookie == "True"


def test_a_forged_forwarded_proto_is_ignored_without_trusted_proxies():
    script = """
import django; django.setup()
from django.test import Client
forged = Client().get("/api/polls/", HTTP_HOST="vote.example.org", HTTP_X_FORWARDED_PROTO="https")
print(forged.status_code, forged.get("Strict-Transport-Security"))
"""
    env = PRODUCTION | {"NEXUS_NUM_PROXIES": "0", "DATABASE_URL": "sqlite:///:memory:"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["301", "None"]  # still plain HTTP: redirected, no HSTS
