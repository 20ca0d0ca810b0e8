"""Instant runoff and the kinds' results, as pure functions (polls.kinds)."""

import itertools

from polls.kinds import irv, lines, results

A, B, C, D = 11, 12, 13, 14


def count(rankings: dict, candidates=(A, B, C)):
    borda = {c: 0 for c in candidates}
    last = len(candidates) - 1
    for ranking, n in rankings.items():
        for place, c in enumerate(ranking):
            borda[c] += (last - place) * n
    return irv(list(candidates), rankings, borda)


def test_a_majority_of_first_preferences_wins_in_the_first_round():
    assert count({(A, B): 3, (B,): 1, (C, A): 1}) == {
        "rounds": [{"counts": {"11": 3, "12": 1, "13": 1}, "eliminated": None}],
        "winner": A,
    }


def test_the_last_is_eliminated_and_its_ballots_move_to_their_next_choice():
    # A 4, B 3, C 2: C goes, its ballots go to B, who then has 5 of 9.
    result = count({(A,): 4, (B, A): 3, (C, B): 2})
    assert result == {
        "rounds": [
            {"counts": {"11": 4, "12": 3, "13": 2}, "eliminated": C},
            {"counts": {"11": 4, "12": 5}, "eliminated": None},
        ],
        "winner": B,
    }


def test_exhausted_ballots_count_for_nobody_and_the_majority_is_of_the_rest():
    # C's two ballots rank nobody else: round two is A 4 of 7 counted.
    result = count({(A,): 4, (B,): 3, (C,): 2})
    assert result["rounds"][1] == {"counts": {"11": 4, "12": 3}, "eliminated": None}
    assert result["winner"] == A


def test_a_tie_for_last_goes_to_fewer_ballots_in_the_round_before():
    # Round 1: A 5, B 3, C 3, D 2 -> D out (to C). Round 2: A 5, B 3, C 5 ...
    # Built so B and C tie in round 2 but C had more in round 1: B goes.
    rankings = {(A,): 4, (B,): 3, (C,): 2, (D, B): 1, (D, C): 1, (A, C): 1}
    result = count(rankings, (A, B, C, D))
    first, second = result["rounds"][:2]
    assert first == {"counts": {"11": 5, "12": 3, "13": 2, "14": 2}, "eliminated": D}
    # D's ballots: one to B (4), one to C (3). Nobody ties here; the next test does.
    assert second["counts"] == {"11": 5, "12": 4, "13": 3}
    tied = {(A,): 3, (B,): 2, (C,): 1, (D, C): 1}  # round 2: B 2, C 2; round 1: B 2, C 1
    rounds = count(tied, (A, B, C, D))["rounds"]
    assert rounds[0]["eliminated"] == D
    assert rounds[1]["counts"] == {"11": 3, "12": 2, "13": 2}
    assert rounds[1]["eliminated"] == C  # fewer in the round before


def test_a_tie_with_the_same_history_goes_to_fewer_borda_points_then_the_later_listed():
    # D has no ballots and goes first; then B and C tie in every round so
    # far, and B is ranked second on A's ballots: C goes.
    rounds = count({(A, B): 2, (B,): 1, (C,): 1}, (A, B, C, D))["rounds"]
    assert [r["eliminated"] for r in rounds] == [D, C, None]
    # Nothing tells B and C apart: the one listed later goes.
    rounds = count({(A,): 2, (B,): 1, (C,): 1}, (A, B, C, D))["rounds"]
    assert [r["eliminated"] for r in rounds[:2]] == [D, C]
    rounds = count({(A,): 2, (B,): 1, (C,): 1}, (A, C, B, D))["rounds"]
    assert [r["eliminated"] for r in rounds[:2]] == [D, B]


def test_the_count_is_the_same_whatever_order_the_ballots_arrive_in():
    rankings = {(A, B): 2, (B, C): 2, (C, A): 2, (A,): 1, (C, B, A): 1}
    expected = count(rankings)
    for order in itertools.permutations(rankings.items()):
        assert count(dict(order)) == expected


def test_no_ballots_no_rounds_and_no_winner():
    assert count({}) == {"rounds": [], "winner": None}


def test_a_rating_ballot_adds_one_line_per_score_and_results_read_them():
    counted = lines("rating", {(A, 4), (B, 1)}) + lines("rating", {(A, 2)})
    assert counted == {f"m:{A}:4": 1, f"m:{B}:1": 1, f"m:{A}:2": 1}
    per_choice, extra = results("rating", (1, 5), [A, B, C], counted)
    assert per_choice[A] == {"count": 2, "mean": 3.0, "distribution": [0, 1, 0, 1, 0]}
    assert per_choice[B] == {"count": 1, "mean": 1.0, "distribution": [1, 0, 0, 0, 0]}
    assert per_choice[C] == {"count": 0, "mean": None, "distribution": [0, 0, 0, 0, 0]}
    assert extra == {}


def test_a_ranking_ballot_adds_its_places_and_its_whole_order():
    counted = lines("ranking", {(B, 0), (A, 1)})
    assert counted == {f"m:{B}:0": 1, f"m:{A}:1": 1, f"r:{B},{A}": 1}
    per_choice, extra = results("ranking", None, [A, B, C], counted)
    assert per_choice == {
        A: {"borda": 1, "first": 0},
        B: {"borda": 2, "first": 1},
        C: {"borda": 0, "first": 0},
    }
    assert extra["irv"]["winner"] == B


def test_single_and_multiple_choice_keep_no_lines():
    assert lines("single", {(A, None)}) == {}
    assert results("multiple", None, [A, B], {}) == ({}, {})


def recounted_each_round(candidates, rankings, borda):
    """The rule as written, counted from scratch every round: what `irv`'s
    piles must agree with."""
    if not any(rankings.values()):
        return {"rounds": [], "winner": None}
    running, history, rounds = list(candidates), [], []
    while True:
        counts = dict.fromkeys(running, 0)
        for ranking, n in rankings.items():
            top = next((c for c in ranking if c in counts), None)
            if top is not None:
                counts[top] += n
        history.append(counts)
        leader = max(running, key=lambda c: counts[c])
        shown = {str(c): counts[c] for c in running}
        if 2 * counts[leader] > sum(counts.values()) or len(running) == 1:
            rounds.append({"counts": shown, "eliminated": None})
            return {"rounds": rounds, "winner": leader}
        out = min(
            running,
            key=lambda c: ([h[c] for h in reversed(history)], borda[c], -candidates.index(c)),
        )
        rounds.append({"counts": shown, "eliminated": out})
        running.remove(out)


def test_the_piles_agree_with_a_recount_every_round_on_random_elections():
    import random

    rng = random.Random(7)
    for _ in range(300):
        candidates = list(range(1, rng.randint(2, 7) + 1))
        rankings = {}
        for _ in range(rng.randint(0, 12)):
            order = tuple(rng.sample(candidates, rng.randint(1, len(candidates))))
            rankings[order] = rankings.get(order, 0) + rng.randint(1, 3)
        borda = {c: 0 for c in candidates}
        for order, n in rankings.items():
            for place, c in enumerate(order):
                borda[c] += (len(candidates) - 1 - place) * n
        assert irv(candidates, rankings, borda) == recounted_each_round(candidates, rankings, borda)
