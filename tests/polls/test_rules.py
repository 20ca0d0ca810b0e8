"""One rule, "takes votes now", in each form its callers use."""

import itertools
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from polls.models import ACCEPTS_VOTES_PARAMS, ACCEPTS_VOTES_SQL, Poll
from tests.factories import UserFactory, make_poll

pytestmark = pytest.mark.django_db


def test_the_takes_votes_rule_agrees_in_every_form():
    owner, now = UserFactory(), timezone.now()
    moments = [None, now - timedelta(hours=1), now, now + timedelta(hours=1)]
    for status, opens_at, closes_at in itertools.product(Poll.Status.values, moments, moments):
        poll = make_poll(owner=owner)
        Poll.objects.filter(pk=poll.pk).update(
            status=status, opens_at=opens_at, closes_at=closes_at
        )
    polls = list(Poll.objects.all())
    in_python = {p.id for p in polls if p.accepts_votes(now)}
    in_orm = set(Poll.objects.filter(Poll.accepting_votes(now)).values_list("id", flat=True))
    with connection.cursor() as cursor:
        at = connection.ops.adapt_datetimefield_value(now)
        cursor.execute(
            f"SELECT id FROM polls_poll WHERE {ACCEPTS_VOTES_SQL}", ACCEPTS_VOTES_PARAMS(at)
        )
        in_sql = {row[0] for row in cursor.fetchall()}
    assert in_python == in_orm == in_sql
    # open, opens_at in {none, past, now} x closes_at in {none, future}
    assert len(in_python) == 6
    past_close = set(Poll.objects.filter(Poll.past_close(now)).values_list("id", flat=True))
    assert past_close == {
        p.id for p in polls if p.status == "open" and p.effective_status(now) == "closed"
    }
