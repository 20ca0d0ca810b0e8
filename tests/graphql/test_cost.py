"""GraphQL's abuse limits: a query's cost is counted before validation, and
every request is rate limited per client as REST writes are."""

import pytest
from rest_framework.test import APIClient

from polls.models import Poll
from polls.throttles import AnonAddressThrottle, AnonVoterThrottle, UserThrottle
from tests.graphql.test_http import VOTE, codes, gql
from tests.helpers import choice_ids

pytestmark = pytest.mark.django_db


def test_one_field_asked_for_497_times_is_refused_before_validation(api, monkeypatch):
    from strawberry.schema import schema

    ran = []
    real = schema.validate_document

    def spy(*args):  # validation: its field-pair comparison is what the finding hit
        ran.append(1)
        return real(*args)

    monkeypatch.setattr(schema, "validate_document", spy)
    assert "errors" not in gql(api, "{ polls { id } }") and ran == [1]  # the spy sees it
    ran.clear()
    body = gql(api, "{ " + "polls { id } " * 497 + "}")
    assert codes(body) == ["too_complex"] and body["data"] is None
    assert "at most 250" in body["errors"][0]["message"]
    assert ran == []  # validation never started


def test_fragments_count_where_they_are_spread(api, db):
    fields = " ".join(f"f{i}: question" for i in range(12))
    fan_out = "{ polls { ...F ...F } " + " ".join(f"p{i}: polls {{ ...F }}" for i in range(18))
    body = gql(api, fan_out + " } fragment F on Poll { " + fields + " }")
    assert codes(body) == ["too_complex"]


def test_a_cycle_of_fragments_ends_quickly_with_an_error(api, db):
    query = "{ polls { ...A } } fragment A on Poll { id ...B } fragment B on Poll { ...A }"
    body = gql(api, query)
    assert body["data"] is None and body["errors"]  # too_complex or the cycle rule


def test_an_ordinary_query_is_well_under_the_cost(api, poll):
    query = "{ polls { id question status choices { id text } } }"
    assert "errors" not in gql(api, query)


@pytest.fixture
def low_rates(monkeypatch):
    # DRF reads rates once at import; set them on the classes instead.
    monkeypatch.setattr(AnonVoterThrottle, "rate", "3/min", raising=False)
    monkeypatch.setattr(AnonAddressThrottle, "rate", "3/min", raising=False)
    monkeypatch.setattr(UserThrottle, "rate", "3/min", raising=False)


def test_graphql_requests_are_rate_limited_per_client(db, low_rates):
    client = APIClient()
    answers = [
        client.post("/graphql/", {"query": "{ polls { id } }"}, format="json") for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json()["code"] == "throttled"
    assert int(answers[-1]["Retry-After"]) > 0


def test_a_mutation_counts_once_and_a_second_one_in_the_same_document_again(poll, low_rates):
    red = str(choice_ids(poll)[0])
    client = APIClient()
    first = gql(client, VOTE, poll=poll.id, choices=[red])
    assert codes(first) == []  # the request's count is the vote's count
    two = (
        "mutation { a: createVoter b: createVoter }"  # two writes: the door's count, then one more
    )
    assert codes(gql(client, two)) == []
    refused = client.post("/graphql/", {"query": "{ polls { id } }"}, format="json")
    assert refused.status_code == 429  # 1 + 2 counted of 3, then the door refuses
    assert Poll.objects.count() == 1
