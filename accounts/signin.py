"""Sign-in throttling: django-axes counts failed sign-ins per address and
per username on every path that calls `authenticate` (the API token, the
sign-in page, the admin). Past NEXUS_SIGNIN_FAILURES failures, that address
or username is refused for NEXUS_SIGNIN_COOLOFF_MINUTES, right password or
not. These two hooks fit axes to the contract: the same client address as
the rate limits, and the contract's 429."""

from axes.helpers import get_cool_off
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy
from rest_framework.throttling import BaseThrottle

from nexus.errors import error_body

DETAIL = gettext_lazy("Too many failed sign-ins. Try again later.")


def client_address(request) -> str:
    """AXES_CLIENT_IP_CALLABLE: X-Forwarded-For only behind NEXUS_NUM_PROXIES."""
    return (BaseThrottle().get_ident(request) or "").strip()


def locked_out(request, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 `throttled` with Retry-After, as JSON on
    the API and as the sign-in page elsewhere."""
    cool_off = get_cool_off(request)
    wait = str(int(cool_off.total_seconds())) if cool_off else "3600"
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body("throttled", DETAIL), status=429)
    else:
        response = render(request, "registration/locked_out.html", {"detail": DETAIL}, status=429)
    response["Retry-After"] = wait
    return response
