"""Rate limits, counted in Redis when REDIS_URL is set (else in memory).

Rates come from settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'], read once
by DRF at import. DRF's own throttles keep a sliding log: every request
reads, unpickles, rewrites and re-pickles the list of all request times in
the window, two round trips and O(rate) work per request (6,000 timestamps
for one lecture hall's address at the default rate). These count in a fixed
window with the `limits` library instead: at most one Redis round trip (an
INCR + EXPIRE script per limit, pipelined) for all of a request's limits,
whatever the rate, and none for most requests of a busy key, which this
process counts ahead in blocks (`_incr_all`). Numbers: docs/BENCHMARKS.md.
"""

import functools
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from redis.exceptions import NoScriptError
from rest_framework.throttling import SimpleRateThrottle

from nexus.outage import RATE_LIMITS

from .voters import VOTER_COOKIE, VOTER_HEADER, address_prefix


@functools.cache
def limiter() -> FixedWindowRateLimiter:
    config = settings.NEXUS_RATE_LIMITS
    return FixedWindowRateLimiter(storage_from_string(config["uri"], **config["options"]))


def reset() -> None:
    """Forget every counter (tests)."""
    limiter().storage.reset()
    with _blocks_lock:
        _blocks.clear()


class FailOpenThrottle(SimpleRateThrottle):
    """A fixed-window throttle. If Redis is unreachable, the request goes
    through: a vote must not fail because its rate counter cannot be read."""

    def prepare(self, request, view) -> bool:
        """Find this request's key and limit; False if the throttle does not apply."""
        if self.rate is None:
            return False
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return False
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.item = RateLimitItemPerSecond(self.num_requests, self.duration)
        return True

    def allow_request(self, request, view):
        return throttles_check([self], request, view) is None

    def wait(self):
        try:
            reset_at = limiter().get_window_stats(self.item, self.key).reset_time
        except Exception as exc:
            RATE_LIMITS.failed(exc)
            return None
        return max(0.0, reset_at - time.time())


class AnonVoterThrottle(FailOpenThrottle):
    """Per anonymous voter: its voter id (header or cookie).

    A request without one is a new voter, not a known one: only the address
    limit below applies to it, so a lecture hall behind one NAT, where every
    phone's first vote comes without an id, is not held to one voter's rate.
    What one address can add to one poll is bounded by the poll's
    `max_ballots_per_address` (polls.services).
    """

    scope = "anon"

    def get_cache_key(self, request, view):
        if request.user.is_authenticated:
            return None
        # The id as sent: a forged one is refused by the view (and counted by
        # `failure_hit`); here it only picks a bucket.
        ident = request.headers.get(VOTER_HEADER) or request.COOKIES.get(VOTER_COOKIE)
        if not ident:
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"v:{ident[:160]}"}


class AnonAddressThrottle(FailOpenThrottle):
    """Per address (an IPv6 client's /64: it holds billions), for anonymous
    clients: caps voter ids invented in a loop."""

    scope = "anon_ip"

    def get_cache_key(self, request, view):
        if request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": address_prefix(request)}


class UserThrottle(FailOpenThrottle):
    scope = "user"

    def get_cache_key(self, request, view):
        if not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class ExportThrottle(UserThrottle):
    scope = "export"


class IntegrityThrottle(UserThrottle):
    """Integrity reports per account: each reads every ballot of a poll."""

    scope = "integrity"


