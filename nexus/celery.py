"""Celery, configured from Django's settings (CELERY_* names).

Workers run with `--pool threads`: the jobs wait on the database, SMTP and
files, and one process keeps its Prometheus metrics in one place
(NEXUS_WORKER_METRICS_PORT serves them).
"""

import logging
import os
import time

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexus.settings")

app = Celery("nexus")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

task_log = logging.getLogger("nexus.task")
_started: dict[str, float] = {}


@signals.worker_init.connect
def _serve_metrics(**kwargs):
    port = os.environ.get("NEXUS_WORKER_METRICS_PORT")
    if port:
        from prometheus_client import start_http_server

        start_http_server(int(port))


@signals.task_prerun.connect
def _task_started(task_id=None, **kwargs):
    _started[task_id] = time.perf_counter()


@signals.task_postrun.connect
def _task_finished(task_id=None, task=None, state=None, **kwargs):
    from .metrics import TASKS

    duration = time.perf_counter() - _started.pop(task_id, time.perf_counter())
    TASKS.labels(task.name, (state or "unknown").lower()).inc()
    task_log.info(
        "task %s %s %.1fms",
        task.name,
        state,
        duration * 1000,
        extra={
            "task": task.name,
            "task_id": task_id,
            "state": state,
            "duration_ms": round(duration * 1000, 1),
        },
    )


@signals.task_retry.connect
def _task_retried(request=None, **kwargs):
    from .metrics import TASKS

    TASKS.labels(request.task, "retry").inc()


async def embedded_beat(interval: float = 1.0, hourly: int = 3600) -> None:
    """Without a broker (`make run`), the server runs the beat's jobs itself:
    the due-poll sweep every `interval` seconds, stuffing detection's sweep
    every NEXUS_DETECT_SCAN_SECONDS ticks, the purges once an hour; and
    webhooks' sweep every `interval` in a loop of its own."""
    import asyncio

    webhooks = asyncio.ensure_future(_embedded_webhooks(interval))
    try:
        await _embedded_jobs(interval, hourly)
    finally:
        webhooks.cancel()


async def _embedded_jobs(interval: float, hourly: int) -> None:
    import asyncio

    from channels.db import database_sync_to_async
    from django.conf import settings

    from polls.services.exports import exports_purge
    from polls.services.idempotency import idempotency_purge, spent_challenges_purge
    from polls.services.integrity import integrity_sweep, signals_purge
    from polls.services.timing import polls_sweep
    from webhooks.sweep import deliveries_purge

    ticks = 0
    while True:
        await asyncio.sleep(interval)
        jobs = [polls_sweep]
        if ticks % settings.NEXUS_DETECT_SCAN_SECONDS == 0:
            jobs.append(integrity_sweep)
        if ticks % hourly == 0:
            jobs += [idempotency_purge, exports_purge, spent_challenges_purge, signals_purge]
            jobs.append(deliveries_purge)
        ticks += 1
        for job in jobs:
            try:
                await database_sync_to_async(job)()
            except Exception:
                logging.getLogger("nexus.schedule").warning(
                    "%s failed", job.__name__, exc_info=True
                )


async def _embedded_webhooks(interval: float) -> None:
    """Webhooks' sweep, off the thread that serves requests: a receiver that
    hangs holds up only this loop (for NEXUS_WEBHOOK_TIMEOUT at most)."""
    import asyncio

    from asgiref.sync import sync_to_async

    from webhooks.sweep import webhooks_sweep

    def job() -> int:
        from django.db import connections

        try:
            return webhooks_sweep()
        finally:
            connections.close_all()  # this pool thread's own connections

    while True:
        await asyncio.sleep(interval)
        try:
            await sync_to_async(job, thread_sensitive=False)()
        except Exception:
            logging.getLogger("nexus.schedule").warning("webhooks_sweep failed", exc_info=True)
