"""What every write shares: the poll row's lock, the owner check, and a new
version with its broadcast after commit.

Lock order, for every writer: the poll row, then its invite and address
rows, then its choice rows. Every change to a poll's tally or status bumps
`poll.version` in the same transaction, so (version, counts) is always a
consistent snapshot.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from nexus.errors import Forbidden, NotAuthenticated, NotFound
from realtime import publish
from webhooks import services as webhooks

from ..models import Poll


def locked_poll(poll_id: str, user, *, lock: bool = True) -> Poll:
    polls = Poll.objects.select_for_update() if lock else Poll.objects
    poll = polls.filter(pk=poll_id).first()
    if poll is None or (poll.status == Poll.Status.DRAFT and poll.owner_id != user.pk):
        raise NotFound(gettext("No poll with this id."))
    return poll


def locked_owned_poll(poll_id: str, user, *, lock: bool = True) -> Poll:
    """The poll, row-locked for the caller's transaction (`lock=False`: only
    read, for a check before the write), if `user` owns it."""
    if not user.is_authenticated:
        raise NotAuthenticated()
    poll = locked_poll(poll_id, user, lock=lock)
    if poll.owner_id != user.pk:
        raise Forbidden(gettext("Only the poll's owner may do this."))
    return poll


def bump(poll: Poll, *, fields: list[str]) -> None:
    poll.version += 1
    poll.updated_at = timezone.now()
    poll.save(update_fields=[*fields, "version", "updated_at"])
    broadcast_after_commit(poll.pk)


def broadcast_after_commit(poll_id: str) -> None:
    # robust: the write is committed whatever happens to its broadcast.
    transaction.on_commit(lambda: publish.poll_changed(poll_id), robust=True)


def announce_open(poll: Poll) -> None:
    """In the opening's transaction: mark the opening announced (the clock's
    sweep then leaves it) and tell the owner's webhooks."""
    poll.open_announced_at = timezone.now()
    Poll.objects.filter(pk=poll.pk).update(open_announced_at=poll.open_announced_at)
    webhooks.poll_opened(poll)
