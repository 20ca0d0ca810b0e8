"""On Postgres a poll's tally is read in one statement (selectors._TALLY_SQL):
for every kind it must build the same results as the ORM's reads."""

import pytest

from polls.models import Answer, Ballot, Question, TallyLine
from polls.selectors import _tally_one_statement, _tally_transaction, results_snapshot
from tests.factories import UserFactory, make_poll
from tests.helpers import cast, choice_ids

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("postgres")]


def both(poll_id: str) -> tuple[dict, dict]:
    one, orm = _tally_one_statement(poll_id), _tally_transaction(poll_id)
    assert one is not None and orm is not None
    return results_snapshot(one), results_snapshot(orm)


@pytest.mark.parametrize("kind", ["single", "multiple", "rating", "ranking"])
def test_choice_kinds_read_the_same(api, kind):
    scale = {"scale_min": 1, "scale_max": 5} if kind == "rating" else {}
    poll = make_poll(
        owner=UserFactory(), kind=kind, max_choices=2 if kind == "multiple" else 1, **scale
    )
    ids = choice_ids(poll)
    bodies = {
        "single": [{"choices": [ids[0]]}, {"choices": [ids[1]]}],
        "multiple": [{"choices": ids[:2]}, {"choices": [ids[2]]}],
        "rating": [{"ratings": {str(ids[0]): 5, str(ids[1]): 2}}, {"ratings": {str(ids[0]): 1}}],
        "ranking": [{"ranking": ids}, {"ranking": list(reversed(ids))}],
    }[kind]
    for n, body in enumerate(bodies):
        assert cast(api, poll.id, body, voter=f"v{n}").status_code == 201
    one, orm = both(poll.id)
    assert one == orm and one["total_votes"] == 2


def test_a_text_poll_reads_the_same_top_words_ties_and_all(api):
    poll = make_poll(owner=UserFactory(), kind="text", choices=[])
    ballots = Ballot.objects.bulk_create(
        Ballot(poll=poll, voter_key=f"anon:{n}") for n in range(15)
    )
    Answer.objects.bulk_create(
        Answer(poll=poll, ballot=b, text=f"a{n}", words=f"a{n}", state="shown")
        for n, b in enumerate(ballots)
    )
    # 150 words, many tied at the 100th place; names that sort differently
    # by byte and by a locale's collation.
    words = [f"{'Éé'[n % 2]}w{n % 7}-{n}" for n in range(150)] + ["zebra", "Zebra", "éclair"]
    TallyLine.objects.bulk_create(
        [TallyLine(poll=poll, key=f"w:{w}", count=1 + n % 3) for n, w in enumerate(words)]
        + [TallyLine(poll=poll, key="n:shown", count=15), TallyLine(poll=poll, key="w:gone")]
    )
    one, orm = both(poll.id)
    assert one == orm
    assert len(one["words"]) == 100 and len(one["answers"]) == 10 and one["shown"] == 15


def test_a_qa_poll_reads_the_same_pinned_one_included():
    poll = make_poll(owner=UserFactory(), kind="qa", choices=[])
    Question.objects.bulk_create(
        Question(
            poll=poll,
            voter_key=f"anon:{n}",
            text=f"q{n}",
            state=["shown", "answered", "pending", "hidden"][n % 4],
            upvotes=n % 40,
            pinned=n == 3,
        )
        for n in range(300)
    )
    Question.objects.filter(poll=poll, text="q3").update(state="shown", upvotes=0)
    one, orm = both(poll.id)
    assert one == orm
    assert len(one["questions"]) == 100 and (one["shown"], one["pending"]) == (151, 75)
    assert [q["text"] for q in one["questions"] if q["pinned"]] == ["q3"]


def test_a_missing_poll_reads_as_none():
    assert _tally_one_statement("NOSUCH") is None and _tally_transaction("NOSUCH") is None
