from django.urls import path

from nexus.graphql import socket_schema

from .consumers import EventConsumer, PollConsumer, StreamConsumer
from .graphql_ws import GraphQLSocketConsumer

websocket_urlpatterns = [
    # graphql-transport-ws, beside the REST-shaped sockets
    path("graphql/", GraphQLSocketConsumer.as_asgi(schema=socket_schema)),
    path("ws/polls/<str:poll_id>/", PollConsumer.as_asgi()),
    path("ws/events/<str:event_id>/", EventConsumer.as_asgi()),
    path("ws/", StreamConsumer.as_asgi()),
]
