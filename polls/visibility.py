"""Who may see a poll's results: one rule for REST, GraphQL and sockets."""

from .models import Poll


def results_denial(
    *, is_owner: bool, draft: bool, closed: bool, results: str, voted: bool
) -> str | None:
    """None if the caller may see the results, else the error code.

    Drafts are their owner's alone (`not_found`); the owner always sees
    results; others by the poll's `results` setting (`results_hidden`).
    """
    if draft and not is_owner:
        return "not_found"
    if is_owner or closed or results == Poll.Results.LIVE:
        return None
    if results == Poll.Results.AFTER_VOTE and voted:
        return None
    return "results_hidden"
