"""Rate limits, counted in Redis when REDIS_URL is set (else in memory).

Rates come from settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'], read once
by DRF at import. DRF's own throttles keep a sliding log: every request
reads, unpickles, rewrites and re-pickles the list of all request times in
the window, two round trips and O(rate) work per request (6,000 timestamps
for one lecture hall's address at the default rate). These count in a fixed
window with the `limits` library instead: one Redis round trip (an INCR +
EXPIRE script) per limit, whatever the rate. Numbers: docs/BENCHMARKS.md.
"""

import functools
import logging
import time

from django.conf import settings
from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from rest_framework.throttling import SimpleRateThrottle

from nexus.errors import ApplicationError

from .voters import anon_id_from_request

logger = logging.getLogger("nexus.throttle")


@functools.cache
def limiter() -> FixedWindowRateLimiter:
    config = settings.NEXUS_RATE_LIMITS
    return FixedWindowRateLimiter(storage_from_string(config["uri"], **config["options"]))


def reset() -> None:
    """Forget every counter (tests)."""
    limiter().storage.reset()


class FailOpenThrottle(SimpleRateThrottle):
    """A fixed-window throttle. If Redis is unreachable, the request goes
    through: a vote must not fail because its rate counter cannot be read."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.item = RateLimitItemPerSecond(self.num_requests, self.duration)
        try:
            return limiter().hit(self.item, self.key)
        except Exception:
            logger.warning("Rate limit store unavailable; not limiting", exc_info=True)
            return True

    def wait(self):
        try:
            reset_at = limiter().get_window_stats(self.item, self.key).reset_time
        except Exception:
            return None
        return max(0.0, reset_at - time.time())


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
