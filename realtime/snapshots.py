"""The state behind a key, read now, as its channel-layer event: a poll's
(key: its join code) or an event's (key: "event.<id>"). The publisher reads
it to send, the hub to resync a socket that fell behind."""

from polls import selectors

from .states import EVENT_KEY, event_for, event_key, event_state_for


def read_event(key: str) -> dict:
    if key.startswith(EVENT_KEY):
        event_id = key.removeprefix(EVENT_KEY)
        return event_state_for(event_id, selectors.event_live_state(event_id=event_id))
    return event_for(key, selectors.live_state(poll_id=key))


def versions(keys: list[str]) -> dict[str, int]:
    """{key: version} for the polls and events still there; a query each."""
    events = [k.removeprefix(EVENT_KEY) for k in keys if k.startswith(EVENT_KEY)]
    found = selectors.poll_versions(poll_ids=[k for k in keys if not k.startswith(EVENT_KEY)])
    if events:
        by_event = selectors.event_versions(event_ids=events)
        found.update({event_key(e): v for e, v in by_event.items()})
    return found
