"""Idempotency-Key: the first 2xx answer is stored with the write it made,
in the same transaction (the vote pipeline does it, under the poll's lock),
and replayed byte for byte.

Only answers that changed something are stored: an error changed nothing,
so a retry is simply evaluated again.
"""

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ..challenges import Proof
from ..eligibility import guarded
from ..integrity import signals_of
from ..kinds import VoteBody
from ..models import IdempotencyRecord, SpentChallenge
from ..text import checked_text
from ..voters import printable_only
from .votes import VoteOutcome, vote_cast

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def key_from_request(request) -> str | None:
    return key_checked(request.headers.get(HEADER), field=HEADER)


def key_checked(key: str | None, *, field: str) -> str | None:
    """The one Idempotency-Key rule, for REST (`field` is the header) and GraphQL."""
    if key is not None and (not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable()):
        raise printable_only(field, MAX_KEY_LENGTH)
    return key


def fingerprint(*parts) -> str:
    """A stable hash of what the request asked for."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_purge(*, older_than: timedelta | None = None) -> int:
    """Delete records past their retention; returns how many."""
    if older_than is None:
        older_than = timedelta(hours=settings.NEXUS_IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - older_than
    ).delete()
    return deleted


def spent_challenges_purge() -> int:
    """Forget spent challenges an hour past their expiry (refused then by
    their signed date anyway; the hour covers clocks that disagree between
    hosts); returns how many."""
    past = timezone.now() - timedelta(hours=1)
    deleted, _ = SpentChallenge.objects.filter(expires_at__lt=past).delete()
    return deleted


def vote_answer(
    *,
    poll_id: str,
    voter,
    body: VoteBody,
    key: str | None,
    passcode: str | None = None,
    address: str = "",
    challenge: Proof | None = None,
    user_agent: str = "",
    joined=None,
) -> VoteOutcome:
    """Cast a vote, or replay the first answer to `key`: the same for REST and GraphQL.
    `address`, `user_agent` and `joined` (an account's sign-up) are stuffing
    detection's signals (polls.integrity).

    Keys are scoped to the voter that sent them. A request without a voter id
    gets a new one (`voter.generated`), so its key can never match another
    client's: it replays nothing and learns nothing. Its answer is still
    stored, under the new id, for a retry that sends that id back.
    """

    words: tuple[str, ...] = ()
    if body.shape == "text":  # normalised and filtered here, not in the committer
        answer, words = checked_text(body.text)
        body = VoteBody("text", text=answer)

    def cast() -> VoteOutcome:
        return vote_cast(
            poll_id=poll_id,
            voter=voter,
            choice_ids=body.ids,
            shape=body.shape,
            values=body.values,
            text=body.text,
            words=words,
            passcode=passcode,
            address=address,
            challenge=challenge,
            signals=signals_of(
                poll_id=poll_id, address=address, user_agent=user_agent, voter=voter, joined=joined
            ),
            key=key,
            fingerprint=fingerprint(poll_id, body.as_json()) if key else "",
        )

    return guarded("passcode", address, cast, check_first=passcode is not None)
