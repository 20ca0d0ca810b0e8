import pytest
from django.core.management import call_command

from polls.models import Poll
from tests.factories import UserFactory
from tests.helpers import anon, choice_ids, vote

pytestmark = pytest.mark.django_db


def test_admin_lists_polls_and_ballots_read_mostly(client, api, poll):
    vote(api, poll.id, choice_ids(poll)[:1])
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert poll.id.encode() in client.get("/admin/polls/poll/").content
    assert anon("voter-0001").key.encode() in client.get("/admin/polls/ballot/").content
    assert client.get("/admin/polls/poll/add/").status_code == 403
    assert client.get("/admin/polls/ballot/add/").status_code == 403


def test_demo_command_creates_one_open_poll_and_prints_its_urls(capsys):
    call_command("demo")
    call_command("demo")
    poll = Poll.objects.get()
    out = capsys.readouterr().out
    assert poll.status == "open" and poll.owner.username == "demo"
    assert f"  present   http://127.0.0.1:8000/p/{poll.id}/present/" in out
    first = poll.choices.order_by("position").first()
    assert out.splitlines()[-1] == (
        f"Try a vote: curl -s -XPOST http://127.0.0.1:8000/api/polls/{poll.id}/votes/ "
        f"-H 'Content-Type: application/json' -d '{{\"choices\":[{first.pk}]}}'"
    )
    assert f"  websocket ws://127.0.0.1:8000/ws/polls/{poll.id}/" in out
