import asyncio
import contextlib
import gc
import os
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from nexus.asgi import application
from polls import services
from realtime.consumers import LiveConsumer
from tests.factories import UserFactory, make_poll
from tests.helpers import anon
from tests.services import require_service

LAYERS = {
    "memory": {"BACKEND": "channels.layers.InMemoryChannelLayer"},
    "redis": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [os.environ.get("REDIS_URL", "")]},
    },
}


@pytest.fixture(autouse=True)
def _no_healing(settings):
    """The reconciler would hide a broken broadcast path: make it too slow
    to matter, except in the tests about it."""
    settings.NEXUS_RESYNC_SECONDS = 60


def use_layer(settings, config: dict) -> None:
    settings.CHANNEL_LAYERS = {"default": config}
    channel_layers.backends.clear()


@pytest.fixture(params=["memory", "redis"])
def layer(request, settings):
    """Run the test on the in-memory layer and again on real Redis."""
    if request.param == "redis":
        require_service(bool(os.environ.get("REDIS_URL")), "Redis")
    use_layer(settings, LAYERS[request.param])
    yield request.param
    channel_layers.backends.clear()


@pytest.fixture
def redis_layer(settings):
    require_service(bool(os.environ.get("REDIS_URL")), "Redis")
    use_layer(settings, LAYERS["redis"])
    yield "redis"
    channel_layers.backends.clear()


@pytest.fixture
def owner(transactional_db):
    return UserFactory()


@pytest.fixture
async def poll(owner):
    return await database_sync_to_async(make_poll)(owner=owner)


def connect(path: str, headers=None) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=headers or [])


async def vote(poll, choice_index: int = 0, voter: str = "voter-0001"):
    def cast():
        choice = poll.choices.order_by("position")[choice_index]
        return services.vote_cast(poll_id=poll.id, voter=anon(voter), choice_ids=[choice.id])

    return await database_sync_to_async(cast)()


async def receive_until(comm, predicate, timeout: float = 3.0) -> list[dict]:
    """Messages up to and including the first that satisfies predicate."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no matching message within {timeout}s; got {seen}")
        message = await comm.receive_json_from(timeout=remaining)
        seen.append(message)
        if predicate(message):
            return seen


async def wait_until(predicate, timeout: float = 3.0, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)


# --- live servers (end-to-end tests) -------------------------------------------


def live_consumers() -> int:
    """Socket consumers alive now, by type: isinstance would wake Django's lazy objects."""
    return sum(LiveConsumer in type(o).__mro__ for o in gc.get_objects())


@contextlib.contextmanager
def collector_off():
    """Only reference counting frees objects meanwhile: what stays was in a cycle."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
