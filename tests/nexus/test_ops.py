import threading
import time

import pytest
from django.test import Client

from nexus import ops

pytestmark = pytest.mark.django_db


def test_healthz_answers_while_the_process_lives(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_checks_database_channel_layer_and_broker(client, settings):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["channel_layer"] == "ok"
    assert body["checks"]["broker"] in {"ok", "not configured"}


def test_redis_or_the_broker_down_only_degrade_readiness(client, settings):
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"  # nothing listens there
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["degraded"] == ["channel_layer", "broker"]
    assert "failed" not in body
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error: ")


def test_a_database_that_hangs_is_a_503_by_the_deadline_not_the_probe_s(client, monkeypatch):
    """A probe that hangs for 10 s: readiness answers by its deadline (0.8 s;
    the bound below leaves room for a loaded CI machine, where it took 1.07 s),
    and a second probe waits on the first instead of taking another thread."""
    release = threading.Event()
    started: list[int] = []

    def hung_probe():
        started.append(1)
        release.wait(10)
        return "ok"

    monkeypatch.setattr(ops, "_database", hung_probe)
    try:
        for _ in range(2):
            began = time.monotonic()
            response = client.get("/readyz")
            assert time.monotonic() - began < ops.PROBE_DEADLINE + 1.0
            assert response.status_code == 503
            body = response.json()
            assert (body["status"], body["failed"]) == ("unavailable", ["database"])
            assert body["checks"]["database"] == "error: timeout"
        assert started == [1]
    finally:
        release.set()


def test_metrics_count_votes_by_outcome_and_time_requests(client, api, poll):
    from tests.helpers import choice_ids, vote

    vote(api, poll.id, choice_ids(poll)[:1])
    vote(api, poll.id, choice_ids(poll)[:1])  # already_voted
    vote(api, poll.id, [], voter="voter-0002")  # invalid_choice
    text = client.get("/metrics").content.decode()
    assert 'nexus_votes_total{outcome="accepted"}' in text
    assert 'nexus_votes_total{outcome="already_voted"}' in text
    assert 'nexus_votes_total{outcome="invalid_choice"}' in text
    assert 'route="api/polls/<code:poll_id>/votes/",status="201"' in text
    assert "nexus_websocket_connections" in text
    assert "nexus_vote_to_broadcast_seconds_bucket" in text


@pytest.mark.parametrize(
    ("address", "forwarded", "proxies", "allowed"),
    [
        ("127.0.0.1", None, 0, True),
        ("::1", None, 0, True),
        ("10.1.2.3", None, 0, True),  # a scraper on the private network
        ("::ffff:192.168.0.9", None, 0, True),
        ("203.0.113.5", None, 0, False),
        ("10.0.0.2", "203.0.113.5", 1, False),  # a public client behind our proxy
        ("10.0.0.2", "10.0.0.7", 1, True),
    ],
)
def test_metrics_answer_private_addresses_only(settings, address, forwarded, proxies, allowed):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
    extra = {"REMOTE_ADDR": address}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    response = Client().get("/metrics", **extra)
    if allowed:
        assert response.status_code == 200
        assert b"# HELP" in response.content
    else:
        assert (response.status_code, response.json()["code"]) == (403, "forbidden")


def test_metrics_take_a_bearer_token_from_anywhere(settings):
    settings.NEXUS_METRICS_TOKEN = "s3cret-metrics-token"
    public = {"REMOTE_ADDR": "203.0.113.5"}
    right = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token", **public)
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer guess", **public)
    assert (right.status_code, wrong.status_code) == (200, 403)
    # a wrong token is refused even from a private address: it was meant
    local = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer guess")
    assert local.status_code == 403


def test_made_up_methods_do_not_grow_the_metrics(client):
    before = len(client.get("/metrics").content)
    for n in range(50):
        client.generic(f"X-MADE-UP-{n}", "/api/polls/")
    text = client.get("/metrics").content.decode()
    assert "X-MADE-UP" not in text
    assert 'method="other"' in text
    assert len(text) < before + 5000  # one series more, not fifty


def test_each_request_is_one_json_log_line_in_production(client, caplog):
    import json
    import logging

    caplog.set_level(logging.INFO, logger="nexus.request")
    client.get("/healthz")
    (record,) = [r for r in caplog.records if r.name == "nexus.request"]
    formatter = next(h.formatter for h in logging.getLogger().handlers if h.formatter)
    line = json.loads(formatter.format(record))
    assert line["logger"] == "nexus.request" and line["level"] == "INFO"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz", 200)
    assert isinstance(line["duration_ms"], float)
