"""A text poll's answers, moderated by its owner: show or hide one.

Only shown answers count into the poll's words (TallyLine `w:<word>`), so
moving an answer between states moves its words and the shown / pending
counts, with a new version and its broadcast, under the poll's lock (the
vote pipeline's lock order: the poll first). A quarantined ballot's answer
counts nowhere, so only its state moves (services.integrity).
"""

from collections import Counter

from django.db import connection, transaction
from django.utils.translation import gettext

from nexus.errors import NotFound

from .. import text
from ..models import Answer, Ballot
from . import batch_sql
from .common import bump, locked_owned_poll


@transaction.atomic
def answer_moderate(*, poll_id: str, answer_id: int, user, state: str) -> Answer:
    poll = locked_owned_poll(poll_id, user)
    answer = Answer.objects.filter(poll=poll, pk=answer_id).first()
    if answer is None:
        raise NotFound(gettext("No answer with this id in this poll."))
    counted = not Ballot.objects.filter(pk=answer.ballot_id, quarantine__isnull=False).exists()
    if answer.state != state and counted:
        delta: Counter = Counter()
        for key in text.lines(answer.words, answer.state):
            delta[(poll.id, key)] -= 1
        for key in text.lines(answer.words, state):
            delta[(poll.id, key)] += 1
        with connection.cursor() as cursor:
            batch_sql.lines_apply(cursor, delta)
        bump(poll, fields=[])
    if answer.state != state:  # a quarantined ballot's answer counts nowhere: its state only
        answer.state = state
        answer.save(update_fields=["state"])
    return answer
