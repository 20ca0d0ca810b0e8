"""A real webhook receiver for the tests: an HTTP server in a thread of its
own that checks every message with the `standardwebhooks` library, as an
integrator's endpoint would."""

import asyncio
import json
import threading
from dataclasses import dataclass, field

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict
    body: str
    verified: bool
    payload: dict | None


@dataclass
class Receiver:
    secret: str = ""  # set once the hook exists; messages are checked with it
    status: int = 200  # what it answers
    hang: float = 0.0  # seconds it waits before answering
    received: list[Received] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def verified(self) -> list[dict]:
        return [r.payload for r in self.received if r.verified and r.payload is not None]

    def of_type(self, event: str) -> list[dict]:
        return [p for p in self.verified if p["type"] == event]

    def start(self) -> "Receiver":
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        headers = dict(request.headers)
        try:
            payload = Webhook(self.secret).verify(body, headers)
            verified = True
        except (WebhookVerificationError, ValueError):
            payload, verified = json.loads(body), False
        self.received.append(Received(headers, body, verified, payload))
        if self.hang:
            await asyncio.sleep(self.hang)
        return web.Response(status=self.status if verified else 400)
