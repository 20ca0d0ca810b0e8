"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexus.settings")

django_asgi_app = get_asgi_application()

# Imported after Django is set up: they load models.
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from nexus import startup  # noqa: E402

startup.check()
startup.warm()

from nexus.limits import ASGIBodyLimit  # noqa: E402
from realtime.auth import websocket_stack  # noqa: E402
from realtime.publish import BindLoopMiddleware  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402


class EmbeddedBeat:
    """With no broker configured, this process runs the due-poll sweep."""

    def __init__(self, app):
        self.app, self.task = app, None

    async def __call__(self, scope, receive, send):
        if self.task is None:
            import asyncio

            from django.conf import settings

            from .celery import embedded_beat

            if settings.CELERY_TASK_ALWAYS_EAGER:
                self.task = asyncio.ensure_future(embedded_beat())
            else:
                self.task = False
        return await self.app(scope, receive, send)


application = EmbeddedBeat(
    BindLoopMiddleware(
        ProtocolTypeRouter(
            {
                "http": ASGIBodyLimit(django_asgi_app),
                "websocket": websocket_stack(URLRouter(websocket_urlpatterns)),
            }
        )
    )
)
startup.settle()
