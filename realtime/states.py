"""What a screen is sent, and nothing else: pure functions, no I/O.

A poll's live state (polls.selectors.LiveState) becomes a channel-layer
*event*: the message encoded once to the exact text every socket sends, plus
what the sockets need to decide who may see it (`public`: everyone may, so
no socket needs to ask). Versions order the events; a deletion is newer than
any state. A *frame* is the ASGI message that sends a text: a process builds
one per event and hands the same object to every socket.
"""

import json

from polls.visibility import results_denial

DELETED = 2**63  # the version of a deletion: newer than any state


def group_name(poll_id: str) -> str:
    return f"poll.{poll_id}"


def encode(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"))


def text_frame(text: str) -> dict:
    """The ASGI message sending `text`; servers only read it, so sockets share it."""
    return {"type": "websocket.send", "text": text}


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
        # Nobody is refused what an anonymous non-voter may see.
        "public": results_denial(
            is_owner=False,
            draft=state.draft,
            closed=state.closed,
            results=state.results,
            voted=False,
        )
        is None,
    }


def version_of(event: dict) -> int:
    return event.get("version", DELETED)
