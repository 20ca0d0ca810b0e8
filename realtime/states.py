"""What a screen is sent, and nothing else: pure functions, no I/O.

A poll's live state (polls.selectors.LiveState) becomes a channel-layer
*event*: the message encoded once to the exact text every socket sends, plus
what the sockets need to decide who may see it (`public`: everyone may, so
no socket needs to ask). Versions order the events; a deletion is newer than
any state. An event's state travels the same way, under the key
"event.<id>" (`event_state_for`). A *frame* is the ASGI message that sends a text: a process builds
one per event and hands the same object to every socket.
"""

import json

from polls.visibility import results_denial

DELETED = 2**63  # the version of a deletion: newer than any state


EVENT_KEY = "event."  # an event's key in the hub and the coalescer: "event.<id>"


def event_key(event_id: str) -> str:
    """Events share the polls' machinery under keys no join code can be."""
    return f"{EVENT_KEY}{event_id}"


def group_name(key: str) -> str:
    """A poll's channel-layer group, or an event's (its key already is one)."""
    return key if key.startswith(EVENT_KEY) else f"poll.{key}"


def encode(message: dict) -> str:
    # As UTF-8, not \u escapes: a text poll's words and answers in Greek or
    # Japanese would otherwise take two to six times the bytes.
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


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


def event_state_for(event_id: str, state: dict | None) -> dict:
    """The channel-layer event for an event's state (selectors.event_live_state;
    None: the event is gone). Anyone may see it: no visibility fields."""
    key = event_key(event_id)
    if state is None:
        text = encode({"type": "deleted", "event": event_id})
        return {"type": "event.deleted", "poll": key, "text": text}
    return {
        "type": "event.state",
        "poll": key,
        "version": state["version"],
        "current": state["current"],
        "text": encode(state),
    }


def version_of(event: dict) -> int:
    return event.get("version", DELETED)
