"""Background jobs: take ids, load rows, call a service. Each is idempotent."""

import smtplib

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .services import timing

# Transient troubles worth a retry with exponential back-off.
TRANSIENT = (OperationalError, InterfaceError, smtplib.SMTPException, ConnectionError, TimeoutError)
RELIABLE = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
    "soft_time_limit": 60,
    "time_limit": 90,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


@shared_task(**RELIABLE)
def poll_close_due(poll_id: str) -> bool:
    return timing.poll_close_if_due(poll_id=poll_id)


@shared_task(**RELIABLE)
def poll_open_due(poll_id: str) -> bool:
    return timing.poll_open_if_due(poll_id=poll_id)


@shared_task(**RELIABLE)
def polls_sweep() -> int:
    return timing.polls_sweep()


@shared_task(**RELIABLE)
def poll_results_email(poll_id: str) -> bool:
    return timing.poll_results_email(poll_id=poll_id)


@shared_task(**RELIABLE)
def idempotency_purge() -> int:
    from .services.idempotency import idempotency_purge as purge

    return purge()


@shared_task(**RELIABLE)
def spent_challenges_purge() -> int:
    from .services.idempotency import spent_challenges_purge as purge

    return purge()


@shared_task(**RELIABLE)
def signals_purge() -> int:
    from .services.integrity import signals_purge as purge

    return purge()


@shared_task(**{**RELIABLE, "max_retries": 0})  # the next sweep is the retry
def integrity_sweep() -> int:
    from .services.integrity import integrity_sweep as sweep

    return sweep()


@shared_task(**RELIABLE)
def exports_purge() -> int:
    from .services.exports import exports_purge as purge

    return purge()


@shared_task(**{**RELIABLE, "soft_time_limit": 600, "time_limit": 660})
def export_run(export_id: str) -> bool:
    from .services.exports import export_build

    return export_build(export_id=export_id)
