import os
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from nexus.outage import DATABASE
from polls import throttles
from tests.factories import UserFactory, make_poll
from tests.servers import migrate, server_env
from tests.services import require_service


@pytest.fixture
def postgres():
    require_service(connection.vendor == "postgresql", "Postgres")


@pytest.fixture(autouse=True)
def _empty_cache():
    """Caches, throttle counters and remembered outages: every test starts
    from zero (a test that exhausts the pool must not fail the next one's
    requests fast, as the database "just failed")."""
    cache.clear()
    throttles.reset()
    DATABASE.ok()
    yield
    cache.clear()
    throttles.reset()


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


def client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def owner_api(user):
    return client_for(user)


@pytest.fixture
def other_api(db):
    return client_for(UserFactory())


@pytest.fixture
def poll(user):
    return make_poll(owner=user)


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Production hashes static files at collectstatic; tests don't collect."""
    settings.STORAGES = settings.STORAGES | {
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    }


@pytest.fixture(scope="module")
def postgres_url():
    """A database of its own for real server processes (migrated, empty)."""
    base = os.environ.get("DATABASE_URL", "")
    require_service(base.startswith("postgres"), "Postgres")
    url = urlunparse(urlparse(base)._replace(path="/nexus_e2e"))
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS nexus_e2e WITH (FORCE)")
        conn.execute("CREATE DATABASE nexus_e2e")
    migrate(server_env(url, None))
    return url


@pytest.fixture(scope="module")
def redis_url():
    url = os.environ.get("REDIS_URL", "")
    require_service(bool(url), "Redis")
    return url
