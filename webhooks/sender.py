"""Signed POSTs to hooks, many at once, each bounded in time and size.

Signing is the `standardwebhooks` library's (the spec's reference code);
the HTTP client is aiohttp, whose `ClientTimeout(total=...)` bounds the
whole exchange (connect, headers, body), so a receiver that trickles bytes
cannot hold a sender longer than NEXUS_WEBHOOK_TIMEOUT.
"""

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
from django.conf import settings
from standardwebhooks.webhooks import Webhook as Signer

from .address import PinnedResolver, Refused, addresses_check

USER_AGENT = "Nexus-Webhooks/1 (+https://github.com/nexus-voting/nexus)"
READ_AT_MOST = 1024  # bytes of a receiver's answer: only its status matters


@dataclass(frozen=True)
class Message:
    id: str  # the delivery's id: webhook-id, the same on every retry
    url: str
    secret: str
    payload: str


@dataclass(frozen=True)
class Attempt:
    status: int | None  # the receiver's HTTP status; None if there was none
    ms: int
    error: str  # why it failed, for the log ("" when delivered)

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def headers(message: Message, now: datetime) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message.id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Signer(message.secret).sign(message.id, now, message.payload),
    }


async def send_all(messages: list[Message]) -> list[Attempt]:
    """One attempt per message, all at once; never raises."""
    return list(await asyncio.gather(*(_send(m) for m in messages)))


async def _send(message: Message) -> Attempt:
    started = time.monotonic()

    def took() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        return await asyncio.wait_for(_post(message, took), settings.NEXUS_WEBHOOK_TIMEOUT + 1)
    except Refused as exc:
        return Attempt(None, took(), f"refused: {exc}")
    except TimeoutError:
        return Attempt(None, took(), f"no answer within {settings.NEXUS_WEBHOOK_TIMEOUT} s")
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return Attempt(None, took(), f"{type(exc).__name__}: {exc}"[:300])


async def _post(message: Message, took) -> Attempt:
    parts = urlsplit(message.url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    # Checked again at every attempt: the name may point elsewhere by now.
    addresses = await asyncio.to_thread(addresses_check, host, port)
    connector = aiohttp.TCPConnector(
        resolver=PinnedResolver(host, addresses), use_dns_cache=False, force_close=True
    )
    timeout = aiohttp.ClientTimeout(total=settings.NEXUS_WEBHOOK_TIMEOUT)
    async with (
        aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
        session.post(
            message.url,
            data=message.payload.encode(),
            headers=headers(message, datetime.now(UTC)),
            allow_redirects=False,  # a redirect could point anywhere
        ) as response,
    ):
        await response.content.read(READ_AT_MOST)
        error = "" if 200 <= response.status < 300 else f"answered {response.status}"
        return Attempt(response.status, took(), error)
