import pytest

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


def test_readyz_names_what_is_down(client, settings):
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"  # nothing listens there
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["failed"] == ["channel_layer", "broker"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error: ")


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
