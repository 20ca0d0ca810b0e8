"""WebSocket authentication and origin checks.

Sessions are read as channels' AuthMiddlewareStack reads them, but never
written (see ReadOnlySessionMiddleware); `?token=<key>` (DRF token) overrides
the session. Browsers send an Origin header: a socket opened by another
site's page (cross-site WebSocket hijacking) is let in, but anonymous: its
cookies are dropped before anything reads them (see ForeignOriginIsAnonymous).
"""

from importlib import import_module
from urllib.parse import parse_qs

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from channels.sessions import CookieMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain
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


class ForeignOriginIsAnonymous:
    """Django's CSRF origin rule, applied to the WebSocket handshake.

    A browser names the page that opened a socket in `Origin`. The socket
    keeps its cookies (session, voter id) only if that origin is this
    server's own (scheme, host and port, as Django's CsrfViewMiddleware
    compares them: `https` when the socket is `wss`, or behind
    NEXUS_NUM_PROXIES when X-Forwarded-Proto says so) or is in
    CSRF_TRUSTED_ORIGINS (`https://*.example.com` included). Other origins
    get an anonymous socket. Clients that send no Origin are not browsers,
    so carry no one else's cookies, and are left alone. A Host outside
    ALLOWED_HOSTS is refused, as Django refuses it over HTTP.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers", []))
        host = headers.get(b"host", b"").decode("latin1")
        if host and not validate_host(split_domain_port(host)[0], settings.ALLOWED_HOSTS):
            return await WebsocketDenier()(scope, receive, send)
        origin = headers.get(b"origin")
        if origin is not None and not self.trusted(scope, headers, host, origin.decode("latin1")):
            kept = [(k, v) for k, v in scope["headers"] if k != b"cookie"]
            scope = dict(scope, headers=kept)
        return await self.app(scope, receive, send)

    def trusted(self, scope, headers: dict, host: str, origin: str) -> bool:
        trusted_origins = settings.CSRF_TRUSTED_ORIGINS
        if origin in trusted_origins:
            return True
        if host and origin == f"{self.scheme(scope, headers)}://{host}":
            return True
        scheme, _, netloc = origin.partition("://")
        return any(
            scheme == trusted_scheme and is_same_domain(netloc, pattern.lstrip("*"))
            for trusted_scheme, _, pattern in (o.partition("://") for o in trusted_origins)
            if pattern.startswith("*")
        )

    @staticmethod
    def scheme(scope, headers: dict) -> str:
        if settings.NEXUS_NUM_PROXIES > 0:
            forwarded = headers.get(b"x-forwarded-proto")
            if forwarded is not None:
                first = forwarded.decode("latin1").split(",", 1)[0].strip()
                return "https" if first == "https" else "http"
        return "https" if scope.get("scheme") in ("wss", "https") else "http"


def websocket_stack(app):
    stack = CookieMiddleware(ReadOnlySessionMiddleware(AuthMiddleware(TokenAuthMiddleware(app))))
    return ForeignOriginIsAnonymous(stack)


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
