"""Rate limits, counted in the cache (Redis when REDIS_URL is set).

Rates come from settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'], read once
by DRF at import.
"""

import logging

from rest_framework.throttling import SimpleRateThrottle

from nexus.errors import ApplicationError

from .voters import anon_id_from_request

logger = logging.getLogger("nexus.throttle")


class FailOpenThrottle(SimpleRateThrottle):
    """If the cache (Redis) is unreachable, let the request through: a vote
    must not fail because its rate counter cannot be read."""

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:
            logger.warning("Rate limit cache unavailable; not limiting", exc_info=True)
            return True


class AnonVoterThrottle(FailOpenThrottle):
    """Per anonymous client: its voter id when it has one, else its address.

    A lecture hall behind one NAT is hundreds of clients, not one.
    """

    scope = "anon"

    def get_cache_key(self, request, view):
        if request.user.is_authenticated:
            return None
        try:
            ident = anon_id_from_request(request)
        except ApplicationError:  # a bad header is answered by the view
            ident = None
        ident = f"v:{ident}" if ident else f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonAddressThrottle(FailOpenThrottle):
    """Per address, for anonymous clients: caps voter ids invented in a loop."""

    scope = "anon_ip"

    def get_cache_key(self, request, view):
        if request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UserThrottle(FailOpenThrottle):
    scope = "user"

    def get_cache_key(self, request, view):
        if not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


WRITE_THROTTLES = [AnonVoterThrottle, AnonAddressThrottle, UserThrottle]
