from django.core.management.base import BaseCommand, CommandError

from polls.models import Poll
from polls.services import poll_recount


class Command(BaseCommand):
    help = "Recompute cached vote counts from the ballot rows and report any drift fixed."

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
        self.stdout.write(f"Recounted {len(ids)} poll(s); fixed {fixed} drifted counter(s).")
