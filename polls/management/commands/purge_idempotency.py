from django.core.management.base import BaseCommand

from polls.services.idempotency import idempotency_purge


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than NEXUS_IDEMPOTENCY_TTL_HOURS."

    def handle(self, *args, **options):
        self.stdout.write(f"Deleted {idempotency_purge()} idempotency record(s).")
