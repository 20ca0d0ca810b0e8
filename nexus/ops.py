"""Health, readiness and metrics for operators."""

import hmac
import ipaddress
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rest_framework.throttling import BaseThrottle

from .errors import error_body
from .metrics import HTTP_LATENCY
from .outage import BROKER, CHANNEL_LAYER, DATABASE, Dependency

request_log = logging.getLogger("nexus.request")

# Loopback, RFC 1918 and IPv6 unique-local (`is_private` would also admit
# documentation and reserved ranges).
PRIVATE_NETWORKS = [
    ipaddress.ip_network(n)
    for n in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7")
]
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def healthz(request):
    """200 while the process lives."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """Within a second, whatever is down: 200 while this process can do its
    main job, which needs the database; 503 naming it when it does not
    answer. Redis (the channel layer) and the broker only degrade a process
    (200 with `"degraded": [...]`): votes commit and screens converge
    through the reconciler without them, so a balancer acting on this
    must not take every process out for a Redis blip."""
    checks = _run_checks({"database": _database, "channel_layer": _redis, "broker": _broker})
    bad = [name for name, result in checks.items() if result not in ("ok", "not configured")]
    failed = [name for name in bad if name in ESSENTIAL]
    degraded = [name for name in bad if name not in ESSENTIAL]
    body: dict = {"status": "unavailable" if failed else "degraded" if degraded else "ok"}
    body["checks"] = checks
    if failed:
        body["failed"] = failed
    if degraded:
        body["degraded"] = degraded
    return JsonResponse(body, status=503 if failed else 200)


def metrics(request):
    """Prometheus text, for loopback and private addresses (the client's, after
    NEXUS_NUM_PROXIES trusted proxies) or a bearer NEXUS_METRICS_TOKEN."""
    if not _may_read_metrics(request):
        detail = gettext("Metrics are served to private addresses, or with the metrics token.")
        return JsonResponse(error_body("forbidden", detail), status=403)
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)


def _may_read_metrics(request) -> bool:
    token = settings.NEXUS_METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer "):
        return hmac.compare_digest(given.removeprefix("Bearer ").encode(), token.encode())
    try:
        address = ipaddress.ip_address(BaseThrottle().get_ident(request).strip())
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in PRIVATE_NETWORKS)


ESSENTIAL = {"database"}
PROBE_DEADLINE = 0.8  # seconds for all probes together
_probes = ThreadPoolExecutor(max_workers=3, thread_name_prefix="readyz")
_pending: dict[str, Future] = {}
_pending_lock = threading.Lock()


def _run_checks(probes: dict) -> dict[str, str]:
    """Run the probes side by side, each in its own thread, and wait at most
    PROBE_DEADLINE. A probe still running from an earlier request is not
    started again (so a hung dependency holds one thread, not one per probe)
    and reads as a timeout."""
    with _pending_lock:
        futures = {}
        for name, probe in probes.items():
            running = _pending.get(name)
            if running is None or running.done():
                running = _pending[name] = _probes.submit(probe)
            futures[name] = running
    done, _ = wait(futures.values(), timeout=PROBE_DEADLINE)
    return {name: f.result() if f in done else "error: timeout" for name, f in futures.items()}


def _check(dependency: Dependency, probe) -> str:
    try:
        probe()
    except Exception as exc:  # a readiness probe reports, it does not raise
        dependency.failed(exc)
        return f"error: {type(exc).__name__}"
    dependency.ok()
    return "ok"


def _database() -> str:
    def probe():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        finally:
            connection.close()  # this thread's connection goes back to the pool

    return _check(DATABASE, probe)


def _redis() -> str:
    url = settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts", [None])[0]
    if not url:
        return "ok"  # the in-memory layer lives in this process

    def probe():
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()

    return _check(CHANNEL_LAYER, probe)


def _broker() -> str:
    if not settings.CELERY_BROKER_URL:
        return "not configured"

    def probe():
        from kombu import Connection

        with Connection(settings.CELERY_BROKER_URL, connect_timeout=1) as conn:
            conn.ensure_connection(max_retries=1)

    return _check(BROKER, probe)


class RequestMetricsMiddleware:
    """One log line and one histogram sample per request.

    Sync and async (see nexus.middleware): under ASGI it runs on the event loop.
    """

    sync_capable = async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        started = time.perf_counter()
        response = self.get_response(request)
        self._record(request, response, time.perf_counter() - started)
        return response

    async def _acall(self, request):
        started = time.perf_counter()
        response = await self.get_response(request)
        self._record(request, response, time.perf_counter() - started)
        return response

    def _record(self, request, response, duration):
        match = getattr(request, "resolver_match", None)
        route = match.route if match else "unmatched"
        method = request.method if request.method in METHODS else "other"  # a fixed set
        HTTP_LATENCY.labels(method, route, response.status_code).observe(duration)
        request_log.info(
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status_code,
            duration * 1000,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(duration * 1000, 1),
            },
        )
