"""CSV exports: the results, then every ballot with its voter pseudonymised.

Rows stream from the database in chunks into a file, so memory stays flat
however many ballots there are. Re-running an export (a worker died) builds
the file again from the start and replaces it; a finished one is left alone.

Files live as long as their poll, and at most NEXUS_EXPORT_RETENTION_DAYS
(`exports_purge`, hourly): deleting a poll deletes its files once the delete
commits, and a build that finishes after its export was deleted removes
what it wrote.
"""

import csv
import itertools
import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .. import selectors
from ..models import Answer, BallotChoice, Export, Poll, Question

logger = logging.getLogger("nexus.exports")

CHUNK = 5000
PROGRESS_EVERY = 10000
UNFINISHED = (Export.Status.PENDING, Export.Status.RUNNING)


def export_start(*, poll: Poll, user) -> Export:
    """A new export job, or the one of this poll already waiting or running:
    it reads the ballots when it runs, so a second would write the same file."""
    unfinished = Export.objects.filter(poll=poll, owner=user, status__in=UNFINISHED).first()
    if unfinished is not None:
        return unfinished
    export = Export.objects.create(poll=poll, owner=user)
    transaction.on_commit(lambda: _run_later(export.pk), robust=True)
    return export


def exports_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "exports"


def files_delete(export_ids) -> None:
    """Remove these exports' files (finished or partial), if any."""
    for export_id in export_ids:
        for suffix in (".csv", ".part"):
            (exports_dir() / f"{export_id}{suffix}").unlink(missing_ok=True)


def exports_purge(*, now=None) -> int:
    """Delete exports older than NEXUS_EXPORT_RETENTION_DAYS with their files,
    and files no export owns any more (a poll deleted while its file was
    being written). Returns how many exports were deleted."""
    now = now or timezone.now()
    old = Export.objects.filter(
        created_at__lt=now - timedelta(days=settings.NEXUS_EXPORT_RETENTION_DAYS)
    )
    expired = [str(pk) for pk in old.values_list("pk", flat=True)]
    Export.objects.filter(pk__in=expired).delete()
    files_delete(expired)
    if exports_dir().is_dir():
        known = {str(pk) for pk in Export.objects.values_list("pk", flat=True)}
        orphans = {f.stem for f in exports_dir().iterdir() if f.stem not in known}
        files_delete(orphans)
    if expired:
        days = settings.NEXUS_EXPORT_RETENTION_DAYS
        logger.info("Deleted %d exports older than %d days", len(expired), days)
    return len(expired)


def export_build(*, export_id) -> bool:
    """Build the CSV. Returns False when there was nothing to do."""
    with transaction.atomic():
        export = (
            Export.objects.select_for_update().select_related("poll").filter(pk=export_id).first()
        )
        if export is None or export.status == Export.Status.DONE:
            return False  # deleted with its poll, or purged; or built already
        export.status, export.rows, export.attempts = Export.Status.RUNNING, 0, export.attempts + 1
        export.save(update_fields=["status", "rows", "attempts"])
    final = exports_dir() / f"{export.pk}.csv"
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_suffix(".part")
    try:
        with partial.open("w", newline="", encoding="utf-8") as f:
            rows = _write(csv.writer(f), export)
    except Exception as exc:  # the task retries; until then the job says why
        Export.objects.filter(pk=export.pk).update(status=Export.Status.FAILED, error=repr(exc))
        raise
    partial.replace(final)  # atomic: a download never sees half a file
    finished = Export.objects.filter(pk=export.pk).update(
        status=Export.Status.DONE,
        rows=rows,
        path=str(final.relative_to(settings.MEDIA_ROOT)),
        finished_at=timezone.now(),
    )
    if not finished:  # the poll was deleted while this ran
        files_delete([export.pk])
        return False
    return True


def _write(writer, export: Export) -> int:
    poll = export.poll
    results = selectors.results_get(poll_id=poll.pk, user=export.owner, voter=None)
    texts = {c["id"]: c["text"] for c in results["choices"]}
    writer.writerow(["poll", "question", "version", "status", "total_votes", "quarantined"])
    writer.writerow(
        [
            poll.pk,
            inert(poll.question),
            results["version"],
            results["status"],
            results["total_votes"],
            results.get("quarantined", 0),
        ]
    )
    writer.writerow([])
    if poll.kind == Poll.Kind.TEXT:
        return _write_answers(writer, export, results)
    if poll.kind == Poll.Kind.QA:
        return _write_questions(writer, export)
    _write_choices(writer, poll, results)
    writer.writerow([])
    writer.writerow(["voter", "choices", "voted_at", "quarantined"])
    marks = (
        BallotChoice.objects.filter(poll=poll)
        .order_by("ballot_id", *(["value"] if poll.kind == Poll.Kind.RANKING else []), "choice_id")
        .values_list(
            "ballot_id",
            "ballot__voter_key",
            "ballot__created_at",
            "ballot__quarantine",
            "choice_id",
            "value",
        )
        .iterator(chunk_size=CHUNK)
    )
    rows = 0
    for _, group in itertools.groupby(marks, key=lambda mark: mark[0]):
        ballot = list(group)
        _, voter_key, created_at, quarantine, _, _ = ballot[0]
        writer.writerow(
            [
                _pseudonym(poll.pk, voter_key),
                inert("; ".join(_mark(poll, texts.get(m[4], "?"), m[5]) for m in ballot)),
                created_at.isoformat(),
                _held(quarantine),
            ]
        )
        rows += 1
        if rows % PROGRESS_EVERY == 0:
            Export.objects.filter(pk=export.pk).update(rows=rows)
    return rows