class MyBallotThrottle(FailOpenThrottle):
    """Reads of a voter's own ballot (`votes/mine/`): per account when signed
    in, else per address."""

    scope = "mine"

    def get_cache_key(self, request, view):
        ident = request.user.pk if request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class QuestionThrottle(FailOpenThrottle):
    """Questions asked, per voter (account, or voter id as sent): a person
    asks a few a minute, a script asks hundreds."""

    scope = "question"

    def get_cache_key(self, request, view):
        if request.user.is_authenticated:
            ident = f"u:{request.user.pk}"
        else:
            # GraphQL names the voter in the mutation (`voterId`): its view says so.
            sent = (
                getattr(view, "voter_id", None)
                or request.headers.get(VOTER_HEADER)
                or request.COOKIES.get(VOTER_COOKIE)
            )
            if not sent:
                return None  # a new voter: the address limit below applies
            ident = f"v:{sent[:160]}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AddressThrottle(FailOpenThrottle):
    """Per client address (IPv4 /32, IPv6 /64), whoever asks."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": address_prefix(request)}


class QuestionAddressThrottle(AddressThrottle):
    """Questions asked per address: caps a loop of fresh voter ids."""

    scope = "question_ip"


class ChallengeThrottle(AddressThrottle):
    """Proof-of-work challenges handed out per address."""

    scope = "challenge"


class HistoryThrottle(AddressThrottle):
    """Results history pages per address: each reads up to 50,000 rows."""

    scope = "history"


class SignupThrottle(AddressThrottle):
    """Accounts made per address (each costs the server a password hash,
    and an account is a voter in an `anyone` poll)."""

    scope = "signup"


WRITE_THROTTLES = [AnonVoterThrottle, AnonAddressThrottle, UserThrottle]


def throttles_check(throttles, request, view) -> float | None:
    """Count the request against every throttle that applies, in one Redis
    round trip for all of them; None if all allow it, else the longest wait."""
    due = [t for t in throttles if t.prepare(request, view)]
    if not due or RATE_LIMITS.skipping():
        return None
    try:
        counts = _incr_all([(t.item, t.key) for t in due])
    except Exception as exc:  # fail open: a vote must not wait on its rate counter
        RATE_LIMITS.failed(exc)
        return None
    RATE_LIMITS.ok()
    waits = [t.wait() or 0.0 for t, n in zip(due, counts, strict=True) if n > t.item.amount]
    return max(waits) if waits else None


# Counting ahead (not in the `limits` library, so written here): a key hit
# again within PREFETCH_SECONDS of using up its block takes a block twice as
# big from Redis next time, up to 1/PREFETCH_SHARE of its limit, and this
# process hands the block's counts out one by one. A lecture hall behind one
# address then costs one round trip per block, not per vote. Counts stay
# unique across processes (each block is an INCRBY), so no more than the
# limit is admitted within a window; the slack is one block per process: a
# block's counts may be used just past its window's end, or expire unused.
# Limits under 2 * PREFETCH_SHARE are counted one by one, exactly.
PREFETCH_SHARE = 100
PREFETCH_SECONDS = 1.0
MAX_BLOCKS = 10_000


@dataclass
class _Block:
    next: int  # the next count to hand out
    last: int  # the block's last count
    size: int
    until: float  # monotonic time it expires


_blocks: dict[str, _Block] = {}
_blocks_lock = threading.Lock()


def _incr_all(pairs: list[tuple[RateLimitItemPerSecond, str]]) -> list[int]:
    """The fixed-window counters' new values, from this process's blocks
    where it has counts left, else from Redis in one round trip."""
    now = time.monotonic()
    counts: list[int] = [0] * len(pairs)
    wanted: list[tuple[int, str, int, int]] = []  # (index, key, expiry, block size)
    with _blocks_lock:
        for i, (item, key) in enumerate(pairs):
            full = item.key_for(key)
            block = _blocks.get(full)
            if block is not None and now < block.until and block.next <= block.last:
                counts[i], block.next = block.next, block.next + 1
                continue
            hot = block is not None and now < block.until  # used up in time: grow
            size = min(max(1, item.amount // PREFETCH_SHARE), block.size * 2 if hot else 1)
            wanted.append((i, full, item.get_expiry(), size))
    if not wanted:
        return counts
    totals = _incr_by([(key, expiry, size) for _, key, expiry, size in wanted])
    with _blocks_lock:
        if len(_blocks) > MAX_BLOCKS:
            for key in [k for k, b in _blocks.items() if b.until <= now]:
                del _blocks[key]
        for (i, key, _, size), total in zip(wanted, totals, strict=True):
            counts[i] = total - size + 1
            _blocks[key] = _Block(total - size + 2, total, size, now + PREFETCH_SECONDS)
    return counts


def _incr_by(keys: list[tuple[str, int, int]]) -> list[int]:
    """(key, expiry, amount) -> the counters' new values. On Redis, every
    counter in one pipelined round trip with the `limits` library's own
    increment script (the library has no multi-key hit)."""
    storage = limiter().storage
    if isinstance(storage, RedisStorage) and len(keys) > 1:
        pipe = storage.get_connection().pipeline(transaction=False)
        for key, expiry, amount in keys:
            pipe.evalsha(storage.lua_incr_expire.sha, 1, storage.prefixed_key(key), expiry, amount)
        try:
            return [int(n) for n in pipe.execute()]
        except NoScriptError:  # Redis restarted: the one-by-one path loads the script
            pass
    return [storage.incr(key, expiry, amount) for key, expiry, amount in keys]


class OneTripThrottling:
    """For DRF views: all of a view's rate limits in one round trip."""

    def check_throttles(self, request):
        wait = throttles_check(self.get_throttles(), request, self)
        if wait is not None:
            self.throttled(request, wait)


def failure_blocked(scope: str, address: str) -> float | None:
    """Seconds to wait if `address` has failed `scope` too often, else None.

    Failures (a forged voter id, a wrong passcode) are counted by
    `failure_hit`; rates come from settings.NEXUS_FAILURE_RATES.
    """
    return _failure_wait(scope, address, limiter().test)


def failure_try(scope: str, address: str) -> float | None:
    """Count an attempt before it is judged: None if it may go on, else the
    seconds to wait. A burst of concurrent tries cannot outrun the limit;
    an attempt that did not fail is given back with `failure_refund`."""
    return _failure_wait(scope, address, limiter().hit)


def _failure_wait(scope: str, address: str, allows) -> float | None:
    """None if `allows` (the limiter's test or hit) lets the address through."""
    item = _failure_item(scope)
    if RATE_LIMITS.skipping():
        return None
    try:
        if allows(item, scope, address):
            return None
        reset_at = limiter().get_window_stats(item, scope, address).reset_time
    except Exception as exc:
        RATE_LIMITS.failed(exc)
        return None
    return max(1.0, reset_at - time.time())


def failure_refund(scope: str, address: str) -> None:
    item = _failure_item(scope)
    try:
        limiter().storage.incr(item.key_for(scope, address), item.get_expiry(), amount=-1)
    except Exception as exc:
        RATE_LIMITS.failed(exc)


def failure_hit(scope: str, address: str) -> None:
    if RATE_LIMITS.skipping():
        return
    try:
        limiter().hit(_failure_item(scope), scope, address)
    except Exception as exc:
        RATE_LIMITS.failed(exc)


def _failure_item(scope: str) -> RateLimitItemPerSecond:
    rate = settings.NEXUS_FAILURE_RATES[scope]
    count, seconds = SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
    return RateLimitItemPerSecond(count, seconds)
