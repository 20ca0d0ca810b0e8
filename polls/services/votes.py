"""Votes: cast, change or withdraw a ballot. Every one goes through the vote
pipeline (pipeline.py), which commits it, with the tally and a new version,
in a batch with whatever else arrived at the same time."""

import re
from collections.abc import Sequence

from django.utils.translation import gettext

from nexus.errors import NotFound

from ..challenges import Proof
from ..integrity import NO_SIGNALS, Signals
from ..models import JOIN_CODE_PATTERN
from ..voters import Voter
from .batch_decide import VoteOutcome
from .pipeline import BallotWrite, commit

__all__ = ["VoteOutcome", "vote_cast", "vote_withdraw"]

JOIN_CODE = re.compile(JOIN_CODE_PATTERN)


def vote_cast(
    *,
    poll_id: str,
    voter: Voter,
    choice_ids: Sequence[int],
    shape: str = "choices",
    values: Sequence[int] = (),
    text: str | None = None,
    words: Sequence[str] = (),
    passcode: str | None = None,
    address: str = "",
    challenge: Proof | None = None,
    signals: Signals = NO_SIGNALS,
    key: str | None = None,
    fingerprint: str = "",
) -> VoteOutcome:
    """Record the voter's ballot, or change it where the poll allows.

    `choice_ids` are the choices, the rated items (their scores in `values`)
    or the ranking, best first, as `shape` says (polls.kinds.VoteBody).

    `address` is the client's address prefix (polls.voters.address_prefix),
    counted against the poll's cap for anonymous first ballots, which also
    spend `challenge` where the poll asks for proof of work and keep
    `signals` for stuffing detection. With `key`
    (an Idempotency-Key, scoped to the voter), the first answer is stored
    with the ballot and replayed to a retry with the same `fingerprint`.
    """
    if not JOIN_CODE.fullmatch(poll_id):  # what no poll can be called (NUL bytes, ...)
        raise NotFound(gettext("No poll with this id."))
    write = BallotWrite(
        poll_id=poll_id,
        voter=voter,
        choice_ids=tuple(choice_ids),
        shape=shape,
        values=tuple(values),
        text=text,
        words=tuple(words),
        passcode=passcode,
        address=address,
        challenge=challenge,
        signals=signals,
        key=key,
        fingerprint=fingerprint,
    )
    return commit(write)


def vote_withdraw(*, poll_id: str, voter: Voter) -> None:
    """Withdraw the voter's own ballot; its identity is proof enough (no passcode)."""
    if not JOIN_CODE.fullmatch(poll_id):
        raise NotFound(gettext("No poll with this id."))
    commit(BallotWrite(poll_id=poll_id, voter=voter, choice_ids=None))
