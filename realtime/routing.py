from django.urls import path

from .consumers import PollConsumer, StreamConsumer

websocket_urlpatterns = [
    path("ws/polls/<str:poll_id>/", PollConsumer.as_asgi()),
    path("ws/", StreamConsumer.as_asgi()),
]
