import pytest

from polls import selectors

pytestmark = pytest.mark.django_db


def test_unknown_api_path_answers_json_404(api):
    response = api.get("/api/nothing/here/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_wrong_method_answers_405(owner_api, poll):
    response = owner_api.put(f"/api/polls/{poll.id}/", {}, format="json")
    assert response.status_code == 405
    assert response.json() == {"code": "method_not_allowed", "detail": 'Method "PUT" not allowed.'}


def test_wrong_content_type_answers_415(api, poll):
    response = api.post(
        f"/api/polls/{poll.id}/votes/",
        "choices=1",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert response.json() == {
        "code": "unsupported_media_type",
        "detail": 'Unsupported media type "application/x-www-form-urlencoded" in request.',
    }


def test_unexpected_failure_answers_json_500(api, poll, monkeypatch, caplog):
    def explode(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(selectors, "results_get", explode)
    response = api.get(f"/api/polls/{poll.id}/results/")
    assert response.status_code == 500
    assert response.json() == {
        "code": "server_error",
        "detail": "Something went wrong on our side.",
    }
    assert "disk on fire" in caplog.text


def test_unknown_api_path_answers_json_404_to_writes_too(client):
    response = client.post("/api/polls/%C2%84/", data="{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}
