"""Who is voting. The one place that knows a voter's key (the ballot's
`voter_key`) and how a request or socket names its voter.

Anonymous voter ids are issued by the server: 128 random bits and the time
of issue (for stuffing detection: a voter id's age), signed with a key
derived from SECRET_KEY (Django's signing; SECRET_KEY_FALLBACKS rotate it).
The ballot keeps only the random part, so rotating the key does not change
who a voter is. Invite tokens are signed the same way with another
salt and carry their poll's id, so a forged or foreign token is refused
before any database lookup.
"""

import ipaddress
import re
import secrets
import time
from dataclasses import dataclass

from django.core import signing
from django.utils.translation import gettext
from rest_framework.throttling import BaseThrottle

from nexus.errors import Forbidden, Invalid

from .errors import InvalidVoterId

VOTER_COOKIE = "nexus_voter"
VOTER_HEADER = "X-Voter-Id"
EXTERNAL_HEADER = "X-External-Voter"
PASSCODE_HEADER = "X-Poll-Passcode"
COOKIE_MAX_AGE = 365 * 24 * 3600
MAX_EXTERNAL_ID = 128

_SIGNED = re.compile(r"^[A-Za-z0-9_.-]{20,160}$")  # cheap shape check before any HMAC
_NONCE = re.compile(r"^[A-Za-z0-9_-]{22}$")  # token_urlsafe(16): 128 bits
_ISSUED = re.compile(r"^[A-Za-z0-9_-]{22}([0-9A-Za-z]{1,8})?$")  # nonce, then base62 seconds
_VOTER_SALT = "nexus.voter-id"
_INVITE_SALT = "nexus.invite"


def _signer(salt: str) -> signing.Signer:
    # Built per call: it reads SECRET_KEY and SECRET_KEY_FALLBACKS then.
    return signing.Signer(salt=salt, sep=".")


@dataclass(frozen=True)
class Voter:
    key: str  # the ballot's voter_key; built only by the constructors below
    kind: str  # "user", "anon", "invite" or "external"
    user_id: int | None = None  # the account (for "external": the integration's owner)
    voter_id: str | None = None  # "anon": the signed id handed to the client
    invite_poll: str | None = None  # "invite": the poll the token belongs to
    generated: bool = False  # the server made the id now; the answer must hand it out
    issued_at: int | None = None  # "anon": when the id was issued (Unix s), if it says

    @classmethod
    def for_user(cls, user_id: int) -> "Voter":
        return cls(key=f"user:{user_id}", kind="user", user_id=user_id)

    @classmethod
    def for_anon(cls, voter_id: str, *, generated: bool = False) -> "Voter":
        """From a signed voter id; raises InvalidVoterId if the server did not issue it."""
        signed = _unsign(voter_id, _VOTER_SALT)
        issued = _ISSUED.match(signed)
        if not issued:
            raise InvalidVoterId()
        at = (
            signing.b62_decode(issued[1]) if issued[1] else None
        )  # ids from before 2026-11-28: none
        return cls(
            key=f"anon:{signed[:22]}",
            kind="anon",
            voter_id=voter_id,
            generated=generated,
            issued_at=at,
        )

    @classmethod
    def new_anon(cls) -> "Voter":
        return cls.for_anon(voter_id_issue(), generated=True)

    @classmethod
    def for_invite(cls, token: str) -> "Voter":
        poll_id, _, nonce = _unsign(token, _INVITE_SALT).partition(".")
        if not _NONCE.match(nonce):
            raise InvalidVoterId()
        return cls(key=f"inv:{nonce}", kind="invite", invite_poll=poll_id)

    @classmethod
    def for_external(cls, external_id: str, *, owner_id: int) -> "Voter":
        if not 1 <= len(external_id) <= MAX_EXTERNAL_ID or not external_id.isprintable():
            raise printable_only(EXTERNAL_HEADER, MAX_EXTERNAL_ID)
        # The integration's owner is part of the key: another account naming
        # the same external id is another voter (and finds no ballot).
        return cls(key=f"ext:{owner_id}:{external_id}", kind="external", user_id=owner_id)

    def age(self, now: float) -> int | None:
        """Seconds since the server issued this anonymous id, if it says."""
        return None if self.issued_at is None else max(0, int(now) - self.issued_at)

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "anon"

    @property
    def account_id(self) -> int | None:
        """The ballot's user: the voter's own account, never an integration's owner."""
        return self.user_id if self.kind == "user" else None

    @property
    def invite_nonce(self) -> str | None:
        return self.key.removeprefix("inv:") if self.kind == "invite" else None


