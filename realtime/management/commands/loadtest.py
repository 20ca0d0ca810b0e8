"""`python manage.py loadtest …`: the load test's own command (loadtest/,
`nexus-loadtest`), for an operator who has the server installed."""

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Load-test a running Nexus from outside (nexus-loadtest; --help for its options)."
    requires_system_checks: list = []

    def run_from_argv(self, argv):
        try:
            from nexus_loadtest.cli import main
        except ImportError:
            raise CommandError("the load test is not installed: pip install ./loadtest") from None
        raise SystemExit(main(argv[2:]))

    def handle(self, *args, **options):  # run_from_argv takes every call
        raise CommandError("run it as `python manage.py loadtest --url …`")
