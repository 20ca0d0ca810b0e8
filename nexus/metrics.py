"""Prometheus metrics of this process (scrape each server process)."""

from prometheus_client import Counter, Gauge, Histogram

VOTES = Counter(
    "nexus_votes_total", "Vote requests by outcome (accepted or the error code).", ["outcome"]
)
HTTP_LATENCY = Histogram(
    "nexus_http_request_duration_seconds", "HTTP request duration.", ["method", "route", "status"]
)
WS_CONNECTIONS = Gauge("nexus_websocket_connections", "Open live-results WebSocket connections.")
BROADCASTS = Counter(
    "nexus_broadcasts_total", "Live-results states published to the channel layer."
)
VOTE_TO_BROADCAST = Histogram(
    "nexus_vote_to_broadcast_seconds",
    "From a committed change to its state being published.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5),
)
TASKS = Counter("nexus_celery_tasks_total", "Background task outcomes.", ["task", "outcome"])
