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
    ],
    ids=["no secret", "debug", "db scheme", "db url", "redis url", "rate", "pool size"],
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
