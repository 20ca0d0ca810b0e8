"""Stuffing detection: coarse signals each ballot keeps, and the clusters
they make that look stuffed. The owner decides what counts; nothing here
changes a ballot.

Signals, privacy-preserving by construction: the client's network (its
address, IPv6 to the /48 a site is given) and its user agent, each hashed
with a key of this poll (an HMAC under SECRET_KEY: the same network is the
same hash in one poll and unlinkable across polls), the voter's age when it
voted (an anonymous voter id's, from its time of issue; an account's, from
its sign-up), and the ballot's time. Purged after NEXUS_SIGNAL_RETENTION_DAYS.

Clusters (thresholds in settings, defaults justified in docs/SECURITY.md):

- `prefix_burst`: more voters from one network than
  NEXUS_DETECT_PREFIX_BALLOTS whose ids were issued (or accounts made)
  within NEXUS_DETECT_WINDOW_SECONDS of each other: a script minting ids as
  it votes, or ids harvested in a burst and spent later, however slowly.
  A poll's `expected_audience` raises the bar for one network, its largest
  (the venue's Wi-Fi behind one NAT), not for every network.
- `rate_burst`: a ten-second stretch with more than NEXUS_DETECT_BURST_FACTOR
  times the poll's own typical ten seconds (the median of those with
  ballots), and at least NEXUS_DETECT_BURST_MIN ballots, or more than the
  poll's `expected_audience` when it says so (the room's first wave).
- `lockstep`: NEXUS_DETECT_LOCKSTEP_BALLOTS ballots in a row with one user
  agent (a missing one is one agent too), arriving at metronome-regular gaps
  (their coefficient of variation under NEXUS_DETECT_LOCKSTEP_CV): people
  tap when they are ready, scripts on a clock.
"""

import ipaddress
import math
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext

from .voters import Voter

BIN = 10  # seconds: rate_burst's stretch


def _hashed(poll_id: str, kind: str, value: str) -> str:
    if not value:
        return ""
    return salted_hmac(f"nexus.signal.{poll_id}", f"{kind}:{value}").hexdigest()[:16]


@dataclass(frozen=True)
class Signals:
    net: str = ""  # the address prefix, hashed for this poll
    agent: str = ""  # the user agent, hashed for this poll
    voter_age: int | None = None  # seconds since the voter id was issued (anonymous voters)


NO_SIGNALS = Signals()


def signals_of(
    *, poll_id: str, address: str, user_agent: str, voter: Voter, joined: datetime | None = None
) -> Signals:
    """`address`: the client's address prefix (polls.voters.address_prefix);
    `joined`: a signed-in voter's sign-up time."""
    now = time.time()
    age = voter.age(now) if voter.is_anonymous else None
    if voter.kind == "user" and joined is not None:
        age = max(0, int(now - joined.timestamp()))
    return Signals(
        net=_hashed(poll_id, "net", network(address)),
        agent=_hashed(poll_id, "ua", user_agent[:512] or "(none)"),
        voter_age=age,
    )


def network(prefix: str) -> str:
    """The network detection groups by: an IPv4 address as it is (one NAT),
    an IPv6 /64 widened to its /48 (what one site, or one rented server, is
    given: 65,536 /64s)."""
    try:
        net = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return prefix
    if net.version == 6 and net.prefixlen > 48:
        return str(net.supernet(new_prefix=48))
    return str(net)


@dataclass(frozen=True)
class Row:
    id: int
    at: float  # Unix seconds
    net: str
    agent: str
    voter_age: int | None
    held: bool = False  # quarantined by the owner


@dataclass
class Cluster:
    id: str  # what quarantine and release name it by
    kind: str
    detail: str
    ballots: set[int]
    start: float
    end: float

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "detail": self.detail,
            "ballots": len(self.ballots),
            "start": datetime.fromtimestamp(self.start, UTC),
            "end": datetime.fromtimestamp(self.end, UTC),
        }


def clusters(rows: list[Row], *, expected_audience: int | None) -> list[Cluster]:
    """Every cluster the rules find in a poll's ballots (`rows`, by time)."""
    rows = sorted(rows, key=lambda r: (r.at, r.id))
    found = (
        _prefix_bursts(rows, expected_audience)
        + _rate_bursts(rows, expected_audience)
        + _lockstep(rows)
    )
    return sorted(found, key=lambda c: (c.start, c.kind))


def flagged(found: list[Cluster]) -> set[int]:
    """The ballots in at least one cluster: what "flagged" counts."""
    return set().union(*(cluster.ballots for cluster in found))


@dataclass(frozen=True)
class _Issued:
    """A row placed at its voter's time of issue, for _windows."""

    at: float
    row: Row


Timed = TypeVar("Timed", Row, _Issued)


def _windows(rows: list[Timed], span: float, more_than: int) -> list[list[Timed]]:
    """Runs of `rows` (by their `at`) inside windows of `span` seconds that hold
    more than `more_than` of them; overlapping windows make one run."""
    flagged = [False] * len(rows)
    j, marked = 0, -1  # the window's first row; the last row flagged
    for i, row in enumerate(rows):
        while rows[j].at <= row.at - span:
            j += 1
        if i - j + 1 > more_than:
            for k in range(max(j, marked + 1), i + 1):
                flagged[k] = True
            marked = i
    runs: list[list[Timed]] = []
    for k, row in enumerate(rows):
        if flagged[k]:
            if k and flagged[k - 1]:
                runs[-1].append(row)
            else:
                runs.append([row])
    return runs


