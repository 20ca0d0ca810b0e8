"""What Nexus's own Python holds per idle socket, by the line that allocated it.

benchmarks/socket_memory.sh gives a socket's whole RSS under a server and
benchmarks/socket_floor.sh the server's own share; this splits the rest.
It opens S sockets on one poll through Nexus's ASGI app in-process
(channels' WebsocketCommunicator standing in for the server), each with
its first state received, and compares tracemalloc snapshots taken before
and after: Python's requested bytes per socket, grouped by the first frame
in Nexus, Channels, Django or asgiref that asked for them. The
communicator's own objects (its queues and tasks, which a real server
keeps in its own code) are counted apart; the future a socket's pending
read waits on is counted as Nexus's (a server has one too).

    DATABASE_URL=postgres://... SECRET_KEY=x python benchmarks/socket_python_memory.py --sockets 500

Prints one JSON line: bytes per socket in all, in the communicator, and
the top sites. pymalloc's rounding and the allocator's overhead come on
top (RSS is a little more than requested bytes).
"""

import argparse
import asyncio
import contextlib
import gc
import json
import os
import sys
import tracemalloc
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexus.settings")
os.environ.setdefault("NEXUS_STARTUP_CHECKS", "0")
os.environ.pop("REDIS_URL", None)  # the in-memory layer: nothing of Redis's client per socket

from channels.db import database_sync_to_async  # noqa: E402
from channels.testing import WebsocketCommunicator  # noqa: E402

from nexus.asgi import application  # noqa: E402 (sets Django up)

SITES = ("realtime", "nexus", "polls", "channels", "django", "asgiref", "daphne")
TESTING = ("channels/testing", "asgiref/testing", "asgiref/server")  # path prefixes


def where(filename: str) -> str:
    """A file's path from site-packages, or from the repository's root."""
    path = Path(filename)
    if "site-packages" in path.parts:
        return "/".join(path.parts[path.parts.index("site-packages") + 1 :])
    with contextlib.suppress(ValueError):
        return path.relative_to(ROOT).as_posix()
    return path.name


def site(trace: tracemalloc.Traceback) -> str:
    """Where an allocation belongs: the innermost frame in a package we
    name, as `package/file.py:line`; the communicator's own apart."""
    paths = [where(frame.filename) for frame in trace]
    ours = any(path.startswith("realtime/") for path in paths)
    if not ours and any(path.startswith(TESTING) for path in paths):
        return "communicator"
    for frame, path in zip(reversed(trace), reversed(paths), strict=True):  # innermost first
        if path.split("/")[0] in SITES:
            return f"{path}:{frame.lineno}"
    return f"{paths[-1]}:{trace[-1].lineno}"


def make_poll() -> str:
    from django.contrib.auth import get_user_model

    from polls import services

    owner, _ = get_user_model().objects.get_or_create(username="bench-socket-memory")
    poll = services.poll_create(
        owner=owner, question="Socket memory", choices=["A", "B"], max_ballots_per_address=0
    )
    return str(poll.id)


async def open_sockets(path: str, count: int) -> list[WebsocketCommunicator]:
    sockets = []
    for _ in range(count):
        socket = WebsocketCommunicator(application, path)
        connected, _ = await socket.connect()
        assert connected, "the socket was refused"
        state = json.loads(await socket.receive_from(timeout=10))
        assert state["type"] == "results", state
        sockets.append(socket)
    return sockets


async def main(count: int, top: int) -> dict:
    path = f"/ws/polls/{await database_sync_to_async(make_poll)()}/"
    warm = await open_sockets(path, 20)  # the hub, its reads and caches exist from here on
    gc.collect()
    tracemalloc.start(30)
    before = tracemalloc.take_snapshot()
    sockets = await open_sockets(path, count)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    by_site: Counter[str] = Counter()
    for stat in after.compare_to(before, "traceback"):
        by_site[site(stat.traceback)] += stat.size_diff
    for socket in warm + sockets:
        await socket.disconnect()
    communicator = by_site.pop("communicator", 0)
    total = sum(by_site.values())
    return {
        "sockets": count,
        "nexus_bytes_per_socket": round(total / count),
        "communicator_bytes_per_socket": round(communicator / count),
        "top_sites": {
            name: round(size / count)
            for name, size in by_site.most_common(top)
            if round(size / count)
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=500)
    parser.add_argument("--top", type=int, default=25, help="sites to list")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.sockets, args.top))))
