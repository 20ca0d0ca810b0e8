import pytest
from django.core.management import CommandError, call_command

from polls.models import Choice, Poll
from tests.factories import make_poll
from tests.helpers import choice_ids, vote

pytestmark = pytest.mark.django_db


def test_recount_restores_drifted_counters_from_the_ballots(api, user, capsys):
    poll = make_poll(owner=user, kind="multiple", max_choices=2)
    red, green, blue = choice_ids(poll)
    vote(api, poll.id, [red, green], voter="voter-0001")
    vote(api, poll.id, [red], voter="voter-0002")
    Choice.objects.filter(pk=red).update(votes=7)
    Poll.objects.filter(pk=poll.pk).update(total_votes=0)
    version = Poll.objects.get().version

    call_command("recount", poll.id.lower())

    assert capsys.readouterr().out.splitlines() == [
        f"{poll.id}: choice {red} was 7, counted 2",
        f"{poll.id}: total_votes was 0, counted 2",
        "Recounted 1 poll(s); fixed 2 drifted counter(s).",
    ]
    results = api.get(f"/api/polls/{poll.id}/results/").json()
    assert results["total_votes"] == 2
    assert [c["votes"] for c in results["choices"]] == [2, 1, 0]
    assert results["version"] == version + 1


def test_recount_without_drift_changes_nothing(api, poll, capsys):
    vote(api, poll.id, choice_ids(poll)[:1])
    version = Poll.objects.get().version
    call_command("recount")
    assert capsys.readouterr().out == "Recounted 1 poll(s); fixed 0 drifted counter(s).\n"
    assert Poll.objects.get().version == version


def test_recount_of_unknown_poll_fails(db):
    with pytest.raises(CommandError, match="No poll with id: NOPE42"):
        call_command("recount", "NOPE42")
