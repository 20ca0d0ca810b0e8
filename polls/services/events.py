"""Events: one join code for a series of polls that a presenter steps
through (create, add a poll, reorder or remove polls, switch the current
poll, delete).

Lock order: an event's row comes after its polls' rows (poll_create and
poll_delete hold the poll when they get here; event_current_set locks its
poll first).
Every change the room sees bumps `event.version`.
"""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext

from nexus.errors import Forbidden, Invalid, NotAuthenticated, NotFound
from realtime import publish

from ..models import Event, EventPoll, Poll
from .join_codes import join_code_claim


@transaction.atomic
def event_create(*, owner, title: str, embed_origins: list[str] | None = None) -> Event:
    return Event.objects.create(
        id=join_code_claim(), owner=owner, title=title, embed_origins=embed_origins or []
    )


@transaction.atomic
def event_update(*, event_id: str, user, **changes) -> Event:
    """Title and embed origins: validated already."""
    event = _locked_owned_event(event_id, user)
    for field, value in changes.items():
        setattr(event, field, value)
    _bump(event, fields=list(changes))
    return event


def _locked_owned_event(event_id: str, user) -> Event:
    if not user.is_authenticated:
        raise NotAuthenticated()
    event = Event.objects.select_for_update().filter(pk=event_id).first()
    if event is None:
        raise NotFound(gettext("No event with this id."))
    if event.owner_id != user.pk:
        raise Forbidden(gettext("Only the event's owner may do this."))
    return event


def _bump(event: Event, *, fields: list[str]) -> None:
    event.version += 1
    event.updated_at = timezone.now()
    event.save(update_fields=[*fields, "version", "updated_at"])
    _broadcast_after_commit(event.pk)


def _broadcast_after_commit(event_id: str) -> None:
    # robust: the write is committed whatever happens to its broadcast.
    transaction.on_commit(lambda: publish.event_changed(event_id), robust=True)


def event_poll_add(*, event_id: str, poll: Poll, user) -> None:
    """Append a new poll to the owner's event (inside poll_create's transaction)."""
    event = Event.objects.select_for_update().filter(pk=event_id).first()
    if event is None:
        raise Invalid(fields={"event": gettext("No event with this id.")})
    if event.owner_id != user.pk:
        raise Forbidden(gettext("Only the event's owner may add polls to it."))
    last = event.items.aggregate(last=Max("position"))["last"]
    EventPoll.objects.create(event=event, poll=poll, position=0 if last is None else last + 1)
    _bump(event, fields=[])


def event_poll_removed(poll: Poll) -> None:
    """The poll is being deleted (its row is locked): its event, if any, is
    told by a new version; the rows go with the poll (CASCADE, SET NULL)."""
    item = EventPoll.objects.filter(poll=poll).only("event_id").first()
    if item is not None:
        event = Event.objects.select_for_update().get(pk=item.event_id)
        if event.current_id == poll.pk:
            event.current = None
        _bump(event, fields=["current"])


@transaction.atomic
def event_current_set(*, event_id: str, user, poll_id: str | None) -> Event:
    if poll_id is not None:
        # The poll before the event (the lock order): the event's foreign key
        # would take a lock on it anyway, after, while poll_delete holds the
        # poll and waits for the event.
        list(Poll.objects.select_for_update(no_key=True).filter(pk=poll_id).values("pk"))
    event = _locked_owned_event(event_id, user)
    if poll_id is not None and not event.items.filter(poll_id=poll_id).exists():
        raise Invalid(fields={"poll": gettext("This poll is not part of the event.")})
    if event.current_id != poll_id:
        event.current_id = poll_id
        _bump(event, fields=["current"])
    return event


@transaction.atomic
def event_polls_set(*, event_id: str, user, poll_ids: list[str]) -> Event:
    """Reorder the event's polls; those left out leave the event (they stay
    polls, on their own codes). Only polls already in it may be named."""
    event = _locked_owned_event(event_id, user)
    if len(set(poll_ids)) != len(poll_ids):
        raise Invalid(fields={"polls": gettext("A poll may appear only once.")})
    items = {item.poll_id: item for item in event.items.all()}
    unknown = [p for p in poll_ids if p not in items]
    if unknown:
        text = gettext("Not part of the event: %(polls)s.") % {"polls": ", ".join(unknown[:5])}
        raise Invalid(fields={"polls": text})
    order = [items[p].poll_id for p in sorted(items, key=lambda p: items[p].position)]
    if order == poll_ids:
        return event
    EventPoll.objects.filter(event=event).exclude(poll_id__in=poll_ids).delete()
    for position, poll_id in enumerate(poll_ids):
        items[poll_id].position = position
    EventPoll.objects.bulk_update([items[p] for p in poll_ids], ["position"])
    fields = []
    if event.current_id is not None and event.current_id not in poll_ids:
        event.current = None
        fields.append("current")
    _bump(event, fields=fields)
    return event


@transaction.atomic
def event_delete(*, event_id: str, user) -> None:
    """The event goes; its polls stay, on their own codes."""
    _locked_owned_event(event_id, user).delete()
    _broadcast_after_commit(event_id)  # its sockets are told it is gone
