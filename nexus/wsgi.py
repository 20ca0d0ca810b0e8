"""WSGI entry point: the REST API and pages only (WebSockets need ASGI).

docs/BENCHMARKS.md measures serving REST from WSGI workers beside the ASGI
process that holds the sockets.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexus.settings")

application = get_wsgi_application()

from nexus import startup  # noqa: E402  (needs Django set up)
from realtime.publish import start_background_loop  # noqa: E402

startup.check()
startup.warm()

start_background_loop()
startup.settle()