def _write_answers(writer, export: Export, results: dict) -> int:
    """A text poll: its top words, then every answer that is shown or waits
    for the owner, with its state. Hidden answers are left out: a hidden
    answer reaches no view, no socket and no file."""
    poll = export.poll
    writer.writerow(["word", "count"])
    writer.writerows([inert(w["word"]), w["count"]] for w in results["words"])
    writer.writerow([])
    writer.writerow(["voter", "answer", "state", "answered_at", "quarantined"])
    answers = (
        Answer.objects.filter(poll=poll)
        .exclude(state=Answer.State.HIDDEN)
        .order_by("created_at", "id")
        .values_list("ballot__voter_key", "text", "state", "created_at", "ballot__quarantine")
        .iterator(chunk_size=CHUNK)
    )
    rows = 0
    for voter_key, text, state, created_at, quarantine in answers:
        voter = _pseudonym(poll.pk, voter_key)
        writer.writerow([voter, inert(text), state, created_at.isoformat(), _held(quarantine)])
        rows += 1
        if rows % PROGRESS_EVERY == 0:
            Export.objects.filter(pk=export.pk).update(rows=rows)
    return rows


def _write_questions(writer, export: Export) -> int:
    """A Q&A poll: every question that is not hidden, most upvoted first,
    with its state; hidden ones are left out, as for answers."""
    poll = export.poll
    writer.writerow(["asker", "question", "upvotes", "state", "pinned", "asked_at"])
    questions = (
        Question.objects.filter(poll=poll)
        .exclude(state=Question.State.HIDDEN)
        .order_by("-upvotes", "id")
        .values_list("voter_key", "text", "upvotes", "state", "pinned", "created_at")
        .iterator(chunk_size=CHUNK)
    )
    rows = 0
    for voter_key, text, upvotes, state, pinned, created_at in questions:
        asker = _pseudonym(poll.pk, voter_key)
        writer.writerow(
            [asker, inert(text), upvotes, state, "yes" if pinned else "", created_at.isoformat()]
        )
        rows += 1
        if rows % PROGRESS_EVERY == 0:
            Export.objects.filter(pk=export.pk).update(rows=rows)
    return rows


def _write_choices(writer, poll: Poll, results: dict) -> None:
    """One row per choice with its kind's results; a ranking's instant-runoff
    rounds after them."""
    choices = results["choices"]
    if poll.kind == Poll.Kind.RATING:
        low = poll.scale_min or 0
        scores = [f"rated {low + n}" for n in range(len(choices[0]["distribution"]))]
        writer.writerow(["item", "ratings", "mean", *scores])
        for c in choices:
            mean = "" if c["mean"] is None else c["mean"]
            writer.writerow([inert(c["text"]), c["count"], mean, *c["distribution"]])
        return
    if poll.kind == Poll.Kind.RANKING:
        writer.writerow(["candidate", "ranked", "borda", "first"])
        writer.writerows([inert(c["text"]), c["votes"], c["borda"], c["first"]] for c in choices)
        writer.writerow([])
        texts = {str(c["id"]): inert(c["text"]) for c in choices}
        names = [texts[str(c["id"])] for c in choices]
        writer.writerow(["instant-runoff round", *names, "eliminated"])
        for number, round_ in enumerate(results["irv"]["rounds"], start=1):
            counts = [round_["counts"].get(str(c["id"]), "") for c in choices]
            out = round_["eliminated"]
            writer.writerow([number, *counts, "" if out is None else texts[str(out)]])
        winner = results["irv"]["winner"]
        writer.writerow(["winner", "" if winner is None else texts[str(winner)]])
        return
    writer.writerow(["choice", "votes", "share"])
    writer.writerows([inert(c["text"]), c["votes"], c["share"]] for c in choices)


def _mark(poll: Poll, text: str, value: int | None) -> str:
    """A ballot's mark in its CSV cell: `Red`, `Speed: 4` (a rating), `1. Red` (a ranking)."""
    if poll.kind == Poll.Kind.RATING:
        return f"{text}: {value}"
    if poll.kind == Poll.Kind.RANKING:
        return f"{(value or 0) + 1}. {text}"
    return text


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _held(quarantine: int | None) -> str:
    """A ballot's mark in the export: kept, and marked, when the owner holds
    it out of the count (services.integrity)."""
    return "" if quarantine is None else "yes"


def inert(text: str) -> str:
    """A cell a spreadsheet would run as a formula (`=HYPERLINK(...)`,
    `+1+cmd|...`, `@SUM(1)`) starts with a quote, so it shows as the text it
    is (OWASP's CSV injection rule). Hand-written: only the owner's and
    voters' text cells need it, not the numbers beside them, which
    defusedcsv's writer would quote too."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _pseudonym(poll_id: str, voter_key: str) -> str:
    """Stable within a poll, unlinkable across polls without the server's key."""
    return salted_hmac(f"nexus.export.{poll_id}", voter_key, algorithm="sha256").hexdigest()[:20]


def _run_later(export_id) -> None:
    from .. import tasks

    tasks.export_run.delay(str(export_id))
