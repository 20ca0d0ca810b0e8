from django.urls import path
from strawberry.channels import GraphQLWSConsumer

from nexus.graphql import socket_schema

from .consumers import PollConsumer, StreamConsumer

websocket_urlpatterns = [
    # graphql-transport-ws, beside the REST-shaped sockets
    path("graphql/", GraphQLWSConsumer.as_asgi(schema=socket_schema)),
    path("ws/polls/<str:poll_id>/", PollConsumer.as_asgi()),
    path("ws/", StreamConsumer.as_asgi()),
]
