"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexus.settings")

django_asgi_app = get_asgi_application()

# Imported after Django is set up: they load models.
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from realtime.auth import websocket_stack  # noqa: E402
from realtime.broadcast import BindLoopMiddleware  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402

application = BindLoopMiddleware(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": websocket_stack(URLRouter(websocket_urlpatterns)),
        }
    )
)
