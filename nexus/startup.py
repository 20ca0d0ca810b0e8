"""What a production server checks before it serves (nexus/wsgi.py and
nexus/asgi.py call `check`, then `warm` and `settle`): the mistakes that
would otherwise answer every page with a 500, or every request with a 503,
with nothing at start-up saying why. Settings already stop on a bad or
missing variable; these need Django set up. Each failure is one line
naming the fix.
NEXUS_STARTUP_CHECKS=0 turns them off, and `settle`: the test suite
imports the app in-process, where nothing is collected, the database is
its own and Python's garbage collector keeps its defaults.
"""

import gc
import os

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import ImproperlyConfigured
from django.db import connection


def check() -> None:
    if settings.DEBUG or _in_test_suite():
        return  # development serves static files from the apps and may start first
    manifest = getattr(staticfiles_storage, "manifest_name", None)
    if manifest and not staticfiles_storage.manifest_storage.exists(manifest):
        raise ImproperlyConfigured(
            f"No collected static files in {settings.STATIC_ROOT}: run "
            "`python manage.py collectstatic --noinput` first (the Dockerfile does), "
            "or point NEXUS_STATIC_ROOT at them"
        )
    try:
        connection.ensure_connection()
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImproperlyConfigured(
            f"DATABASE_URL: the database does not answer ({reason}); start it or fix DATABASE_URL"
        ) from exc
    finally:
        connection.close()


def warm() -> None:
    """Load once, before the first request, what a request would otherwise
    load on its way: the text checks' word lists (polls.text.warm)."""
    from polls import text

    text.warm()


def settle() -> None:
    """Last thing before serving: keep the garbage collector's pauses short.
    Django and the apps leave ~200,000 objects that live as long as the
    process, and every full collection walks them all: 120 ms on an idle
    2-core VM, up to 500 ms under load, a stall for every request and
    socket of the process (docs/BENCHMARKS.md). `gc.freeze` moves them to a
    generation the collector never visits. The thresholds then collect the
    youngest objects every 5,000 new ones instead of 700, and walk
    everything after 100 middle collections instead of 10: a server makes
    few reference cycles, and each socket's objects live as long as it."""
    if _in_test_suite():
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(5000, 20, 100)


def _in_test_suite() -> bool:
    """NEXUS_STARTUP_CHECKS=0: the test suite's in-process app (see the top)."""
    return os.environ.get("NEXUS_STARTUP_CHECKS", "1") == "0"
