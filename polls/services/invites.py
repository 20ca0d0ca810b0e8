"""Invites: single-use rights to vote in an `invite` poll, minted by the owner.

A row holds a random nonce; the token handed out is that nonce signed with
the poll's id (polls.voters.invite_token), so it can be printed again and a
forged or foreign token is refused without a query. A token's first ballot
marks it used (in the ballot's transaction, polls.services); revoking an
unused one deletes its row, and the row lock makes revoke and vote take turns.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext

from nexus.errors import Invalid, NotFound

from ..errors import InvalidVoterId, InviteUsed
from ..models import Invite, Poll
from ..voters import Voter, invite_nonce_new, invite_token
from .common import locked_owned_poll

MAX_PER_REQUEST = 10_000
MAX_PER_POLL = 100_000


@dataclass(frozen=True)
class IssuedInvite:
    token: str
    used: bool


@transaction.atomic
def invites_mint(*, poll_id: str, user, count: int) -> list[str]:
    """Mint `count` new tokens for the owner's poll; returns them."""
    poll = locked_owned_poll(poll_id, user)
    if Invite.objects.filter(poll=poll).count() + count > MAX_PER_POLL:
        text = gettext("A poll holds at most %(most)d invites.") % {"most": MAX_PER_POLL}
        raise Invalid(fields={"count": text})
    rows = [Invite(poll=poll, nonce=invite_nonce_new()) for _ in range(count)]
    Invite.objects.bulk_create(rows, batch_size=1000)
    return [invite_token(poll_id=poll.id, nonce=row.nonce) for row in rows]


@transaction.atomic
def invite_revoke(*, poll_id: str, user, token: str) -> None:
    """Delete an unused invite; a used one answers 409 `invite_used`."""
    poll = locked_owned_poll(poll_id, user)
    try:
        voter: Voter | None = Voter.for_invite(token)
    except InvalidVoterId:
        voter = None
    if voter is None or voter.invite_poll != poll.id:
        raise NotFound(gettext("No such invite in this poll."))
    invite = Invite.objects.select_for_update().filter(poll=poll, nonce=voter.invite_nonce).first()
    if invite is None:
        raise NotFound(gettext("No such invite in this poll."))
    if invite.used_at is not None:
        raise InviteUsed()
    invite.delete()


def invite_counts(*, poll: Poll) -> dict[str, int]:
    invites = Invite.objects.filter(poll=poll)
    return {"issued": invites.count(), "used": invites.filter(used_at__isnull=False).count()}


def invite_list(*, poll: Poll, unused_only: bool = False) -> list[IssuedInvite]:
    """Every invite of the poll, oldest first, with its token."""
    invites = Invite.objects.filter(poll=poll).order_by("id")
    if unused_only:
        invites = invites.filter(used_at__isnull=True)
    return [
        IssuedInvite(invite_token(poll_id=poll.id, nonce=nonce), used_at is not None)
        for nonce, used_at in invites.values_list("nonce", "used_at")
    ]
