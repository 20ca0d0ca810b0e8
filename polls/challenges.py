"""Proof of work for `challenge: pow` polls, with ALTCHA (the `altcha`
library's v2 protocol, PBKDF2-SHA-256; self-hosted, no third party).

A challenge is issued for one poll: the server draws a secret counter from
[0, MAX] and signs the key it derives from it. The client tries counters
0, 1, 2, ... until its derived key matches (the work), and sends the
challenge with its solution as `X-Challenge` (base64 JSON, ALTCHA's payload).
Checking it is two HMACs, no key derivation. What keeps a solved challenge to
one ballot is the ballot's own transaction: batch_decide spends it under the
poll's lock, in SpentChallenge, or refuses it.

altcha-django is not used: it guards Django forms and keeps used challenges
in its own cache, apart from the ballot; here a challenge is bound to a poll
and spent in the same transaction as the ballot it buys.
"""

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import altcha
from django.conf import settings
from django.utils.crypto import salted_hmac

HEADER = "X-Challenge"
# Who pays with a first ballot: voters anyone can make for nothing (voter
# ids, and accounts, whose sign-up is open). Invite holders and an owner's
# integrations are the owner's own; vote changes are not first ballots.
PAYING = frozenset({"anon", "user"})
ALGORITHM = "PBKDF2/SHA-256"
_MAX_HEADER = 4096  # a payload is about 700 characters


@dataclass(frozen=True)
class Proof:
    """What a vote sent as `X-Challenge`, checked: `signature` is the
    challenge's own (its spent key), or "" if the header was not a solved,
    unexpired challenge of this poll."""

    signature: str
    expires_at: datetime

    @property
    def valid(self) -> bool:
        return bool(self.signature)


FAILED = Proof("", datetime.fromtimestamp(0, UTC))


def _secret(purpose: str) -> str:
    # Derived from SECRET_KEY: rotating it voids challenges in flight, and the
    # voter page then solves a new one.
    return salted_hmac(f"nexus.challenge.{purpose}", "", algorithm="sha256").hexdigest()


def challenge_issue(poll_id: str) -> dict:
    """A new challenge for `poll_id`, as ALTCHA's client takes it. The
    counter is uniform over [0, MAX]: a narrower range with a known floor
    would let a script start there, doing less work than a browser."""
    challenge = altcha.create_challenge(
        ALGORITHM,
        settings.NEXUS_CHALLENGE_COST,
        counter=secrets.randbelow(settings.NEXUS_CHALLENGE_MAX_NUMBER + 1),
        expires_at=int(time.time()) + settings.NEXUS_CHALLENGE_TTL,
        data={"poll": poll_id},
        hmac_secret=_secret("challenge"),
        hmac_key_secret=_secret("key"),
    )
    return challenge.to_dict()


def proof_from_header(raw: str | None, poll_id: str) -> Proof | None:
    """The `X-Challenge` header checked against `poll_id`; None if not sent."""
    if raw is None:
        return None
    if not raw or len(raw) > _MAX_HEADER:
        return FAILED
    try:
        payload = altcha.Payload.from_base64(raw)
        result = altcha.verify_solution(
            payload, _secret("challenge"), hmac_key_secret=_secret("key")
        )
    except Exception:  # noqa: BLE001 - any malformed payload is a failed challenge, never a 500
        return FAILED
    if not result.verified:
        return FAILED
    parameters = payload.challenge.parameters
    expires = parameters.expires_at
    # Signed, so these are what challenge_issue wrote; another poll's is refused.
    if not isinstance(parameters.data, dict) or parameters.data.get("poll") != poll_id:
        return FAILED
    signature = payload.challenge.signature
    if not isinstance(signature, str) or len(signature) != 64 or not isinstance(expires, int):
        return FAILED
    return Proof(signature, datetime.fromtimestamp(expires, UTC))
