"""Writes, one module per concern: polls, votes (the vote pipeline),
idempotency, invites, timing (the clock's opens and closes, the results
email) and exports. Reads are in polls.selectors."""

from .polls import (
    Drift,
    poll_close,
    poll_create,
    poll_delete,
    poll_open,
    poll_recount,
    poll_reset,
    poll_update,
)
from .votes import VoteOutcome, vote_cast, vote_withdraw

__all__ = [
    "Drift",
    "VoteOutcome",
    "poll_close",
    "poll_create",
    "poll_delete",
    "poll_open",
    "poll_recount",
    "poll_reset",
    "poll_update",
    "vote_cast",
    "vote_withdraw",
]
