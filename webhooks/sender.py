"""Signed POSTs to hooks, many at once, each bounded in time and size.

Signing is the `standardwebhooks` library's (the spec's reference code);
the HTTP client is aiohttp, whose `ClientTimeout(total=...)` bounds the
whole exchange (connect, headers, body), so a receiver that trickles bytes
cannot hold a sender longer than NEXUS_WEBHOOK_TIMEOUT.
"""

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from django.conf import settings
from standardwebhooks.webhooks import Webhook as Signer

from .address import PinnedResolver, Refused, addresses_check, target_of

USER_AGENT = "Nexus-Webhooks/1 (+https://github.com/nexus-voting/nexus)"
READ_AT_MOST = 1024  # bytes of a receiver's answer: only its status matters
log = logging.getLogger("nexus.webhooks")
# Name lookups, off the event loop. Not asyncio's default executor: the
# sweep's asyncio.run waits for that one at its end, and a name server that
# never answers would hold the sweep past its timeout.
_resolver = ThreadPoolExecutor(max_workers=8, thread_name_prefix="webhook-dns")


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


async def send(message: Message) -> Attempt:
    """One attempt, at most NEXUS_WEBHOOK_TIMEOUT (+1 s) long; never raises.
    The log says what kind of failure it was, never the receiver's own
    words (a port that answers with a banner is not for the owner to read)."""
    started = time.monotonic()

    def failed(error: str) -> Attempt:
        return Attempt(None, round((time.monotonic() - started) * 1000), error)

    try:
        status = await asyncio.wait_for(_post(message), settings.NEXUS_WEBHOOK_TIMEOUT + 1)
    except Refused as exc:
        return failed(f"refused: {exc}")
    except TimeoutError:
        return failed(f"no answer within {settings.NEXUS_WEBHOOK_TIMEOUT} s")
    except aiohttp.ClientSSLError:
        return failed("TLS failed (certificate or handshake)")
    except (aiohttp.ClientConnectionError, OSError):
        return failed("could not connect, or the connection broke")
    except (aiohttp.ClientResponseError, aiohttp.ClientPayloadError):
        return failed("the answer was not HTTP")
    except Exception:  # whatever else: this message fails, the others go on
        log.warning("webhook %s: unexpected failure", message.id, exc_info=True)
        return failed("failed")
    took = round((time.monotonic() - started) * 1000)
    return Attempt(status, took, "" if 200 <= status < 300 else f"answered {status}")


async def _post(message: Message) -> int:
    # Checked again at every attempt: the name may point elsewhere by now,
    # and plain http or a private address may no longer be allowed.
    target = target_of(message.url)
    loop = asyncio.get_running_loop()
    addresses = await loop.run_in_executor(_resolver, addresses_check, target.host, target.port)
    connector = aiohttp.TCPConnector(
        resolver=PinnedResolver(target.host, addresses), use_dns_cache=False, force_close=True
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
        return response.status
