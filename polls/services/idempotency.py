"""Idempotency-Key: the first 2xx answer is stored with the write it made,
in the same transaction, and replayed byte for byte.

Only answers that changed something are stored: an error changed nothing,
so a retry is simply evaluated again.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from nexus.errors import ApplicationError, Invalid

from ..eligibility import guarded
from ..errors import IdempotencyMismatch
from ..models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255

Answer = tuple[int, str]  # (status code, JSON text)


def key_from_request(request) -> str | None:
    return key_checked(request.headers.get(HEADER), field=HEADER)


def key_checked(key: str | None, *, field: str) -> str | None:
    """The one Idempotency-Key rule, for REST (`field` is the header) and GraphQL."""
    if key is not None and (not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable()):
        raise Invalid(
            f"{field} must be 1-{MAX_KEY_LENGTH} printable characters.",
            fields={field: f"1-{MAX_KEY_LENGTH} printable characters."},
        )
    return key


def fingerprint(*parts) -> str:
    """A stable hash of what the request asked for."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent(*, scope: str, key: str, fingerprint: str, run: Callable[[], Answer]) -> Answer:
    """Run `run` once per (scope, key); later calls get the stored answer.

    `run` must do all of its writes in the database, so that they commit or
    roll back together with the stored answer.
    """
    record = _find(scope, key)
    if record is not None:
        return _replay(record, fingerprint)
    try:
        with transaction.atomic():
            status, body = run()
            if 200 <= status < 300:
                IdempotencyRecord.objects.create(
                    scope=scope, key=key, fingerprint=fingerprint, status_code=status, body=body
                )
            return status, body
    except (IntegrityError, ApplicationError):
        # A concurrent request with the same key may have committed first:
        # its answer is the one to give.
        record = _find(scope, key)
        if record is not None:
            return _replay(record, fingerprint)
        raise


def idempotency_purge(*, older_than: timedelta | None = None) -> int:
    """Delete records past their retention; returns how many."""
    if older_than is None:
        older_than = timedelta(hours=settings.NEXUS_IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - older_than
    ).delete()
    return deleted


def _find(scope: str, key: str) -> IdempotencyRecord | None:
    return IdempotencyRecord.objects.filter(scope=scope, key=key).first()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Answer:
    if record.fingerprint != fingerprint:
        raise IdempotencyMismatch()
    return record.status_code, record.body


def vote_answer(
    *,
    poll_id: str,
    voter,
    choice_ids: list[int],
    key: str | None,
    passcode: str | None = None,
    address: str = "",
) -> Answer:
    """Cast a vote, or replay the first answer to `key`: the same for REST and GraphQL.

    Keys are scoped to the voter that sent them. A request without a voter id
    gets a new one (`voter.generated`), so its key can never match another
    client's: it replays nothing and learns nothing. Its answer is still
    stored, under the new id, for a retry that sends that id back.
    """
    from ..serializers import ballot_answer
    from .votes import vote_cast

    def cast() -> Answer:
        outcome = vote_cast(
            poll_id=poll_id,
            voter=voter,
            choice_ids=choice_ids,
            passcode=passcode,
            address=address,
        )
        return ballot_answer(outcome.ballot, outcome.choice_ids, voter, outcome.created)

    def guarded_cast() -> Answer:
        return guarded("passcode", address, cast, check_first=passcode is not None)

    if key is None:
        return guarded_cast()
    return idempotent(
        scope=voter.key,
        key=key,
        fingerprint=fingerprint(poll_id, {"choices": choice_ids}),
        run=guarded_cast,
    )