def voter_id_issue(nonce: str | None = None, *, at: float | None = None) -> str:
    """A new anonymous voter id: 128 random bits, the time, and the server's
    signature. (`nonce`, `at`: tests that want the same id for the same name.)"""
    stamp = signing.b62_encode(int(time.time() if at is None else at))
    return _signer(_VOTER_SALT).sign((nonce or secrets.token_urlsafe(16)) + stamp)


def invite_token(*, poll_id: str, nonce: str) -> str:
    """The token an invite row stands for (deterministic: it can be printed again)."""
    return _signer(_INVITE_SALT).sign(f"{poll_id}.{nonce}")


def invite_nonce_new() -> str:
    return secrets.token_urlsafe(16)


def _unsign(raw: str, salt: str) -> str:
    if not _SIGNED.match(raw):
        raise InvalidVoterId()
    try:
        return _signer(salt).unsign(raw)
    except signing.BadSignature:
        raise InvalidVoterId() from None


def voter_from_request(request, *, create: bool) -> Voter | None:
    """The caller of a REST request as a voter (see `voter_resolve`)."""
    return voter_resolve(
        user=request.user,
        voter_id=request.headers.get(VOTER_HEADER),
        cookie=request.COOKIES.get(VOTER_COOKIE),
        external=request.headers.get(EXTERNAL_HEADER),
        create=create,
    )


def voter_resolve(
    *, user, voter_id: str | None, cookie: str | None, external: str | None, create: bool
) -> Voter | None:
    """Who votes, for every interface (REST, GraphQL, sockets).

    An integration (signed in as the poll's owner) names its own user with
    `external`; an invite token is that invite's holder, signed in or not;
    then the account; then the anonymous voter id (sent, then the cookie).
    With `create`, a caller with none of these gets a new anonymous id.
    A voter id the server did not issue raises InvalidVoterId.
    """
    if external is not None:
        if not user.is_authenticated:
            text = gettext("%(header)s is for the poll owner's integrations.")
            raise Forbidden(text % {"header": EXTERNAL_HEADER})
        return Voter.for_external(external, owner_id=user.pk)
    if voter_id is not None and _is_invite(voter_id):
        return Voter.for_invite(voter_id)
    if user.is_authenticated:
        return Voter.for_user(user.pk)
    if voter_id is not None:
        return Voter.for_anon(voter_id)
    if cookie:
        return Voter.for_anon(cookie)
    return Voter.new_anon() if create else None


def _is_invite(raw: str) -> bool:
    return raw.count(".") == 2  # poll.nonce.signature; a voter id is nonce.signature


def passcode_from_request(request) -> str | None:
    return passcode_checked(request.headers.get(PASSCODE_HEADER), field=PASSCODE_HEADER)


def passcode_checked(passcode: str | None, *, field: str) -> str | None:
    """A passcode as sent: 1-64 printable characters (REST header, GraphQL argument)."""
    if passcode is not None and (not 1 <= len(passcode) <= 64 or not passcode.isprintable()):
        raise printable_only(field, 64)
    return passcode


def printable_only(field: str, most: int) -> Invalid:
    """400 `invalid` for a header or argument that is not 1-`most` printable characters."""
    values = {"field": field, "most": most}
    return Invalid(
        gettext("%(field)s must be 1-%(most)d printable characters.") % values,
        fields={field: gettext("1-%(most)d printable characters.") % values},
    )


def address_prefix(request) -> str:
    """The client's address as the address cap counts it: IPv4 /32, IPv6 /64,
    after NEXUS_NUM_PROXIES trusted proxies (DRF's rule, as the throttles use).
    Worked out once per request: the address throttles and the view both ask."""
    known = getattr(request, "_nexus_address_prefix", None)
    if known is None:
        known = _address_prefix(request)
        request._nexus_address_prefix = known
    return known


def _address_prefix(request) -> str:
    ident = BaseThrottle().get_ident(request)
    try:
        address = ipaddress.ip_address(ident.strip())
    except ValueError:
        return ident[:45]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def set_voter_cookie(response, request, voter_id: str) -> None:
    """Hand a server-made voter id to the browser (contract: HttpOnly, Lax)."""
    response.set_cookie(
        VOTER_COOKIE,
        voter_id,
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