def _cluster(kind: str, key: str, run: list[Row], detail: str) -> Cluster:
    start, end = min(r.at for r in run), max(r.at for r in run)
    return Cluster(f"{kind}:{key}:{int(start)}", kind, detail, {r.id for r in run}, start, end)


def _prefix_bursts(rows: list[Row], expected_audience: int | None) -> list[Cluster]:
    window = settings.NEXUS_DETECT_WINDOW_SECONDS
    by_net: dict[str, list[_Issued]] = defaultdict(list)
    for row in rows:
        if row.net and row.voter_age is not None:
            by_net[row.net].append(_Issued(row.at - row.voter_age, row))
    venue = max(by_net, key=lambda net: len(by_net[net]), default=None)
    found = []
    for net, group in by_net.items():
        limit = settings.NEXUS_DETECT_PREFIX_BALLOTS
        if net == venue:
            limit = max(limit, expected_audience or 0)
        group.sort(key=lambda issued: (issued.at, issued.row.id))
        for run in _windows(group, window, limit):
            detail = gettext(
                "%(n)d voters from one network with ids issued within %(window)s s"
                " of each other, more than %(limit)d"
            ) % {"n": len(run), "window": window, "limit": limit}
            found.append(_cluster("prefix_burst", net, [i.row for i in run], detail))
    return found


def _rate_bursts(rows: list[Row], expected_audience: int | None) -> list[Cluster]:
    if not rows:
        return []
    bins: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        bins[int(row.at // BIN)].append(row)
    typical = statistics.median(len(b) for b in bins.values())
    limit = max(
        settings.NEXUS_DETECT_BURST_MIN - 1,
        settings.NEXUS_DETECT_BURST_FACTOR * typical,
        expected_audience or 0,
    )
    found = []
    for number, group in sorted(bins.items()):
        if len(group) > limit:
            detail = gettext(
                "%(n)d ballots in %(bin)s s, over %(factor)s× the poll's typical %(typical)s"
            ) % {
                "n": len(group),
                "bin": BIN,
                "factor": settings.NEXUS_DETECT_BURST_FACTOR,
                "typical": f"{typical:g}",
            }
            found.append(_cluster("rate_burst", str(number * BIN), group, detail))
    return found


def _lockstep(rows: list[Row]) -> list[Cluster]:
    run_length, most = settings.NEXUS_DETECT_LOCKSTEP_BALLOTS, settings.NEXUS_DETECT_LOCKSTEP_CV
    by_agent: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row.agent:
            by_agent[row.agent].append(row)
    found = []
    width = run_length - 1  # gaps in a run
    for agent, group in by_agent.items():
        steady: set[int] = set()  # positions in `group` inside a regular run
        gaps = [b.at - a.at for a, b in zip(group, group[1:], strict=False)]
        total = squares = 0.0  # over the window's gaps, rolled along: O(n), not O(n·run)
        for k, gap in enumerate(gaps):
            total, squares = total + gap, squares + gap * gap
            if k >= width:
                old = gaps[k - width]
                total, squares = total - old, squares - old * old
            if k + 1 >= width:
                mean = total / width
                spread = math.sqrt(max(0.0, squares / width - mean * mean))
                if mean > 0 and spread / mean < most:
                    steady.update(range(k + 1 - width, k + 2))
        if steady:
            flagged = [group[k] for k in sorted(steady)]
            detail = gettext("%(n)d ballots from one user agent at clockwork-regular gaps") % {
                "n": len(flagged)
            }
            found.append(_cluster("lockstep", agent, flagged, detail))
    return found


TIMELINE_BINS = 60  # the dashboard's timeline: at most this many bars
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)


def timeline(rows: list[Row], flagged: set[int]) -> dict:
    """Ballot arrivals (`rows`, by time) in at most TIMELINE_BINS equal
    stretches of a round number of seconds: per stretch, how many ballots
    came, how many of them are flagged and how many quarantined."""
    if not rows:
        return {"start": None, "seconds": 1, "ballots": [], "flagged": [], "quarantined": []}
    first = math.floor(rows[0].at)
    span = rows[-1].at - first
    # (TIMELINE_BINS - 1) stretches cover the span from any aligned start.
    fits = [s for s in _STEPS if span < s * (TIMELINE_BINS - 1)]
    seconds = fits[0] if fits else 86400 * (int(span // (86400 * (TIMELINE_BINS - 1))) + 1)
    start = first - first % seconds
    width = int((rows[-1].at - start) // seconds) + 1
    ballots, marked, held = [0] * width, [0] * width, [0] * width
    for row in rows:
        k = int((row.at - start) // seconds)
        ballots[k] += 1
        marked[k] += row.id in flagged
        held[k] += row.held
    return {
        "start": datetime.fromtimestamp(start, UTC),
        "seconds": seconds,
        "ballots": ballots,
        "flagged": marked,
        "quarantined": held,
    }
