"""Stuffing detection's writes: its signals' retention (polls/integrity.py
reads them)."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ..models import Ballot


def signals_purge() -> int:
    """Blank the signals of ballots older than NEXUS_SIGNAL_RETENTION_DAYS
    (a deleted poll's go with its ballots); returns how many ballots."""
    before = timezone.now() - timedelta(days=settings.NEXUS_SIGNAL_RETENTION_DAYS)
    kept = Ballot.objects.filter(created_at__lt=before).exclude(net="", agent="", voter_age=None)
    return kept.update(net="", agent="", voter_age=None)
