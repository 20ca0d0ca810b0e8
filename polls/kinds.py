"""What each question kind makes of a vote and of the results (contract v2,
"Question kinds"). Pure functions: the pipeline checks a body here and
writes what `lines` says; the selectors read those counts back into results.

A ballot is a set of marks, (choice id, value): the value is None for single
and multiple choice, a rating's score, or a ranking's place (0 is first).

Instant runoff is written here rather than taken from a library: the
libraries on PyPI (pyrankvote, rank-choicer) take one object per ballot
and break ties their own way (some at random), while results here are
counted from cached counts of distinct rankings and must come out the same
in every run, by the rule in `irv`'s docstring (docs/API.md repeats it).
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy, ngettext_lazy

from nexus.errors import Invalid

from .errors import InvalidChoice

Mark = tuple[int, int | None]
WITH_LINES = ("rating", "ranking", "text")  # kinds whose results need TallyLine counts
CHOICES_ONLY = ("single", "multiple")  # kinds whose results are their choices' counts

# Which body each kind takes: {"choices": [...]}, {"ratings": {...}}, {"ranking": [...]}.
SHAPES = {
    "single": "choices",
    "multiple": "choices",
    "rating": "ratings",
    "ranking": "ranking",
    "text": "text",
    "qa": "question",  # no vote body: questions go to /api/polls/{id}/questions/
}
EXAMPLES = {
    "choices": '{"choices": [choice ids]}',
    "ratings": '{"ratings": {"<choice id>": score}}',
    "ranking": '{"ranking": [choice ids, best first]}',
    "text": '{"text": "your answer"}',
    "question": '{"text": "your question"} to /api/polls/{id}/questions/',
}


@dataclass(frozen=True)
class VoteBody:
    """A vote's body, checked for types only (what the poll takes is decided
    under its lock): `ids` are the choices, the rated items (scores in
    `values`), or the ranking, best first."""

    shape: str = "choices"
    ids: tuple[int, ...] = ()
    values: tuple[int, ...] = ()
    text: str | None = None  # shape "text"

    def as_json(self) -> dict:
        """The body as sent, for the Idempotency-Key fingerprint."""
        if self.shape == "text":
            return {"text": self.text}
        if self.shape == "ratings":
            return {"ratings": dict(zip(map(str, self.ids), self.values, strict=True))}
        return {self.shape: list(self.ids)}


# The messages are lazy: the vote pipeline's committer thread raises them,
# and they become text in the request's language when the answer is rendered.
NO_MARK = {
    "rating": gettext_lazy("Rate at least one item."),
    "ranking": gettext_lazy("Rank at least one choice."),
}


def check_shape(poll, shape: str) -> None:
    """400 `invalid` for a body of another kind's shape."""
    expected = SHAPES[poll.kind]
    if shape != expected:
        values = {"kind": poll.kind, "example": EXAMPLES[expected]}
        raise Invalid(
            format_lazy(gettext_lazy("This is a {kind} poll: send {example}."), **values),
            fields={shape: format_lazy(gettext_lazy("A {kind} poll takes {example}."), **values)},
        )


def checked_marks(
    poll, valid: set[int], shape: str, ids: tuple[int, ...], values: tuple[int, ...]
) -> frozenset[Mark]:
    """The ballot a vote body makes in `poll` (whose choice ids are `valid`),
    or the contract's error: 400 `invalid` for another kind's body, 400
    `invalid_choice` for choices this poll does not take."""
    check_shape(poll, shape)
    rating = poll.kind == "rating"
    if not ids:
        raise InvalidChoice(NO_MARK.get(poll.kind, gettext_lazy("Pick at least one choice.")))
    if len(set(ids)) != len(ids):
        raise InvalidChoice(
            gettext_lazy("An item may be named only once.")
            if rating
            else gettext_lazy("A choice may be named only once.")
        )
    unknown = sorted(set(ids) - valid)
    if unknown:
        text = (
            gettext_lazy("Unknown item for this poll: {unknown}.")
            if rating
            else gettext_lazy("Unknown choice for this poll: {unknown}.")
        )
        raise InvalidChoice(format_lazy(text, unknown=unknown))
    if rating:
        low, high = poll.scale_min, poll.scale_max
        if any(not low <= v <= high for v in values):
            text = gettext_lazy("Rate each item from {low} to {high}.")
            raise InvalidChoice(format_lazy(text, low=low, high=high))
        return frozenset(zip(ids, values, strict=True))
    if poll.kind == "ranking":
        return frozenset((c, place) for place, c in enumerate(ids))
    limit = 1 if poll.kind == "single" else poll.max_choices
    if len(ids) > limit:
        text = ngettext_lazy("Pick at most {limit} choice.", "Pick at most {limit} choices.", limit)
        raise InvalidChoice(format_lazy(text, limit=limit))
    return frozenset((c, None) for c in ids)


