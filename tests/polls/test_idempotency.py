import pytest
from rest_framework.test import APIClient

from polls.models import Ballot, IdempotencyRecord
from tests.helpers import choice_ids, vote, voter_id

pytestmark = pytest.mark.django_db


def test_same_key_from_same_voter_replays_the_first_answer_byte_for_byte(api, poll):
    red = choice_ids(poll)[0]
    first = vote(api, poll.id, [red], **{"Idempotency-Key": "k-1"})
    again = vote(api, poll.id, [red], **{"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert Ballot.objects.count() == 1
    assert api.get(f"/api/polls/{poll.id}/results/").json()["total_votes"] == 1


def test_same_key_with_a_different_body_is_a_mismatch(api, poll):
    red, green, _ = choice_ids(poll)
    vote(api, poll.id, [red], **{"Idempotency-Key": "k-1"})
    response = vote(api, poll.id, [green], **{"Idempotency-Key": "k-1"})
    assert response.status_code == 422
    assert response.json() == {
        "code": "idempotency_mismatch",
        "detail": "This Idempotency-Key was already used with a different request.",
    }
    assert api.get(f"/api/polls/{poll.id}/results/").json()["choices"][1]["votes"] == 0


def test_same_key_for_another_poll_is_a_mismatch(api, user, poll):
    from tests.factories import make_poll

    other = make_poll(owner=user)
    vote(api, poll.id, choice_ids(poll)[:1], **{"Idempotency-Key": "k-1"})
    response = vote(api, other.id, choice_ids(other)[:1], **{"Idempotency-Key": "k-1"})
    assert response.status_code == 422


def test_same_key_from_another_voter_is_a_separate_request(api, poll):
    red = choice_ids(poll)[0]
    first = vote(api, poll.id, [red], voter="voter-0001", **{"Idempotency-Key": "k-1"})
    second = vote(api, poll.id, [red], voter="voter-0002", **{"Idempotency-Key": "k-1"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["voter_id"] == voter_id("voter-0002")
    assert Ballot.objects.count() == 2


def test_a_key_without_a_voter_id_never_replays_another_clients_answer(poll):
    """The takeover: a second client without a cookie reuses the first's key."""
    red, green = choice_ids(poll)[:2]
    url = f"/api/polls/{poll.id}/votes/"
    victim, attacker = APIClient(), APIClient()
    first = victim.post(url, {"choices": [red]}, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    probe = attacker.post(url, {"choices": [green]}, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    attacker.cookies.clear()
    same = attacker.post(url, {"choices": [red]}, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    assert (first.status_code, probe.status_code, same.status_code) == (201, 201, 201)
    ids = {first.json()["voter_id"], probe.json()["voter_id"], same.json()["voter_id"]}
    assert len(ids) == 3  # three voters; nobody learned or got the first one's id
    assert same.cookies["nexus_voter"].value != first.json()["voter_id"]
    assert Ballot.objects.count() == 3


def test_a_retry_with_the_issued_voter_id_replays_the_first_answer(api, poll):
    red = choice_ids(poll)[0]
    url = f"/api/polls/{poll.id}/votes/"
    first = api.post(url, {"choices": [red]}, format="json", HTTP_IDEMPOTENCY_KEY="k-lost")
    again = api.post(
        url,
        {"choices": [red]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-lost",
        HTTP_X_VOTER_ID=first.json()["voter_id"],
    )
    assert again.content == first.content
    assert Ballot.objects.count() == 1


def test_errors_are_not_stored_so_a_retry_is_evaluated_again(api, poll):
    response = vote(api, poll.id, [], **{"Idempotency-Key": "k-1"})
    assert response.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    assert vote(api, poll.id, choice_ids(poll)[:1], **{"Idempotency-Key": "k-1"}).status_code == 201


def test_overlong_key_is_rejected_as_invalid(api, poll):
    response = vote(api, poll.id, choice_ids(poll)[:1], **{"Idempotency-Key": "k" * 256})
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "Idempotency-Key must be 1-255 printable characters.",
        "fields": {"Idempotency-Key": "1-255 printable characters."},
    }
    assert not Ballot.objects.exists()


def test_purge_keeps_records_younger_than_24_hours(api, poll):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    vote(api, poll.id, choice_ids(poll)[:1], voter="voter-0001", **{"Idempotency-Key": "old"})
    vote(api, poll.id, choice_ids(poll)[:1], voter="voter-0002", **{"Idempotency-Key": "new"})
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    call_command("purge_idempotency")
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
