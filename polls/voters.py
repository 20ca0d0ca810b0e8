"""Who is voting: an account, or an anonymous voter id (header or cookie)."""

import re
import secrets
from dataclasses import dataclass

from nexus.errors import Invalid

VOTER_COOKIE = "nexus_voter"
VOTER_HEADER = "X-Voter-Id"
VOTER_ID = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
COOKIE_MAX_AGE = 365 * 24 * 3600


@dataclass(frozen=True)
class Voter:
    key: str  # stored on the ballot: "user:<pk>" or "anon:<voter id>"
    user_id: int | None = None
    anon_id: str | None = None
    generated: bool = False  # the server made the id; the answer must hand it out

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None


def anon_id_from_request(request) -> str | None:
    """The anonymous voter id the client sent, or None. Bad header: 400 invalid."""
    header = request.headers.get(VOTER_HEADER)
    if header is not None:
        if not VOTER_ID.match(header):
            raise Invalid(
                "X-Voter-Id must be 8-128 characters of A-Z, a-z, 0-9, '_' or '-'.",
                fields={VOTER_HEADER: "8-128 characters of [A-Za-z0-9_-]."},
            )
        return header
    cookie = request.COOKIES.get(VOTER_COOKIE)
    if cookie and VOTER_ID.match(cookie):
        return cookie
    return None


def voter_from_request(request, *, create: bool) -> Voter | None:
    """The caller as a voter; with `create`, a new anonymous id if it has none."""
    user = request.user
    if user.is_authenticated:
        return Voter(key=f"user:{user.pk}", user_id=user.pk)
    anon_id = anon_id_from_request(request)
    if anon_id:
        return Voter(key=f"anon:{anon_id}", anon_id=anon_id)
    if not create:
        return None
    anon_id = secrets.token_urlsafe(18)  # 24 chars of [A-Za-z0-9_-]
    return Voter(key=f"anon:{anon_id}", anon_id=anon_id, generated=True)


def set_voter_cookie(response, request, anon_id: str) -> None:
    """Hand a server-made voter id to the browser (contract: HttpOnly, Lax)."""
    response.set_cookie(
        VOTER_COOKIE,
        anon_id,
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
