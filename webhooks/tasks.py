"""The worker's webhook jobs: take ids or nothing, call a service."""

from celery import shared_task

from polls.tasks import RELIABLE


@shared_task(**{**RELIABLE, "max_retries": 0})  # the next sweep, a second later, is the retry
def webhooks_sweep() -> int:
    from .sweep import webhooks_sweep as sweep

    return sweep()


@shared_task(**RELIABLE)
def deliveries_purge() -> int:
    from .sweep import deliveries_purge as purge

    return purge()
