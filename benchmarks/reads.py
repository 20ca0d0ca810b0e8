"""Would caching hot reads help? Time the results read three ways, in-process.

    DATABASE_URL=postgres://... REDIS_URL=redis://... SECRET_KEY=x ALLOWED_HOSTS=testserver \
      python benchmarks/reads.py --reads 2000

- `view`: GET /api/polls/{id}/results/ through Django (middleware, DRF view,
  the one-query selector, serializer, JSON);
- `selector`: the one query and snapshot alone (`selectors.results_get`);
- `cache_get`: one Redis GET of that snapshot: the least a cache hit costs in
  place of `selector` (the view's other work stays).
Prints microseconds per read (p50) for each.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexus.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import AnonymousUser  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.test import Client  # noqa: E402

from polls import selectors, services  # noqa: E402


def p50_us(fn, reads: int) -> float:
    timings = []
    for _ in range(reads):
        started = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - started)
    return round(statistics.median(timings) * 1e6)


def main(reads: int) -> dict:
    owner, _ = get_user_model().objects.get_or_create(username="bench-owner")
    poll = services.poll_create(owner=owner, question="Bench", choices=["A", "B", "C"])
    client, path = Client(), f"/api/polls/{poll.id}/results/"
    anonymous = AnonymousUser()
    snapshot = selectors.results_get(poll_id=poll.id, user=anonymous, voter=None)
    cache.set(f"bench-results:{poll.id}", snapshot)
    try:
        return {
            "reads": reads,
            "view_us": p50_us(lambda: client.get(path), reads),
            "selector_us": p50_us(
                lambda: selectors.results_get(poll_id=poll.id, user=anonymous, voter=None), reads
            ),
            "cache_get_us": p50_us(lambda: cache.get(f"bench-results:{poll.id}"), reads),
        }
    finally:
        services.poll_delete(poll_id=poll.id, user=owner)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=2000)
    print(json.dumps(main(parser.parse_args().reads)))