def in_order(marks: Iterable[Mark]) -> list[int]:
    """A ranking's choice ids, best first (other kinds: by id)."""
    return [c for c, _ in sorted(marks, key=lambda m: (m[1] is not None and m[1], m[0]))]


def ratings_of(marks: Iterable[Mark]) -> dict[str, int]:
    return {str(c): v for c, v in sorted(marks) if v is not None}


def lines(kind: str, marks: Iterable[Mark]) -> Counter:
    """The cached counts (TallyLine keys) one ballot adds: `m:<choice>:<value>`
    per mark, and for a ranking `r:<ids best first>` for the whole order."""
    if kind not in WITH_LINES:
        return Counter()
    marks = list(marks)
    counted = Counter(f"m:{c}:{v}" for c, v in marks)
    if kind == "ranking" and marks:
        counted["r:" + ",".join(map(str, in_order(marks)))] += 1
    return counted


def results(kind: str, scale: tuple[int, int] | None, choice_ids: list[int], counts: Mapping):
    """Per choice the kind's result fields, and the results' extra fields,
    from the poll's tally lines ({key: count}). `choice_ids` in poll order."""
    if kind not in WITH_LINES:
        return {}, {}
    values: dict[int, Counter] = {c: Counter() for c in choice_ids}
    rankings: dict[tuple[int, ...], int] = {}
    for key, n in counts.items():
        if n <= 0:
            continue
        if key.startswith("m:"):
            _, choice, value = key.split(":")
            if int(choice) in values:
                values[int(choice)][int(value)] += n
        elif key.startswith("r:"):
            rankings[tuple(int(c) for c in key[2:].split(","))] = n
    if kind == "rating":
        assert scale is not None
        return {c: _rating(values[c], scale) for c in choice_ids}, {}
    last = len(choice_ids) - 1
    per_choice = {
        c: {
            "borda": sum((last - place) * n for place, n in values[c].items()),
            "first": values[c][0],
        }
        for c in choice_ids
    }
    borda = {c: per_choice[c]["borda"] for c in choice_ids}
    return per_choice, {"irv": irv(choice_ids, rankings, borda)}


def _rating(values: Counter, scale: tuple[int, int]) -> dict:
    count = sum(values.values())
    total = sum(v * n for v, n in values.items())
    return {
        "count": count,
        "mean": round(total / count, 4) if count else None,
        "distribution": [values[v] for v in range(scale[0], scale[1] + 1)],
    }


def irv(candidates: list[int], rankings: Mapping[tuple[int, ...], int], borda: Mapping) -> dict:
    """Instant runoff over `rankings` ({ids best first: ballots}).

    Each round counts every ballot for its highest-ranked candidate still in
    the running (a ballot whose candidates are all out counts for nobody).
    A candidate with more than half the round's counted ballots wins; else
    the one with the fewest is eliminated, one per round. Ties for fewest
    go, in this order, to: fewer ballots in the previous round, then the one
    before (back to the first); fewer Borda points; the one listed later in
    the poll. No ballots: no rounds and no winner.

    Each ranking is placed on its top candidate's pile once, and moves on
    only when that candidate is eliminated: the whole count reads each
    ranking's ids at most once, however many rounds there are.
    """
    if not any(rankings.values()):
        return {"rounds": [], "winner": None}
    running = list(candidates)  # poll order
    counts = dict.fromkeys(running, 0)
    piles: dict[int, list[tuple[tuple[int, ...], int, int]]] = {c: [] for c in running}

    def place(ranking: tuple[int, ...], at: int, n: int) -> None:
        while at < len(ranking) and ranking[at] not in counts:
            at += 1
        if at < len(ranking):
            piles[ranking[at]].append((ranking, at, n))
            counts[ranking[at]] += n

    for ranking, n in rankings.items():
        if n > 0:
            place(ranking, 0, n)
    history: list[dict[int, int]] = []
    rounds: list[dict] = []
    while True:
        history.append(dict(counts))
        counted = sum(counts.values())
        leader = max(running, key=lambda c: counts[c])
        shown = {str(c): counts[c] for c in running}
        if 2 * counts[leader] > counted or len(running) == 1:
            rounds.append({"counts": shown, "eliminated": None})
            return {"rounds": rounds, "winner": leader}
        out = min(
            running,
            key=lambda c: (
                [past[c] for past in reversed(history)],
                borda.get(c, 0),
                -candidates.index(c),
            ),
        )
        rounds.append({"counts": shown, "eliminated": out})
        running.remove(out)
        del counts[out]
        for ranking, at, n in piles.pop(out):
            place(ranking, at + 1, n)
