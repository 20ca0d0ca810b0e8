import base64
import hashlib

import altcha
from django.utils.dateparse import parse_datetime

from polls.voters import Voter, voter_id_issue

ISSUED_AT = 1_790_000_000  # 2026-09-21: the tests' voter ids are old ones


def solve(challenge: dict) -> str:
    """Solve a proof-of-work challenge as a client does: the `X-Challenge` value."""
    parsed = altcha.Challenge.from_dict(challenge)
    solution = altcha.solve_challenge(parsed, timeout=0)
    return altcha.Payload(parsed, solution).to_base64()


def voter_id(name: str) -> str:
    """A server-issued voter id, always the same for the same name."""
    nonce = base64.urlsafe_b64encode(hashlib.sha256(name.encode()).digest()).decode()[:22]
    return voter_id_issue(nonce, at=ISSUED_AT)


def anon(name: str) -> Voter:
    return Voter.for_anon(voter_id(name))


def vote(client, poll_id, choices, voter="voter-0001", **headers):
    return cast(client, poll_id, {"choices": choices}, voter, **headers)


def cast(client, poll_id, body, voter="voter-0001", **headers):
    """POST any vote body ({"ratings": ...}, {"ranking": ...}) as `voter`."""
    extra = {"HTTP_X_VOTER_ID": voter_id(voter)} if voter else {}
    extra.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
    return client.post(f"/api/polls/{poll_id}/votes/", body, format="json", **extra)


def is_timestamp(value) -> bool:
    return isinstance(value, str) and parse_datetime(value) is not None


def choice_ids(poll) -> list[int]:
    return list(poll.choices.order_by("position").values_list("id", flat=True))
