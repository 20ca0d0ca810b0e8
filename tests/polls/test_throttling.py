"""Rate limits count in the configured cache (Redis in CI)."""

import pytest

from polls.throttles import AnonAddressThrottle, AnonVoterThrottle, UserThrottle
from tests.helpers import choice_ids, vote

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates(monkeypatch):
    # DRF reads rates once at import; set them on the classes instead.
    monkeypatch.setattr(AnonVoterThrottle, "rate", "2/min", raising=False)
    monkeypatch.setattr(AnonAddressThrottle, "rate", "3/min", raising=False)
    monkeypatch.setattr(UserThrottle, "rate", "2/min", raising=False)


def test_anonymous_voter_over_the_rate_gets_429_with_retry_after(api, poll, low_rates):
    ids = choice_ids(poll)
    assert vote(api, poll.id, ids[:1]).status_code == 201
    assert vote(api, poll.id, ids[:1]).status_code == 409
    response = vote(api, poll.id, ids[:1])
    assert response.status_code == 429
    assert response.json() == {
        "code": "throttled",
        "detail": "Request was throttled. Expected available in 60 seconds.",
    }
    assert response["Retry-After"] == "60"


def test_new_voters_without_ids_share_only_the_address_limit(poll, low_rates):
    from rest_framework.test import APIClient

    ids = choice_ids(poll)
    statuses = [vote(APIClient(), poll.id, ids[:1], voter=None).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]  # the address's 3/min, not a voter's 2/min


def test_voters_behind_one_address_share_only_the_address_limit(api, poll, low_rates):
    ids = choice_ids(poll)
    statuses = [vote(api, poll.id, ids[:1], voter=f"voter-{n:04}").status_code for n in range(4)]
    assert statuses == [201, 201, 201, 429]


def test_signed_in_user_is_limited_on_poll_creation(owner_api, low_rates):
    body = {"question": "Q?", "choices": ["a", "b"]}
    statuses = [owner_api.post("/api/polls/", body, format="json").status_code for _ in range(3)]
    assert statuses == [201, 201, 429]


def test_reads_are_not_throttled(api, poll, low_rates):
    statuses = {api.get(f"/api/polls/{poll.id}/results/").status_code for _ in range(5)}
    assert statuses == {200}


def test_all_of_a_votes_limits_take_one_round_trip_to_redis(api, poll, monkeypatch):
    from collections import Counter

    import redis
    from limits.storage import RedisStorage

    from polls import throttles
    from tests.services import require_service

    require_service(isinstance(throttles.limiter().storage, RedisStorage), "Redis")
    calls: Counter = Counter()

    def counted(name, real):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(
        redis.client.Pipeline, "execute", counted("pipeline", redis.client.Pipeline.execute)
    )
    monkeypatch.setattr(RedisStorage, "incr", counted("incr", RedisStorage.incr))
    assert vote(api, poll.id, choice_ids(poll)[:1]).status_code == 201  # a voter id and an address
    assert calls == {"pipeline": 1}


def test_a_busy_key_is_counted_ahead_in_blocks_and_never_past_its_limit(monkeypatch):
    """One address voting for a lecture hall: a round trip per block, not per
    vote, and exactly the limit admitted in its window."""
    from limits import RateLimitItemPerMinute

    from polls import throttles

    trips: list[int] = []
    real = throttles._incr_by
    monkeypatch.setattr(throttles, "_incr_by", lambda keys: trips.append(len(keys)) or real(keys))
    throttles.reset()
    limit = RateLimitItemPerMinute(1000)  # blocks of up to 10
    counts = [throttles._incr_all([(limit, "hall")])[0] for _ in range(1100)]
    assert counts == list(range(1, 1101))  # unique, in order: as if counted one by one
    assert sum(c <= 1000 for c in counts) == 1000
    assert len(trips) < 120  # 1, 2, 4, 8, then 10 at a time
    small = RateLimitItemPerMinute(150)  # under 200: counted one by one, exactly
    trips.clear()
    assert [throttles._incr_all([(small, "one")])[0] for _ in range(5)] == [1, 2, 3, 4, 5]
    assert len(trips) == 5


def test_two_processes_counting_ahead_admit_no_more_than_the_limit(monkeypatch):
    from limits import RateLimitItemPerMinute

    from polls import throttles

    throttles.reset()
    limit = RateLimitItemPerMinute(1000)
    processes: list[dict] = [{}, {}]  # each process's blocks; one counter in Redis
    admitted = 0
    for n in range(1500):  # the two take turns
        monkeypatch.setattr(throttles, "_blocks", processes[n % 2])
        admitted += throttles._incr_all([(limit, "hall")])[0] <= 1000
    assert admitted == 1000  # every block was used up: no slack left over
