"""What a socket server costs by itself, with no Django, Channels or Nexus.

A do-nothing ASGI app in the shape of Nexus's consumers (and the ceiling's):
one writer task per socket, woken by a bare future, sending a frame built
once and shared by every socket. `GET /push` makes a new ~350-byte state and
wakes every writer (one that is behind sends only the newest). Run under a
server, it gives that server's own RSS per idle socket and CPU per
socket-send: the floor under benchmarks/socket_memory.sh's figures for
Nexus. The driver opens S sockets from 2 client processes, pushes K states
50 ms apart, waits until every socket shows the last one, and prints one
JSON line: the server's CPU over the states the sockets received.

  benchmarks/socket_floor.sh          # S=2000 K=20, each server in turn
  python benchmarks/socket_floor.py URL PID S K    # against a running server
  FLOOR_PAD_BYTES=1500 S=1000 SERVERS=granian benchmarks/socket_floor.sh   # bigger states
"""

import asyncio
import json
import multiprocessing
import os
import sys
import time
import urllib.request
from pathlib import Path

# About the size of a four-choice poll's state; FLOOR_PAD_BYTES=1500 for a
# text poll's (its words and newest answers).
PAD = "x" * int(os.environ.get("FLOOR_PAD_BYTES", "300"))

writers: set = set()
current: dict = {"frame": None, "version": 0}


class Writer:
    __slots__ = ("send", "sent", "wakeup")

    def __init__(self, send):
        self.send, self.sent, self.wakeup = send, 0, None

    async def run(self):
        loop = asyncio.get_running_loop()
        while True:
            while self.sent < current["version"]:
                self.sent = current["version"]
                await self.send(current["frame"])
            self.wakeup = loop.create_future()
            await self.wakeup


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    if scope["type"] == "http":
        if scope["path"] == "/push":
            version = current["version"] + 1
            text = json.dumps({"version": version, "pad": PAD})
            current.update(frame={"type": "websocket.send", "text": text}, version=version)
            for writer in writers:
                if writer.wakeup is not None and not writer.wakeup.done():
                    writer.wakeup.set_result(None)
        body = str(current["version"]).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    writer = Writer(send)
    writers.add(writer)
    task = asyncio.ensure_future(writer.run())
    try:
        while (await receive())["type"] != "websocket.disconnect":
            pass
    finally:
        writers.discard(writer)
        task.cancel()


# --- the driver ----------------------------------------------------------------


def clients(url: str, count: int, pipe) -> None:
    from websockets.asyncio.client import connect

    async def main():
        got, last = [0] * count, [0] * count

        async def read(ws, i):
            async for text in ws:
                got[i] += 1
                last[i] = json.loads(text)["version"]

        sockets = []
        for start in range(0, count, 200):
            batch = range(start, min(count, start + 200))
            sockets += await asyncio.gather(
                *(connect(url, ping_interval=None, max_queue=None) for _ in batch)
            )
        readers = [asyncio.ensure_future(read(ws, i)) for i, ws in enumerate(sockets)]
        pipe.send("open")
        final = pipe.recv()
        deadline = time.monotonic() + 120
        while min(last) < final and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        pipe.send((min(last) == final, sum(got)))
        for reader in readers:
            reader.cancel()
        for ws in sockets:
            await ws.close()

    asyncio.run(main())


def drive(base: str, pid: int, sockets: int, states: int) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from nexus_loadtest.run import _cpu, _rss  # /proc readers

    ws_url = base.replace("http", "ws", 1) + "/ws/"
    rss_before = _rss([pid])
    pipes, procs = [], []
    for share in (sockets // 2, sockets - sockets // 2):
        parent, child = multiprocessing.Pipe()
        proc = multiprocessing.Process(target=clients, args=(ws_url, share, child))
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    for pipe in pipes:
        assert pipe.recv() == "open"
    rss = (_rss([pid]) - rss_before) / sockets
    cpu_before, kernel_before = _cpu([pid]), _cpu([pid], kernel=True)
    for _ in range(states):
        urllib.request.urlopen(base + "/push").read()
        time.sleep(0.05)
    final = json.loads(urllib.request.urlopen(base + "/push").read())  # one more, the last
    for pipe in pipes:
        pipe.send(final)
    results = [pipe.recv() for pipe in pipes]
    cpu, kernel = _cpu([pid]) - cpu_before, _cpu([pid], kernel=True) - kernel_before
    for proc in procs:
        proc.join()
    sends = sum(received for _, received in results)
    return {
        "sockets": sockets,
        "rss_kb_per_socket": round(rss / 1024, 1),
        "states_per_socket": round(sends / sockets, 1),
        "converged": all(ok for ok, _ in results),
        "cpu_us_per_socket_send": round(cpu * 1e6 / max(1, sends), 1),
        "of_which_kernel_us": round(kernel * 1e6 / max(1, sends), 1),
    }


if __name__ == "__main__":
    url, pid, sockets, states = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    result = drive(url, pid, sockets, states)
    print(json.dumps(result))
    sys.exit(not result["converged"])
