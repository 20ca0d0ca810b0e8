"""What a screen is sent, and nothing else: pure functions, no I/O.

A poll's live state (polls.selectors.LiveState) becomes a channel-layer
*event*: the message encoded once to the exact text every socket sends, plus
what the sockets need to decide who may see it. Versions order the events;
a deletion is newer than any state.
"""

import json

DELETED = 2**63  # the version of a deletion: newer than any state


def group_name(poll_id: str) -> str:
    return f"poll.{poll_id}"


def encode(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"))


def event_for(poll_id: str, state) -> dict:
    """The event for a LiveState (None: the poll is gone): the text plus who may see it."""
    if state is None:
        return {
            "type": "poll.deleted",
            "poll": poll_id,
            "text": encode({"type": "deleted", "poll": poll_id}),
        }
    return {
        "type": "poll.results",
        "poll": poll_id,
        "version": state.version,
        "text": encode(state.message),
        "owner": state.owner_id,
        "results": state.results,
        "draft": state.draft,
        "closed": state.closed,
    }


def version_of(event: dict) -> int:
    return event.get("version", DELETED)
