"""Stuffing detection's writes: the owner's quarantine and release of
ballots, and the signals' retention (polls/integrity.py finds clusters,
polls.selectors reads them).

A quarantined ballot stays in the database and in the export, marked; it is
not counted. Quarantine and release flip `Ballot.quarantine` and then set the
poll's cached counters to what the counted rows give (services.polls.
counters_fix: a new version, and every screen updates), all under the poll's
row lock, so a ballot arriving meanwhile is counted exactly once. Each is
recorded (IntegrityAction): who, when, which signal, how many ballots.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext

from nexus.errors import Invalid

from .. import integrity, selectors
from ..models import Ballot, HeldVoter, IntegrityAction, Poll
from .common import locked_owned_poll
from .polls import counters_fix

ALL_FLAGGED, ALL = "all_flagged", "all"
CHUNK = 5000  # ballot ids per UPDATE (SQLite's bound on parameters)


def ballots_quarantine(*, poll_id: str, user, signal: str | None) -> IntegrityAction:
    """Quarantine the ballots of one signal (`signal`, an id from the report)
    or, with None, every flagged ballot. The clusters are found before the
    poll is locked (a scan of its ballots need not hold up its votes): what
    is quarantined is what the owner was shown, not ballots that came since."""
    poll = locked_owned_poll(poll_id, user, lock=False)
    found, _ = selectors.poll_clusters(poll=poll)
    if signal is None:
        ids = integrity.flagged(found)
        detail = f"every flagged ballot: {len(found)} signal(s)"
    else:
        cluster = next((c for c in found if c.id == signal), None)
        if cluster is None:
            raise _unknown(signal)
        ids, detail = cluster.ballots, cluster.detail
    return _move(
        poll_id, user, IntegrityAction.Action.QUARANTINE, signal or ALL_FLAGGED, detail, ids
    )


def ballots_release(*, poll_id: str, user, signal: str | None) -> IntegrityAction:
    """Count again the quarantined ballots of one signal (those quarantined by
    its name, and those it holds now) or, with None, every quarantined ballot."""
    poll = locked_owned_poll(poll_id, user, lock=False)
    release = IntegrityAction.Action.RELEASE
    if signal is None:
        return _move(poll_id, user, release, ALL, "", None, held_by=None)
    found, _ = selectors.poll_clusters(poll=poll)
    cluster = next((c for c in found if c.id == signal), None)
    named = IntegrityAction.objects.filter(
        poll=poll, action=IntegrityAction.Action.QUARANTINE, signal=signal
    )
    if cluster is None and not named.exists():
        raise _unknown(signal)
    held = Ballot.objects.filter(poll=poll, quarantine__in=named)
    ids = set(held.values_list("id", flat=True))
    if cluster:
        ids |= cluster.ballots
    detail = cluster.detail if cluster else named.values_list("detail", flat=True).last() or ""
    return _move(poll_id, user, release, signal, detail, ids, held_by=named)


@transaction.atomic
def _move(
    poll_id: str, user, action: str, signal: str, detail: str, ids: set[int] | None, *, held_by=()
) -> IntegrityAction:
    """Quarantine (or release) the ballots `ids` (None: every quarantined
    one) that are not already so, and fix the counters. A release also lets
    go of the voters held by its quarantines (`held_by`, None: all), who had
    withdrawn their quarantined ballots. Recorded only if something moved
    (the answer still says what was asked, with 0 ballots)."""
    poll = locked_owned_poll(poll_id, user)
    record = IntegrityAction.objects.create(
        poll=poll, user=user, action=action, signal=signal, detail=detail[:300]
    )
    quarantining = action == IntegrityAction.Action.QUARANTINE
    ballots = Ballot.objects.filter(poll=poll, quarantine__isnull=quarantining)
    to = record if quarantining else None
    if ids is None:
        record.ballots = ballots.update(quarantine=to)
    else:
        ordered = sorted(ids)
        record.ballots = sum(
            ballots.filter(pk__in=ordered[i : i + CHUNK]).update(quarantine=to)
            for i in range(0, len(ordered), CHUNK)
        )
    let_go = 0
    if not quarantining and poll.has_held_voters:
        voters = HeldVoter.objects.filter(poll=poll)
        if held_by is not None:
            voters = voters.filter(quarantine__in=held_by)
        let_go, _ = voters.delete()
        poll.has_held_voters = HeldVoter.objects.filter(poll=poll).exists()
        poll.save(update_fields=["has_held_voters"])
    if not (record.ballots or let_go):
        record.delete()  # nothing moved: nothing to keep (a flood of no-ops grows no table)
        return record
    record.save(update_fields=["ballots"])
    if record.ballots:
        counters_fix(poll)
    return record


def _unknown(signal: str) -> Invalid:
    return Invalid(
        gettext("No such signal in this poll."),
        fields={
            "signal": gettext("Not a signal of this poll: take an id from its integrity report.")
        },
    )


def integrity_scan(*, poll_id: str, now=None) -> int | None:
    """Run the detector over one poll and keep how many of its ballots are
    flagged (Poll.flagged: the owner's badge without a report) and when. A
    plain column write: the tally does not move, so neither does the
    version. None if the poll is gone."""
    poll = Poll.objects.filter(pk=poll_id).first()
    if poll is None:
        return None
    found, _ = selectors.poll_clusters(poll=poll)
    flagged = len(integrity.flagged(found))
    Poll.objects.filter(pk=poll_id).update(flagged=flagged, scanned_at=now or timezone.now())
    return flagged


SWEEP_POLLS = 200  # polls scanned per sweep at most, the most recently voted first
SCAN_BALLOTS_PER_SECOND = 1000  # a poll is scanned at most once per (its ballots / this) s


def integrity_sweep(*, now=None) -> int:
    """The worker's detector: scan the polls whose tally moved since their
    last scan, each at most every NEXUS_DETECT_SCAN_SECONDS, and a big poll
    less often (a scan reads every ballot, ~35 µs each: a poll of a million
    is scanned every ~17 minutes, ~3% of a core). Returns how many it scanned."""
    now = now or timezone.now()
    moved = (
        Poll.objects.filter(Q(scanned_at__isnull=True) | Q(updated_at__gt=F("scanned_at")))
        .filter(Q(total_votes__gt=0) | Q(quarantined__gt=0))  # a poll without ballots: nothing
        .exclude(kind=Poll.Kind.QA)  # questions are not ballots
        .order_by("-updated_at")
        .values_list("id", "scanned_at", "total_votes", "quarantined")[:SWEEP_POLLS]
    )
    scanned = 0
    for poll_id, scanned_at, counted, held in moved:
        every = max(settings.NEXUS_DETECT_SCAN_SECONDS, (counted + held) / SCAN_BALLOTS_PER_SECOND)
        if scanned_at is not None and (now - scanned_at).total_seconds() < every:
            continue
        scanned += integrity_scan(poll_id=poll_id, now=now) is not None
    return scanned


def signals_purge() -> int:
    """Blank the signals of ballots older than NEXUS_SIGNAL_RETENTION_DAYS
    (a deleted poll's go with its ballots); returns how many ballots."""
    before = timezone.now() - timedelta(days=settings.NEXUS_SIGNAL_RETENTION_DAYS)
    kept = Ballot.objects.filter(created_at__lt=before).exclude(net="", agent="", voter_age=None)
    return kept.update(net="", agent="", voter_age=None)
