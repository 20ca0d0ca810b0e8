"""Middleware of our own: static files that keep an ASGI request on the event
loop until its view, and the anonymous vote's short path under WSGI.

Static files:

Django runs a middleware chain async under ASGI only if every middleware in
it can run async; one sync-only middleware (WhiteNoise 6 is one) makes it
run the middleware above it in a thread and hop back to the loop for the
middleware below, then to a thread again for the view: three thread hops per
request instead of one (docs/BENCHMARKS.md, "The vote path over HTTP").
"""

import re

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.exception import response_for_exception
from django.urls import ResolverMatch, resolve
from django.utils.cache import patch_vary_headers
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, sync and async: a request that is not for a static file
    passes straight through; one that is is served in a thread (file I/O)."""

    sync_capable = async_capable = True

    def __init__(self, get_response=None, **kwargs):
        super().__init__(get_response, **kwargs)
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        return super().__call__(request)

    async def _acall(self, request):
        if self.autorefresh:  # development: looks on disk
            static_file = await sync_to_async(self.find_file)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            return await sync_to_async(self.serve)(static_file, request)
        return await self.get_response(request)


class AnonymousVoteMiddleware:
    """An anonymous vote goes straight from here to its view (WSGI).

    A vote from a phone (POST /api/polls/{id}/votes/ with no session cookie
    and no Authorization header) needs little of what the middleware below
    does: the security checks and headers, the host check, Content-Length,
    `Vary: Cookie` and the language (an error's detail is in the request's
    language), which are run here with Django's own middleware methods.
    Sessions, CSRF (the view is exempt; DRF checks it for session
    logins), accounts, messages, static files and URL routing are skipped:
    they were a measured part of the vote's CPU (docs/BENCHMARKS.md).
    Anything else takes the full chain, and so does every request under
    ASGI. tests/nexus/test_vote_fast_path.py holds both paths to the same
    answers, hostile requests included.
    """

    sync_capable = async_capable = True

    def __init__(self, get_response):
        from django.contrib.auth.models import AnonymousUser
        from django.middleware.clickjacking import XFrameOptionsMiddleware
        from django.middleware.common import CommonMiddleware
        from django.middleware.locale import LocaleMiddleware
        from django.middleware.security import SecurityMiddleware

        from polls.api import VoteView
        from polls.urls import JoinCodeConverter

        self.get_response = get_response
        self.security = SecurityMiddleware(get_response)
        self.frame = XFrameOptionsMiddleware(get_response)
        self.common = CommonMiddleware(get_response)
        self.locale = LocaleMiddleware(get_response)
        self.view = VoteView.as_view()
        self.code = JoinCodeConverter()
        self.path = re.compile(rf"/api/polls/({self.code.regex})/votes/")
        self.anonymous = AnonymousUser()
        self.route = resolve("/api/polls/AAAA/votes/").route
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        match = self.path.fullmatch(request.path_info)
        if (
            iscoroutinefunction(self)  # ASGI: the view runs in a thread either way
            or match is None
            or request.method != "POST"
            or "HTTP_AUTHORIZATION" in request.META
            or settings.SESSION_COOKIE_NAME in request.COOKIES
        ):
            return self.get_response(request)
        response = self.security.process_request(request)  # the HTTPS redirect, if on
        if response is None:
            self.locale.process_request(request)  # the language, as the chain sets it first
            refused = self._host_refused(request)
            response = self.locale.process_response(request, refused or self._vote(request, match))
            if refused is None:
                patch_vary_headers(response, ["Cookie"])  # as the session's middleware does
        return self.security.process_response(request, response)

    @staticmethod
    def _host_refused(request):
        try:
            request.get_host()  # as CommonMiddleware checks it, after the redirect
        except DisallowedHost as exc:
            return response_for_exception(request, exc)
        return None

    def _vote(self, request, match):
        kwargs = {"poll_id": self.code.to_python(match[1])}
        request.user = self.anonymous
        request.resolver_match = ResolverMatch(self.view, (), kwargs, route=self.route)
        response = self.view(request, **kwargs)
        if hasattr(response, "render"):  # DRF's error answers render late, as Django does
            response = response.render()
        # What the chain below adds on the way out, innermost first.
        response = self.frame.process_response(request, response)
        return self.common.process_response(request, response)  # Content-Length
