"""WebSocket authentication and origin checks.

Sessions are read as channels' AuthMiddlewareStack reads them, but never
written (see ReadOnlySessionMiddleware); `?token=<key>` (DRF token) overrides
the session. Browsers send an Origin header, which must name one
of ALLOWED_HOSTS (cross-site WebSocket hijacking); other clients send none.
"""

from importlib import import_module
from urllib.parse import parse_qs

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator
from channels.sessions import CookieMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token

from polls.voters import VOTER_COOKIE, VOTER_HEADER, Voter, voter_resolve


@database_sync_to_async
def _user_for_token(key: str):
    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token and token.user.is_active else None


class TokenAuthMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        keys = parse_qs(scope.get("query_string", b"").decode("latin1")).get("token")
        if keys:
            user = await _user_for_token(keys[0])
            scope = dict(scope, user=user or AnonymousUser(), auth_failed=user is None)
        return await self.app(scope, receive, send)


class ReadOnlySessionMiddleware:
    """The session in the scope, for AuthMiddleware to find the user.

    channels' SessionMiddleware also wraps `send` to save a modified session
    on each outgoing message. Live-results sockets never modify theirs, and
    at 10,000 sockets that wrapper was a fifth of the socket process's CPU
    (docs/BENCHMARKS.md): so the session is read, and `send` left alone.
    """

    def __init__(self, app):
        self.app = app
        self.store = import_module(settings.SESSION_ENGINE).SessionStore

    async def __call__(self, scope, receive, send):
        key = scope["cookies"].get(settings.SESSION_COOKIE_NAME)
        return await self.app(dict(scope, session=self.store(key)), receive, send)


class OriginOrNoneValidator(OriginValidator):
    """Like channels' AllowedHostsOriginValidator, but clients that send no
    Origin (not browsers, so not hijackable) are let in."""

    def valid_origin(self, parsed_origin) -> bool:
        return parsed_origin is None or self.validate_origin(parsed_origin)


def websocket_stack(app):
    stack = CookieMiddleware(ReadOnlySessionMiddleware(AuthMiddleware(TokenAuthMiddleware(app))))
    return OriginOrNoneValidator(stack, settings.ALLOWED_HOSTS)


def voter_from_scope(scope) -> Voter | None:
    """The subscriber as a voter: account, invite token or voter id (the
    X-Voter-Id header, `?voter=` for browsers, which cannot set headers on a
    socket, or the cookie). Raises InvalidVoterId for an id not issued here."""
    header = dict(scope.get("headers", [])).get(VOTER_HEADER.lower().encode())
    sent = header.decode("latin1") if header else None
    if sent is None:
        sent = parse_qs(scope.get("query_string", b"").decode("latin1")).get("voter", [None])[0]
    return voter_resolve(
        user=scope.get("user") or AnonymousUser(),
        voter_id=sent,
        cookie=scope.get("cookies", {}).get(VOTER_COOKIE),
        external=None,
        create=False,
    )
