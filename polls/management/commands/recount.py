from django.core.management.base import BaseCommand, CommandError

from polls.models import Choice, Poll
from polls.services import poll_recount
from polls.services.polls import Counts, counts_of


class Command(BaseCommand):
    help = (
        "Recompute cached vote counts from the ballot rows and report any drift fixed;"
        " for a poll with quarantined ballots, show its tally without and with them."
    )

    def add_arguments(self, parser):
        parser.add_argument("poll_ids", nargs="*", metavar="POLL_ID")

    def handle(self, *args, poll_ids, **options):
        ids = [p.upper() for p in poll_ids] or list(Poll.objects.values_list("id", flat=True))
        missing = set(ids) - set(Poll.objects.filter(pk__in=ids).values_list("id", flat=True))
        if missing:
            raise CommandError(f"No poll with id: {', '.join(sorted(missing))}")
        fixed = 0
        for poll_id in ids:
            for drift in poll_recount(poll_id=poll_id):
                fixed += 1
                self.stdout.write(
                    f"{drift.poll_id}: {drift.what} was {drift.cached}, counted {drift.actual}"
                )
            poll = Poll.objects.get(pk=poll_id)
            if poll.quarantined:
                texts = dict(Choice.objects.filter(poll=poll).values_list("id", "text"))
                without = counts_of(poll)
                self.stdout.write(
                    f"{poll_id}: {without.quarantined} quarantined ballot(s);"
                    f" without them {_tally(without, texts)};"
                    f" with them {_tally(counts_of(poll, with_quarantined=True), texts)}"
                )
        self.stdout.write(f"Recounted {len(ids)} poll(s); fixed {fixed} drifted counter(s).")


def _tally(counts: Counts, texts: dict[int, str]) -> str:
    per_choice = ", ".join(f"{text} {counts.choices[pk]}" for pk, text in texts.items())
    return f"total {counts.total}" + (f" ({per_choice})" if per_choice else "")
