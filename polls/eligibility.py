"""Who may vote in a poll: one rule for every path that casts a ballot
(REST, GraphQL; the fast and the locked vote path).

| eligibility | who may vote                                  | one voter is         |
|-------------|-----------------------------------------------|----------------------|
| anyone      | voter ids issued here, accounts, integrations | id, user, external   |
| signed_in   | accounts                                      | a user               |
| passcode    | as anyone, with the poll's passcode           | as anyone            |
| invite      | holders of an invite token of this poll       | an invite token      |

A poll with `anonymous: false` (contract v1) is a signed_in poll.
"""

import secrets

from django.utils.translation import gettext
from rest_framework.exceptions import Throttled

from nexus.errors import Forbidden, NotAuthenticated

from . import throttles
from .errors import InvalidVoterId, NotInvited, PasscodeRequired, WrongPasscode
from .models import Poll
from .voters import Voter

E = Poll.Eligibility


def voter_admit(poll: Poll, voter: Voter, passcode: str | None) -> None:
    """Raise the contract's error if `voter` may not vote in `poll`.

    Reads only the poll's fields (no queries): eligibility, anonymous,
    owner_id, passcode. Invite rows are checked by the vote's transaction.
    """
    if poll.eligibility == E.INVITE:
        if voter.kind != "invite" or voter.invite_poll != poll.id:
            raise NotInvited()
    elif voter.kind == "invite":
        raise NotInvited(gettext("This invite is for another poll."))
    elif voter.kind == "external":
        if voter.user_id != poll.owner_id:
            raise Forbidden(gettext("Only the poll's owner may vote for external voters."))
        if poll.eligibility == E.SIGNED_IN or not poll.anonymous:
            raise Forbidden(gettext("This poll takes votes from signed-in users only."))
    elif voter.kind != "user" and (poll.eligibility == E.SIGNED_IN or not poll.anonymous):
        raise NotAuthenticated(gettext("This poll is for signed-in users: sign in to vote."))
    if poll.eligibility == E.PASSCODE:
        if not passcode:
            raise PasscodeRequired()
        if not secrets.compare_digest(passcode.encode(), poll.passcode.encode()):
            raise WrongPasscode()


def guarded(scope: str, address: str, run, *, check_first: bool):
    """Run `run()`; a failure of `scope` counts against `address`, and past
    NEXUS_FAILURE_RATES[scope] the answer is 429 `throttled`, right or wrong.

    `check_first` (a passcode was sent): the attempt is counted before it is
    judged and given back unless it failed, so concurrent guesses cannot get
    more than the limit judged. Otherwise (voter ids: 128 random bits, not
    worth guessing) only failures are counted, after the fact.
    """
    failure = {"voter_id": InvalidVoterId, "passcode": WrongPasscode}[scope]
    if check_first:
        if (wait := throttles.failure_try(scope, address)) is not None:
            raise Throttled(wait=wait)
        try:
            result = run()
        except failure:
            raise
        except BaseException:
            throttles.failure_refund(scope, address)
            raise
        throttles.failure_refund(scope, address)
        return result
    try:
        return run()
    except failure:
        throttles.failure_hit(scope, address)
        if (wait := throttles.failure_blocked(scope, address)) is not None:
            raise Throttled(wait=wait) from None
        raise
